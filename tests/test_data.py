"""Datasets: toy 2D sampling, bundled MNIST split, batches, own images, torchvision sets offline."""
import hashlib
import pickle
import struct
import urllib.error
import urllib.request

import numpy as np
import pytest
import torch
from PIL import Image

from playground.config import TOY_DATASETS, DataConfig
from playground.data import DatasetUnavailable, bundled_mnist, load_dataset
from playground.toy2d import TOY2D


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# --- toy 2D ------------------------------------------------------------------------------------

def test_toy_names_match_the_config():
    assert set(TOY2D) == set(TOY_DATASETS)
    for name, toy in TOY2D.items():
        assert toy.name == name and toy.sigma > 0 and toy.lim > 0 and toy.description


@pytest.mark.parametrize("name", TOY_DATASETS)
def test_toy_sampling_is_seeded_and_uses_only_its_generator(name):
    toy = TOY2D[name]
    before = torch.get_rng_state()
    a = toy.sample(500, gen(1))
    assert torch.equal(torch.get_rng_state(), before)  # the global RNG was not touched
    torch.manual_seed(12345)  # ...and does not matter
    b = toy.sample(500, gen(1))
    assert a.shape == (500, 2) and a.dtype == torch.float32 and a.device.type == "cpu"
    assert torch.equal(a, b)
    assert not torch.equal(a, toy.sample(500, gen(2)))
    assert a.abs().max() < toy.lim  # the plotting square holds the data
    assert toy.sample(0, gen()).shape == (0, 2)


def test_toy_rejects_a_negative_count():
    with pytest.raises(ValueError, match="n=-1"):
        TOY2D["ring8"].sample(-1, gen())


def test_ring8_is_eight_tight_gaussians_on_the_unit_circle():
    toy = TOY2D["ring8"]
    assert toy.centres.shape == (8, 2) and toy.sigma == 0.01
    assert torch.allclose(toy.centres.norm(dim=1), torch.ones(8))
    x = toy.sample(8000, gen())
    dist, which = torch.cdist(x, toy.centres).min(dim=1)
    assert dist.max() < 6 * toy.sigma
    counts = torch.bincount(which, minlength=8)
    assert counts.min() > 850 and counts.max() < 1150  # equal weights (1000 expected)


def test_grid25_is_the_5x5_grid():
    toy = TOY2D["grid25"]
    assert toy.sigma == 0.05
    expected = {(float(a), float(b)) for a in (-4, -2, 0, 2, 4) for b in (-4, -2, 0, 2, 4)}
    assert {tuple(map(float, c)) for c in toy.centres.tolist()} == expected
    x = toy.sample(5000, gen())
    dist, which = torch.cdist(x, toy.centres).min(dim=1)
    assert dist.max() < 6 * toy.sigma and len(torch.unique(which)) == 25


def test_curve_sets_have_no_centres_and_follow_their_curve():
    for name in ("spiral", "moons", "line"):
        assert TOY2D[name].centres.shape == (0, 2)
    line = TOY2D["line"].sample(4000, gen())
    # distance to the diagonal y = x is |x - y| / sqrt(2); spread along it is uniform on [-1, 1]
    assert ((line[:, 0] - line[:, 1]).abs() / 2**0.5).max() < 6 * TOY2D["line"].sigma
    assert line.mean(0).abs().max() < 0.05 and line[:, 0].std() > 0.5
    spiral = TOY2D["spiral"].sample(4000, gen())
    radius = spiral.norm(dim=1)
    assert radius.min() < 0.2 and radius.max() > 1.0  # from the centre out to ~1.1
    moons = TOY2D["moons"].sample(4000, gen())
    upper, lower = moons[:, 1] > 0.25, moons[:, 1] < -0.25
    assert upper.sum() > 1000 and lower.sum() > 1000  # two arcs, not a blob


# --- bundled MNIST -----------------------------------------------------------------------------

