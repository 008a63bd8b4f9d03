"""Own images: safe opening, any-mode conversion, folders and zips with caps and unsafe names."""
import io
import struct
import zipfile
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from playground.images import (MAX_PIXELS, ImageError, image_to_tensor, load_image_folder,
                               open_image, tensor_to_pil)


def png_bytes(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", **kw)
    return buf.getvalue()


def noise_png(size=(24, 24), seed=0, mode="RGB") -> bytes:
    rng = np.random.default_rng(seed)
    shape = (size[1], size[0], 3) if mode == "RGB" else (size[1], size[0])
    return png_bytes(Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)))


def header_only_png(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height; its pixel data is a few bytes."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grayscale
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


# --- open_image ----------------------------------------------------------------------------------

def test_open_image_from_bytes_and_path(tmp_path):
    data = noise_png((30, 20))
    (tmp_path / "a.png").write_bytes(data)
    for source in (data, tmp_path / "a.png", str(tmp_path / "a.png")):
        img = open_image(source)
        assert img.size == (30, 20) and img.mode == "RGB"


@pytest.mark.parametrize("width, height", [(20000, 20000), (8000, 6000)])
def test_bombs_are_refused_from_the_header(width, height):
    # 400 MP trips Pillow's own cap at open; 48 MP is under Pillow's but over ours. Neither is
    # decoded: the pixel data here is a few bytes, so decoding would fail as "truncated" instead.
    assert width * height > MAX_PIXELS
    with pytest.raises(ImageError, match="megapixel limit"):
        open_image(header_only_png(width, height))


def test_truncated_png_is_refused():
    data = noise_png((64, 64))
    with pytest.raises(ImageError, match="could not be read"):
        open_image(data[: len(data) // 2])


@pytest.mark.parametrize("data", [b"", b"hello, not an image", b"%!PS-Adobe-3.0 EPSF-3.0\n"])
def test_non_images_are_refused(data):
    with pytest.raises(ImageError, match="not a PNG/JPEG"):
        open_image(data)


def test_missing_file_is_an_image_error(tmp_path):
    with pytest.raises(ImageError, match="nope.png"):
        open_image(tmp_path / "nope.png")


# --- image_to_tensor: every mode ----------------------------------------------------------------

def test_palette_image_keeps_its_colours():
    img = Image.new("P", (4, 2))
    img.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0] + [0] * 759)
    img.paste(1, (0, 0, 2, 2))  # left half red, right half green
    img.paste(2, (2, 0, 4, 2))
    x = image_to_tensor(open_image(png_bytes(img)), (3, 2, 4))
    assert x.shape == (1, 3, 2, 4)
    assert torch.equal(x[0, :, 0, 0], torch.tensor([1.0, -1.0, -1.0]))
    assert torch.equal(x[0, :, 0, 3], torch.tensor([-1.0, 1.0, -1.0]))


def test_palette_transparency_is_composited_on_black():
    img = Image.new("P", (4, 2))
    img.putpalette([0, 0, 0, 255, 255, 255] + [0] * 762)
    img.paste(1, (0, 0, 4, 2))  # all white...
    opened = open_image(png_bytes(img, transparency=1))  # ...but white is the transparent index
    assert opened.mode == "P" and opened.info.get("transparency") == 1
    assert torch.equal(image_to_tensor(opened, (1, 2, 4)), -torch.ones(1, 1, 2, 4))


@pytest.mark.parametrize("mode, pixel, expected", [
    ("RGBA", (255, 255, 255, 0), -1.0),  # fully transparent white -> black
    ("RGBA", (255, 255, 255, 255), 1.0),
    ("LA", (255, 0), -1.0),
    ("LA", (255, 255), 1.0),
])
def test_alpha_is_composited_on_black(mode, pixel, expected):
    img = Image.new(mode, (3, 3), pixel)
    x = image_to_tensor(open_image(png_bytes(img)), (1, 3, 3))
    assert torch.allclose(x, torch.full((1, 1, 3, 3), expected))


def test_half_transparent_white_is_mid_grey():
    x = image_to_tensor(Image.new("LA", (2, 2), (255, 128)), (1, 2, 2))
    assert torch.allclose(x, torch.full((1, 1, 2, 2), 128 / 127.5 - 1), atol=1 / 127.5)


def test_16_bit_grayscale_is_scaled_not_clipped():
    arr = np.array([[0, 32768, 65535, 1000]], dtype=np.uint16)
    opened = open_image(png_bytes(Image.fromarray(arr)))
    assert opened.mode.startswith("I")  # Pillow keeps the 16 bits
    x = image_to_tensor(opened, (1, 1, 4))
    expected = torch.tensor([0, 32768, 65535, 1000]) / 65535 * 2 - 1
    assert torch.allclose(x.flatten(), expected.float(), atol=1e-5)
    assert image_to_tensor(opened, (3, 1, 4)).shape == (1, 3, 1, 4)  # grey copied to RGB


def test_one_bit_and_cmyk_images():
    one = Image.new("1", (5, 5), 1)
    x = image_to_tensor(open_image(png_bytes(one)), (1, 5, 5))
    assert torch.equal(x, torch.ones(1, 1, 5, 5))
    buf = io.BytesIO()
    Image.new("CMYK", (8, 8), (0, 255, 255, 0)).save(buf, format="JPEG", quality=100)
    red = image_to_tensor(open_image(buf.getvalue()), (3, 1, 1))[0, :, 0, 0]
    assert red[0] > 0.9 and red[1] < -0.9 and red[2] < -0.9


def test_rgb_to_grayscale_uses_luma():
    x = image_to_tensor(Image.new("RGB", (2, 2), (255, 0, 0)), (1, 2, 2))
    assert torch.allclose(x, torch.full((1, 1, 2, 2), 76 / 127.5 - 1))  # 0.299 * 255


def test_resize_centre_crops_to_the_target_aspect():
    arr = np.zeros((10, 30), dtype=np.uint8)
    arr[:, 10:20] = 255  # a white centre square in a wide black image
    x = image_to_tensor(arr, (1, 5, 5))
    assert x.shape == (1, 1, 5, 5)
    # The crop kept only the white middle (a squash would give black columns); the filter may
    # bleed a little of the black just outside the box into the edge columns.
    assert x.min() > 0.5 and x.mean() > 0.9
    big = image_to_tensor(np.full((300, 200, 3), 200, dtype=np.uint8), (3, 28, 28))
    assert big.shape == (1, 3, 28, 28)
    assert torch.allclose(big, torch.full_like(big, 200 / 127.5 - 1))


@pytest.mark.parametrize("arr, value", [
    (np.full((4, 4), 255, dtype=np.uint8), 1.0),
    (np.full((4, 4, 1), 0, dtype=np.uint8), -1.0),
    (np.ones((4, 4), dtype=bool), 1.0),
    (np.full((4, 4), 0.5, dtype=np.float64), 0.0),
    (np.full((4, 4, 3), 0.5, dtype=np.float32), 128 / 127.5 - 1),
    (np.full((4, 4), 65535, dtype=np.uint16), 1.0),
    (np.full((4, 4, 3), 65535, dtype=np.uint16), 1.0),
    (np.full((4, 4), 255, dtype=np.int64), 1.0),
])
def test_arrays_of_common_dtypes(arr, value):
    x = image_to_tensor(arr, (1, 4, 4))
    assert torch.allclose(x, torch.full((1, 1, 4, 4), value), atol=1e-6)


@pytest.mark.parametrize("arr, match", [
    (np.full((4, 4), 1.5), r"\[0, 1\]"),
    (np.full((4, 4), np.nan), r"\[0, 1\]"),
    (np.full((4, 4), -3, dtype=np.int32), "65535"),
    (np.zeros((3, 4, 4, 2), dtype=np.uint8), r"\(H, W\)"),
    (np.zeros((4, 4, 2), dtype=np.uint8), r"\(H, W\)"),
    (np.zeros((0, 4), dtype=np.uint8), "empty"),
    (np.zeros((4, 4), dtype=np.complex64), "complex64"),
])
def test_bad_arrays_are_refused(arr, match):
    with pytest.raises(ImageError, match=match):
        image_to_tensor(arr, (1, 4, 4))


def test_bad_shapes_and_types_are_refused():
    img = Image.new("L", (4, 4))
    for shape in [(2, 4, 4), (1, 4), (1, 0, 4)]:
        with pytest.raises(ImageError, match="must be"):
            image_to_tensor(img, shape)
    with pytest.raises(ImageError, match="PIL image or a numpy array"):
        image_to_tensor("cat.png", (1, 4, 4))


def test_tensor_to_pil_round_trip():
    x = torch.rand(3, 6, 5, generator=torch.Generator().manual_seed(0)) * 2 - 1
    img = tensor_to_pil(x)
    assert img.mode == "RGB" and img.size == (5, 6)
    assert (image_to_tensor(img, (3, 6, 5))[0] - x).abs().max() <= 1 / 255 + 1e-6
    grey = tensor_to_pil(torch.tensor([[[-1.0, 1.0, 5.0, float("nan")]]]))
    assert grey.mode == "L"
    assert np.asarray(grey).tolist() == [[0, 255, 255, 128]]  # clamped; nan -> 0
    assert tensor_to_pil(x[None]).size == (5, 6)
    with pytest.raises(ImageError, match="C = 1 or 3"):
        tensor_to_pil(torch.zeros(2, 4, 4))


# --- load_image_folder ---------------------------------------------------------------------------

def test_folder_is_read_recursively_skipping_non_images(tmp_path):
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / "a.png").write_bytes(noise_png(seed=1))
    (tmp_path / "sub" / "b.png").write_bytes(noise_png((40, 30), seed=2, mode="L"))
    (tmp_path / "sub" / "deeper" / "c.png").write_bytes(noise_png(seed=3))
    (tmp_path / "readme.txt").write_text("hello")
    (tmp_path / "sub" / "broken.png").write_bytes(noise_png(seed=4)[:60])
    (tmp_path / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")  # hidden: ignored, not counted
    (tmp_path / ".ipynb_checkpoints").mkdir()
    (tmp_path / ".ipynb_checkpoints" / "a-checkpoint.png").write_bytes(noise_png(seed=1))
    images, skipped = load_image_folder(str(tmp_path), 16, 3)
    assert images.shape == (3, 3, 16, 16) and skipped == 2
    assert images.min() >= -1 and images.max() <= 1
    again, _ = load_image_folder(str(tmp_path), 16, 3)
    assert torch.equal(images, again)  # sorted walk: the same order every time


def test_folder_caps(tmp_path):
    for i in range(5):
        (tmp_path / f"{i}.png").write_bytes(noise_png(seed=i))
    with pytest.raises(ImageError, match="more than 3 files"):
        load_image_folder(str(tmp_path), 8, 1, max_files=3)
    with pytest.raises(ImageError, match="MB of files"):
        load_image_folder(str(tmp_path), 8, 1, max_bytes=1000)


def test_folder_without_images_and_missing_paths(tmp_path):
    (tmp_path / "a.txt").write_text("no images here")
    with pytest.raises(ImageError, match=r"no readable .* images \(1 file\(s\) skipped\)"):
        load_image_folder(str(tmp_path), 8, 1)
    with pytest.raises(ImageError, match="does not exist"):
        load_image_folder(str(tmp_path / "missing"), 8, 1)
    with pytest.raises(ImageError, match="neither a folder nor a .zip"):
        load_image_folder(str(tmp_path / "a.txt"), 8, 1)


def make_zip(path, members: dict[str, bytes]):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_zip_is_read_in_memory_and_unsafe_names_are_skipped(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    archive = make_zip(work / "imgs.zip", {
        "ok/one.png": noise_png(seed=1),
        "two.png": noise_png(seed=2),
        "../evil.png": noise_png(seed=3),
        "../../evil2.png": noise_png(seed=4),
        "/abs.png": noise_png(seed=5),
        "C:/win.png": noise_png(seed=6),
        "ok\\..\\..\\back.png": noise_png(seed=7),
        "notes.txt": b"text",
        "__MACOSX/ok/._one.png": b"resource fork",  # ignored, not counted
    })
    names = [i.filename for i in zipfile.ZipFile(archive).infolist()]
    assert "../evil.png" in names and "/abs.png" in names  # the names really are hostile
    images, skipped = load_image_folder(str(archive), 8, 1)
    assert images.shape == (2, 1, 8, 8)
    assert skipped == 6  # five unsafe names + the text file
    # Nothing was written anywhere: no extraction happened.
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["imgs.zip", "work"]


def test_zip_caps_and_empty_zip(tmp_path):
    members = {f"{i}.png": noise_png(seed=i) for i in range(5)}
    archive = make_zip(tmp_path / "five.zip", members)
    with pytest.raises(ImageError, match="more than 4 files"):
        load_image_folder(str(archive), 8, 1, max_files=4)
    with pytest.raises(ImageError, match="MB of files"):
        load_image_folder(str(archive), 8, 1, max_bytes=2000)
    images, skipped = load_image_folder(str(archive), 8, 1, max_files=5)
    assert images.shape == (5, 1, 8, 8) and skipped == 0
    no_images = make_zip(tmp_path / "text.zip", {"a.txt": b"a", "b/c.csv": b"1,2"})
    with pytest.raises(ImageError, match=r"no readable .*\(2 file\(s\) skipped\)"):
        load_image_folder(str(no_images), 8, 1)


def test_zip_bomb_is_refused_from_declared_sizes(tmp_path):
    # 50 MB of zeros compresses to ~50 KB; the declared size alone trips the cap.
    archive = make_zip(tmp_path / "bomb.zip", {"zeros.png": b"\0" * 50_000_000})
    assert archive.stat().st_size < 200_000
    with pytest.raises(ImageError, match="MB of files"):
        load_image_folder(str(archive), 8, 1, max_bytes=10_000_000)


def test_pixel_bomb_inside_a_zip_is_skipped(tmp_path):
    archive = make_zip(tmp_path / "px.zip", {"big.png": header_only_png(20000, 20000),
                                             "ok.png": noise_png()})
    images, skipped = load_image_folder(str(archive), 8, 3)
    assert images.shape == (1, 3, 8, 8) and skipped == 1


def test_corrupt_zip_is_an_image_error(tmp_path):
    good = make_zip(tmp_path / "g.zip", {"a.png": noise_png()}).read_bytes()
    bad = tmp_path / "bad.zip"
    bad.write_bytes(good[:-10])  # the central directory is cut short
    with pytest.raises(ImageError):
        load_image_folder(str(bad), 8, 1)