def test_bundled_mnist_arrays():
    images, labels = bundled_mnist()
    assert images.shape == (5000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (5000,) and labels.dtype == np.uint8
    assert np.bincount(labels).tolist() == [500] * 10


def test_bundled_split_is_stratified_disjoint_and_deterministic():
    ds = load_dataset(DataConfig(dataset="mnist"))
    assert ds.name == "mnist" and ds.shape == (1, 28, 28) and ds.num_classes == 10
    assert ds.train.shape == (4500, 1, 28, 28) and ds.heldout.shape == (500, 1, 28, 28)
    assert ds.train_labels.dtype == torch.long and ds.toy is None
    assert torch.bincount(ds.heldout_labels).tolist() == [50] * 10
    assert torch.bincount(ds.train_labels).tolist() == [450] * 10
    assert ds.train.min() == -1 and ds.train.max() == 1
    assert ds.info == "bundled MNIST: 4,500 train / 500 held-out"
    # Together the splits are exactly the 5,000 bundled images with their labels.
    images, labels = bundled_mnist()
    as_uint8 = lambda x: ((x + 1) * 127.5).round().to(torch.uint8).numpy()  # noqa: E731
    rows = sorted((img.tobytes(), int(lab)) for img, lab in zip(
        np.concatenate([as_uint8(ds.train), as_uint8(ds.heldout)])[:, 0],
        torch.cat([ds.train_labels, ds.heldout_labels])))
    assert rows == sorted((img.tobytes(), int(lab)) for img, lab in zip(images, labels))
    again = load_dataset(DataConfig(dataset="mnist"))
    assert torch.equal(again.heldout, ds.heldout) and torch.equal(again.train, ds.train)


def test_batches_are_seeded_and_labels_match_images():
    ds = load_dataset(DataConfig(dataset="mnist"))
    x, y = ds.batch(32, gen(3))
    assert x.shape == (32, 1, 28, 28) and y.shape == (32,) and x.device == ds.device
    x2, y2 = ds.batch(32, gen(3))
    assert torch.equal(x, x2) and torch.equal(y, y2)
    assert not torch.equal(x, ds.batch(32, gen(4))[0])
    label_of = {img.numpy().tobytes(): int(lab) for img, lab in zip(ds.train, ds.train_labels)}
    assert [label_of[img.numpy().tobytes()] for img in x] == y.tolist()


def test_real_sample_draws_distinct_rows_from_the_split():
    ds = load_dataset(DataConfig(dataset="mnist"))
    x, y = ds.real_sample(100, gen())
    held = {img.numpy().tobytes() for img in ds.heldout}
    assert x.shape == (100, 1, 28, 28) and y.shape == (100,)
    assert all(img.numpy().tobytes() in held for img in x)
    assert len({img.numpy().tobytes() for img in x}) == 100
    assert ds.real_sample(10_000, gen())[0].shape[0] == 500  # at most the split
    assert ds.real_sample(20, gen(), split="train")[0].shape == (20, 1, 28, 28)
    with pytest.raises(ValueError, match="split='test'"):
        ds.real_sample(5, gen(), split="test")
    with pytest.raises(ValueError, match="n=0"):
        ds.batch(0, gen())


def test_toy_dataset_samples_fresh_points_without_labels():
    ds = load_dataset(DataConfig(dataset="grid25"), "cpu")
    assert ds.shape == (2,) and ds.num_classes == 0 and ds.train is None
    assert ds.toy is TOY2D["grid25"] and ds.info.startswith("grid25: 25 Gaussians")
    x, y = ds.batch(64, gen())
    assert x.shape == (64, 2) and y is None
    assert torch.equal(x, ds.batch(64, gen())[0])
    assert ds.real_sample(16, gen())[0].shape == (16, 2)


def test_auto_device_loads():
    ds = load_dataset(DataConfig(dataset="ring8"), "auto")
    assert ds.batch(4, gen())[0].device.type == ds.device.type


# --- own images --------------------------------------------------------------------------------

def _write_pngs(folder, n):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (20, 20), dtype=np.uint8)).save(folder / f"{i:03}.png")


def test_own_images_hold_out_ten_percent(tmp_path):
    _write_pngs(tmp_path / "imgs", 25)
    (tmp_path / "imgs" / "notes.txt").write_text("not an image")
    cfg = DataConfig(dataset="images", path=str(tmp_path / "imgs"), image_size=16, channels=3)
    ds = load_dataset(cfg)
    assert ds.shape == (3, 16, 16) and ds.num_classes == 0 and ds.train_labels is None
    assert ds.train.shape == (23, 3, 16, 16) and ds.heldout.shape == (2, 3, 16, 16)
    assert "23 train / 2 held-out" in ds.info and "1 file(s) skipped" in ds.info
    train_rows = {img.numpy().tobytes() for img in ds.train}
    assert not any(img.numpy().tobytes() in train_rows for img in ds.heldout)
    assert torch.equal(load_dataset(cfg).heldout, ds.heldout)  # the same 10% every time
    x, y = ds.batch(8, gen())
    assert x.shape == (8, 3, 16, 16) and y is None


def test_few_own_images_are_their_own_heldout(tmp_path):
    _write_pngs(tmp_path / "few", 4)
    ds = load_dataset(DataConfig(dataset="images", path=str(tmp_path / "few"), image_size=8))
    assert ds.train.shape == (4, 1, 8, 8) and ds.heldout is ds.train


def test_the_split_of_own_images_matches_plain_indexing_without_a_second_copy():
    from playground.data import _split_in_place

    x = torch.randn(50, 3, 4, 4)
    perm = torch.from_numpy(np.random.default_rng(1).permutation(50))
    train_rows, held_rows = perm[5:].sort().values, perm[:5].sort().values
    want_train, want_held = x[train_rows].clone(), x[held_rows].clone()
    storage = x.untyped_storage().data_ptr()
    train, held = _split_in_place(x, train_rows, held_rows)
    assert torch.equal(train, want_train) and torch.equal(held, want_held)
    assert train.untyped_storage().data_ptr() == storage  # the training rows stayed in x


def test_images_over_the_decoded_budget_are_refused_from_the_listing(tmp_path):
    """10,000 files of 8 bytes: at 3x64x64 they would take 480 MB as float32. Refused from the
    zip's listing, before a single file is read (these are not even images)."""
    import zipfile

    from playground.images import ImageError, load_image_folder

    path = tmp_path / "many.zip"
    with zipfile.ZipFile(path, "w") as z:
        for i in range(10_000):
            z.writestr(f"f{i:05d}.png", b"notapng!")
    with pytest.raises(ImageError, match=r"many\.zip holds 10,000 files: more images than fit "
                       r"in 64 MB once decoded at 3x64x64 .*GP_MAX_DATA_MB"):
        load_image_folder(str(path), 64, 3, max_decoded_bytes=64 * 2**20)
    with pytest.raises(ImageError, match="no readable"):  # within budget: read, and all skipped
        load_image_folder(str(path), 8, 1, max_decoded_bytes=64 * 2**20)


# --- torchvision sets, offline, from tiny files in their real on-disk formats --------------------

def _idx_images(images: np.ndarray) -> bytes:
    n, h, w = images.shape  # magic 0x00000803: unsigned bytes, 3 dimensions; big-endian sizes
    return struct.pack(">IIII", 0x803, n, h, w) + images.astype(np.uint8).tobytes()


def _idx_labels(labels: np.ndarray) -> bytes:
    return struct.pack(">II", 0x801, len(labels)) + labels.astype(np.uint8).tobytes()


def _write_mnist_like(root, folder, n_train=30, n_test=12, seed=0):
    rng = np.random.default_rng(seed)
    raw = root / folder / "raw"
    raw.mkdir(parents=True)
    out = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(_idx_images(images))
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(_idx_labels(labels))
        out[prefix] = (images, labels)
    return out


@pytest.mark.parametrize("name, folder", [
    ("mnist-full", "MNIST"), ("fashion-mnist", "FashionMNIST"), ("kmnist", "KMNIST")])
def test_torchvision_mnist_likes_load_from_idx_files(tmp_path, name, folder):
    written = _write_mnist_like(tmp_path, folder)
    ds = load_dataset(DataConfig(dataset=name, data_root=str(tmp_path)))
    assert ds.shape == (1, 28, 28) and ds.num_classes == 10
    assert ds.train.shape == (30, 1, 28, 28) and ds.heldout.shape == (12, 1, 28, 28)
    images, labels = written["train"]
    assert torch.equal(ds.train[:, 0], torch.from_numpy(images).float() / 127.5 - 1)
    assert ds.train_labels.tolist() == labels.tolist()
    assert ds.heldout_labels.tolist() == written["t10k"][1].tolist()
    assert "30 train / 12 held-out" in ds.info


def _write_cifar(root, n_per_batch=4, seed=0):
    rng = np.random.default_rng(seed)
    base = root / "cifar-10-batches-py"
    base.mkdir(parents=True)
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        entry = {"data": rng.integers(0, 256, (n_per_batch, 3072), dtype=np.uint8),
                 "labels": rng.integers(0, 10, n_per_batch).tolist()}
        (base / name).write_bytes(pickle.dumps(entry))  # our own fixture files
        batches[name] = entry
    (base / "batches.meta").write_bytes(pickle.dumps({"label_names": [str(i) for i in range(10)]}))
    return base, batches


def _md5(path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_torchvision_cifar10_loads_from_pickled_batches(tmp_path, monkeypatch):
    import torchvision.datasets as tvd

    base, batches = _write_cifar(tmp_path)
    # CIFAR10 checks every file against the md5 of the real download, which tiny fixtures cannot
    # match; point those expected checksums at our files so the rest of the real path runs.
    monkeypatch.setattr(tvd.CIFAR10, "train_list",
                        [[f"data_batch_{i}", _md5(base / f"data_batch_{i}")] for i in range(1, 6)])
    monkeypatch.setattr(tvd.CIFAR10, "test_list", [["test_batch", _md5(base / "test_batch")]])
    monkeypatch.setattr(tvd.CIFAR10, "meta", {"filename": "batches.meta", "key": "label_names",
                                              "md5": _md5(base / "batches.meta")})
    ds = load_dataset(DataConfig(dataset="cifar10", data_root=str(tmp_path)))
    assert ds.shape == (3, 32, 32) and ds.num_classes == 10
    assert ds.train.shape == (20, 3, 32, 32) and ds.heldout.shape == (4, 3, 32, 32)
    first = batches["data_batch_1"]["data"][0].reshape(3, 32, 32)  # CIFAR rows are CHW planes
    assert torch.equal(ds.train[0], torch.from_numpy(first).float() / 127.5 - 1)
    assert ds.train_labels[:4].tolist() == batches["data_batch_1"]["labels"]
    assert ds.heldout_labels.tolist() == batches["test_batch"]["labels"]


def test_cifar10_files_failing_the_checksum_are_unavailable(tmp_path):
    _write_cifar(tmp_path)  # real md5s expected: these fixtures do not match them
    with pytest.raises(DatasetUnavailable, match="corrupted"):
        load_dataset(DataConfig(dataset="cifar10", data_root=str(tmp_path)))


@pytest.mark.parametrize("name", ["mnist-full", "fashion-mnist", "kmnist", "cifar10"])
def test_missing_files_without_download_name_the_root_and_the_bundled_set(tmp_path, name):
    with pytest.raises(DatasetUnavailable) as info:
        load_dataset(DataConfig(dataset=name, data_root=str(tmp_path)))
    msg = str(info.value)
    assert name in msg and str(tmp_path) in msg and "dataset='mnist'" in msg
    assert "download=True" in msg


def test_truncated_idx_file_is_unavailable(tmp_path):
    _write_mnist_like(tmp_path, "MNIST")
    f = tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte"
    f.write_bytes(f.read_bytes()[:1000])
    with pytest.raises(DatasetUnavailable, match="mnist-full"):
        load_dataset(DataConfig(dataset="mnist-full", data_root=str(tmp_path)))


@pytest.mark.parametrize("name", ["mnist-full", "cifar10"])
def test_failed_download_is_unavailable_not_a_urllib_traceback(tmp_path, monkeypatch, name):
    calls = []

    def no_network(*args, **kwargs):
        calls.append(args)
        raise urllib.error.URLError("no network in this test")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    with pytest.raises(DatasetUnavailable) as info:
        load_dataset(DataConfig(dataset=name, data_root=str(tmp_path), download=True))
    assert calls  # the download really was attempted
    msg = str(info.value)
    assert "could not be downloaded" in msg and str(tmp_path) in msg and "dataset='mnist'" in msg
    assert info.value.__cause__ is None and info.value.__suppress_context__
