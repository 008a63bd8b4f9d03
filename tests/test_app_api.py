"""The app's named API endpoints, called with gradio_client against `python app.py` on a free port.

The server runs with small hosting limits (so refusals can be tested) and a checkpoints folder of
tiny models made here, and it is started with --share pointed at a dead share server and given a
stand-in for Gradio's tunnel program (which Gradio would otherwise download), so the one-line
fallback is tested too without touching the network.
"""
from __future__ import annotations

import pickle
import zipfile
import re
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app_server import AppServer, make_checkpoints

from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

# One training slot: sampling must still answer while it is taken.
LIMITS = {"GP_MAX_STEPS": "10000", "GP_MAX_BATCH": "512", "GP_MAX_WIDTH": "512",
          "GP_MAX_UPLOAD_MB": "2", "GP_MAX_IMAGES": "64", "GP_QUEUE_SIZE": "32",
          "GP_TRAIN_CONCURRENCY": "1"}


def fake_tunnel(home: Path) -> None:
    """Gradio's tunnel program where Gradio looks for it (under HF_HOME), failing at once."""
    from gradio.tunneling import BINARY_FILENAME

    binary = home / "gradio" / "frpc" / BINARY_FILENAME
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\necho 'no share server here (a test)' >&2\nexit 1\n")
    binary.chmod(0o755)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("checkpoints")
    make_checkpoints(folder)
    home = tmp_path_factory.mktemp("hf-home")
    fake_tunnel(home)
    env = {**LIMITS, "GRADIO_SHARE_SERVER_ADDRESS": "127.0.0.1:1",  # a share server that is down
           "HF_HOME": str(home)}
    srv = AppServer(env=env, args=("--share", "--checkpoints", str(folder)))
    srv.checkpoints = folder
    yield srv
    srv.stop()


@pytest.fixture
def client(server):
    return Client(server.url, verbose=False)  # one Client = one session


def test_share_failure_is_one_line_and_the_app_keeps_serving(server):
    deadline = time.monotonic() + 60
    while "share link" not in server.output() and time.monotonic() < deadline:
        time.sleep(0.5)
    log = server.output()
    assert "Could not create a share link (no internet?); serving locally only." in log
    assert "Please check your internet connection" not in log  # Gradio's paragraph is swallowed
    assert Client(server.url, verbose=False).view_api(print_info=False, return_format="dict")


def test_every_main_action_is_a_named_endpoint(client):
    names = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    for name in ("/train", "/pause", "/resume", "/reset", "/step_d", "/step_g", "/step_both",
                 "/edit", "/good_settings", "/save_checkpoint", "/load_checkpoint", "/timelapse",
                 "/picture", "/curves", "/measure", "/sample_grid", "/interpolate",
                 "/discriminator_report", "/score_image", "/score_sketch", "/new_run",
                 "/train_steps", "/step_slowly", "/sample_points", "/upload_points"):
        assert name in names, name


def test_sample_grid_same_seeds_same_image(client):
    first, png, info = client.predict(model="tiny-mnist", seeds="3, 5-7", truncation=1.0,
                                      api_name="/sample_grid")
    again, _, _ = client.predict(model="tiny-mnist", seeds="3, 5-7", truncation=1.0,
                                 api_name="/sample_grid")
    other, _, _ = client.predict(model="tiny-mnist", seeds="4, 5-7", truncation=1.0,
                                 api_name="/sample_grid")
    assert np.array_equal(np.asarray(Image.open(first)), np.asarray(Image.open(again)))
    assert not np.array_equal(np.asarray(Image.open(first)), np.asarray(Image.open(other)))
    assert Image.open(png).format == "PNG" and "4 sample(s)" in info


def test_conditional_model_draws_the_chosen_class(client):
    grid, _, _ = client.predict(model="tiny-cgan", seeds="0-3", label="7", api_name="/sample_grid")
    assert Image.open(grid).size[0] > 0
    with pytest.raises(AppError, match="12 is not in the list of choices"):
        client.predict(model="tiny-cgan", seeds="0", label="12", api_name="/sample_grid")


def test_interpolate_returns_a_strip_and_an_animated_gif(client):
    strip, gif = client.predict(model="tiny-mnist", seed_a=1, seed_b=2, frames=6, mode="lerp",
                                api_name="/interpolate")
    assert Image.open(strip).width > Image.open(strip).height  # one row of frames
    animation = Image.open(gif)
    assert animation.format == "GIF" and animation.n_frames >= 6


def test_discriminator_report_gives_accuracy_auc_and_galleries(client, server):
    import torch

    from playground.checkpoint import load_checkpoint
    from playground.judge import discriminator_report
    from playground.sample import generate

    hist, stats, decision_map, fakes, reals = client.predict(model="tiny-mnist", count=32,
                                                             api_name="/discriminator_report")
    accuracy = float(re.search(r"Accuracy\*\* at 0.5: ([0-9.]+)%", stats).group(1))
    auc = float(re.search(r"ROC AUC\*\*: ([0-9.]+)", stats).group(1))
    # The same report, worked out here: 32 held-out reals (generator seed 0), seeds 0..31.
    trainer = load_checkpoint(server.checkpoints / "tiny-mnist.safetensors")
    real, _ = trainer.dataset.real_sample(32, torch.Generator().manual_seed(0))
    fake = generate(trainer.sampler(), range(32), trainer.config.model.z_dim)
    expected = discriminator_report(trainer.D, real, fake)
    assert accuracy == pytest.approx(100 * expected.accuracy, abs=0.05)
    assert auc == pytest.approx(expected.auc, abs=5e-4)
    assert Image.open(hist).size[0] > 300 and decision_map is None
    for grid in (fakes, reals):  # 8 captioned tiles, 4 to a row, each 84 px with its caption
        width, height = Image.open(grid).size
        assert width > 4 * 84 and 2 * 84 < height < 3 * 84


def test_discriminator_report_of_a_2d_model_is_a_decision_map(client):
    _, stats, decision_map, _, _ = client.predict(model="tiny-ring8", count=64,
                                                  api_name="/discriminator_report")
    assert "ROC AUC" in stats and Image.open(decision_map).size == (440, 440)


def test_score_image_gives_a_verdict_and_a_saliency_map(client, tmp_path):
    path = tmp_path / "digit.png"
    img = Image.new("RGB", (60, 40), "black")
    img.paste((255, 255, 255), (25, 5, 35, 35))
    img.save(path)
    verdict, saliency, note = client.predict(model="tiny-mnist", value=handle_file(str(path)),
                                             api_name="/score_image")
    scores = {c["label"]: c["confidence"] for c in verdict["confidences"]}
    assert set(scores) == {"looks real", "looks fake"}
    shown = float(re.search(r"D says \*\*([0-9.]+)\*\*", note).group(1))
    assert shown == pytest.approx(scores["looks real"], abs=1e-3)
    assert "cropped to its centre square" in note and "resized from 60x40 to 28x28" in note
    assert "turned grey" in note  # the colour upload is said to be converted, not silently
    assert Image.open(saliency).size == (280, 280)
    with pytest.raises(AppError, match="2D model"):
        client.predict(model="tiny-ring8", value=handle_file(str(path)), api_name="/score_image")


def test_new_run_train_steps_then_sample_the_session_model(client):
    summary = client.predict("ring8", {"steps": 300, "g_lr": 5e-4}, api_name="/new_run")
    assert summary["step"] == 0 and summary["settings"]["g_lr"] == 5e-4
    summary = client.predict(20, "both", api_name="/train_steps")
    assert summary["step"] == 20 and summary["last"]["loss_d"] is not None
    summary = client.predict(3, "d", api_name="/train_steps")
    assert summary["step"] == 23 and summary["last"]["loss_g"] is None
    grid, _, info = client.predict(model="session", seeds="0-9", api_name="/sample_grid")
    assert "trained 23 steps" in info


def test_new_run_takes_a_precision_and_refuses_an_unknown_one(client):
    summary = client.predict("ring8", {"steps": 50, "precision": "bf16"}, api_name="/new_run")
    assert summary["settings"]["precision"] == "bf16" and summary["run"] == "ring8"
    assert client.predict(4, "both", api_name="/train_steps")["step"] == 4
    with pytest.raises(AppError, match="precision='fp16' is not one of: fp32, bf16, auto"):
        client.predict("ring8", {"precision": "fp16"}, api_name="/new_run")
    assert client.predict(1, "both", api_name="/train_steps")["step"] == 5  # the run is kept


def test_new_run_on_your_own_points_then_sample_them_as_json(client):
    """Issue 14: {"dataset": "points", "points": [[x, y], ...]} on top of any 2D preset, and
    /sample_points gives generated points by seed."""
    points = [[np.cos(a), np.sin(2 * a) / 2] for a in np.linspace(0, 2 * np.pi, 300)]
    summary = client.predict("grid25", {"dataset": "points", "points": points, "steps": 40},
                             api_name="/new_run")
    assert summary["dataset"] == "points" and summary["settings"]["points"] == 300
    assert summary["settings"]["g_lr"] == 5e-3  # grid25's recipe on your data
    assert client.predict(30, "both", api_name="/train_steps")["step"] == 30
    out = client.predict(model="session", seeds="0-99", truncation=1.0, api_name="/sample_points")
    assert out["dataset"] == "points" and out["step"] == 30 and out["seeds"] == list(range(100))
    assert len(out["points"]) == 100 and all(len(p) == 2 for p in out["points"])
    again = client.predict(model="session", seeds="5, 7", truncation=1.0,
                           api_name="/sample_points")
    assert again["points"] == [out["points"][5], out["points"][7]]  # a seed is one point
    quality = client.predict(api_name="/measure")
    assert "on your data" in quality and "of your 300 points reached" in quality
    # The Discriminator tab and a checkpoint of the run work on your points too.
    _, stats, decision_map, _, _ = client.predict(model="session", count=64,
                                                  api_name="/discriminator_report")
    assert "ROC AUC" in stats and Image.open(decision_map).size == (440, 440)
    # Clear errors, and the run is kept.
    for settings, message in (
            ({"dataset": "points"}, "needs at least one point"),
            ({"dataset": "points", "points": [[0, 0]] * 10_001}, "at most 10,000"),
            ({"dataset": "points", "points": [[0, "x"]]}, "point 1 .* is not a pair"),
            ({"dataset": "points", "points": [[0, 1e9]]}, "outside"),
            ({"points": [[0, 0]]}, "only with dataset='points'")):
        with pytest.raises(AppError, match=message):
            client.predict("ring8", settings, api_name="/new_run")
    assert client.predict(2, "both", api_name="/train_steps")["step"] == 32
    with pytest.raises(AppError, match="for 2D models"):
        client.predict(model="tiny-mnist", seeds="0-3", truncation=1.0, api_name="/sample_points")
    with pytest.raises(AppError, match="more than 10000 seeds"):
        client.predict(model="session", seeds="0-10000", truncation=1.0,
                       api_name="/sample_points")
    with pytest.raises(AppError, match=r"Truncation ψ: 0 must be a number in \(0, 1\]"):
        client.predict(model="session", seeds="0-3", truncation=0, api_name="/sample_points")


def test_step_slowly_plays_one_iteration_and_refuses_images(client):
    client.predict("ring8", {"steps": 100}, api_name="/new_run")
    client.predict(5, "both", api_name="/train_steps")
    out = client.predict(api_name="/step_slowly")
    assert "iteration 6 in 8 stages" in out[0] and out[2]["step"] == 6
    client.predict("mnist-dcgan", {"g_width": 4, "d_width": 4, "steps": 10},
                   api_name="/new_run")
    with pytest.raises(AppError, match="2D data"):
        client.predict(api_name="/step_slowly")


def test_two_sessions_never_share_a_model(server):
    a, b = Client(server.url, verbose=False), Client(server.url, verbose=False)
    a.predict("ring8", {"steps": 500}, api_name="/new_run")
    b.predict("ring8", {"steps": 500, "dataset": "moons"}, api_name="/new_run")
    assert a.predict(10, "both", api_name="/train_steps")["step"] == 10
    got = b.predict(5, "both", api_name="/train_steps")
    assert got["step"] == 5 and got["dataset"] == "moons"
    assert a.predict(1, "both", api_name="/train_steps")["dataset"] == "ring8"


def summary_of(outputs) -> dict:
    """The run's summary among an event's outputs (a dict with a "state")."""
    return next(o for o in outputs if isinstance(o, dict) and "state" in o)


def test_train_streams_pause_stops_it_and_resume_continues(client):
    job = client.submit(dataset="ring8", steps=3000, batch_size=64, api_name="/train")
    start = time.monotonic()
    while len(job.outputs()) < 3 and time.monotonic() - start < 60:
        time.sleep(0.05)
    steps = [summary_of(o)["step"] for o in job.outputs()]
    assert steps == sorted(steps) and steps[-1] > 0  # it follows the run as it trains
    client.predict(api_name="/pause")
    job.result(timeout=30)  # Pause ends the stream (how soon is a figure for make bench)
    last = summary_of(job.outputs()[-1])
    assert last["state"] == "paused" and 0 < last["step"] < 3000
    assert client.predict(1, "both", api_name="/train_steps")["step"] == last["step"] + 1
    resumed = client.submit(api_name="/resume")
    while not resumed.outputs() and time.monotonic() - start < 120:
        time.sleep(0.05)
    time.sleep(1.5)
    client.predict(api_name="/pause")
    resumed.result(timeout=30)
    later = summary_of(resumed.outputs()[-1])
    assert later["step"] > last["step"] + 1  # continued from the same state, not from zero


def test_train_while_a_run_trains_starts_the_new_run_at_once(client):
    first = client.submit(dataset="ring8", steps=3000, api_name="/train")
    start = time.monotonic()
    while not first.outputs() and time.monotonic() - start < 60:
        time.sleep(0.05)
    second = client.submit(dataset="grid25", steps=3000, api_name="/train")
    while not second.outputs() and time.monotonic() - start < 120:
        time.sleep(0.05)
    first.result(timeout=30)  # the older stream ends: its run was replaced
    now = summary_of(second.outputs()[-1])
    assert now["dataset"] == "grid25" and now["state"] in ("waiting", "training")
    client.predict(api_name="/pause")
    second.result(timeout=30)
    assert summary_of(second.outputs()[-1])["state"] == "paused"


def test_training_measures_quality_every_n_steps_and_save_gets_in_between_chunks(client):
    client.predict(100, api_name="/measure_every")
    with pytest.raises(AppError, match=r"Measure every N steps: -5 must be a whole number"):
        client.predict(-5, api_name="/measure_every")
    job = client.submit(dataset="ring8", steps=350, batch_size=64, g_width=16, d_width=16,
                        api_name="/train")
    start = time.monotonic()
    while len(job.outputs()) < 1 and time.monotonic() - start < 60:
        time.sleep(0.02)
    saved = client.predict(api_name="/save_checkpoint")  # while the worker trains, chunk by chunk
    assert Path(saved).stat().st_size > 0
    job.result(timeout=120)
    final = job.outputs()[-1]
    quality = summary_of(final)["quality"]
    assert quality["step"] == 300 and quality["modes_captured"] >= 0  # measured at 100, 200, 300
    assert "Quality at step 300" in final[1] and "modes" in final[1]
    client.predict(0, api_name="/measure_every")
    job = client.submit(dataset="ring8", steps=250, batch_size=64, g_width=16, d_width=16,
                        api_name="/train")
    job.result(timeout=120)
    assert summary_of(job.outputs()[-1])["quality"] is None  # measuring is off


def test_live_edit_applies_to_the_running_model_and_marks_the_curves(client):
    client.predict("ring8", {"steps": 400}, api_name="/new_run")
    client.predict(5, "both", api_name="/train_steps")
    note = client.predict(g_lr=0.005, d_optimizer="sgd", api_name="/edit")
    assert "g_lr = 0.005" in note and "d_optimizer = sgd" in note
    summary = client.predict(5, "both", api_name="/train_steps")
    assert summary["settings"]["g_lr"] == 0.005 and summary["settings"]["d_optimizer"] == "sgd"
    with pytest.raises(AppError, match=r"G learning rate: g_lr=0(\.0)? is out of range"):
        client.predict(g_lr=0.0, api_name="/edit")
    with pytest.raises(AppError, match=r"Batch size: batch_size=4096 .*GP_MAX_BATCH"):
        client.predict(batch_size=4096, api_name="/edit")
    with pytest.raises(AppError, match=r"Batch size: batch_size=2.5 must be a whole number"):
        client.predict(batch_size=2.5, api_name="/edit")  # never "batch_size = 2"
    assert client.predict(5, "both", api_name="/train_steps")["settings"]["batch_size"] == 256


def test_hosting_limits_are_enforced_with_clear_errors(client, tmp_path):
    with pytest.raises(AppError, match=r"steps=20000 .*GP_MAX_STEPS"):
        client.predict("ring8", {"steps": 20000}, api_name="/new_run")
    with pytest.raises(AppError, match=r"steps=20000 .*GP_MAX_STEPS"):
        client.predict(dataset="ring8", steps=20000, api_name="/train")
    with pytest.raises(AppError, match="GP_MAX_BATCH"):
        client.predict("ring8", {"batch_size": 1024}, api_name="/new_run")
    with pytest.raises(AppError, match="GP_MAX_WIDTH"):
        client.predict("ring8", {"g_width": 1024}, api_name="/new_run")
    with pytest.raises(AppError, match="at most 64"):
        client.predict(model="tiny-mnist", seeds="0-100", api_name="/sample_grid")
    client.predict("ring8", {"steps": 100}, api_name="/new_run")
    with pytest.raises(AppError, match="GP_MAX_STEPS"):
        client.predict(10_001, "both", api_name="/train_steps")
    big = tmp_path / "big.safetensors"
    big.write_bytes(b"\0" * (2 * 1024 * 1024 + 10))
    # gradio_client refuses it before sending (the server advertises its cap) ...
    with pytest.raises((AppError, ValueError), match="maximum file size"):
        client.predict(checkpoint=handle_file(str(big)), api_name="/load_checkpoint")
    # ... and the server refuses it too when a client sends it anyway.
    import httpx

    with open(big, "rb") as f:
        response = httpx.post(client.src.rstrip("/") + "/gradio_api/upload",
                              files={"files": ("big.safetensors", f)}, timeout=30)
    assert response.status_code == 413


def test_checkpoint_round_trip_and_a_pickle_is_refused(client, tmp_path):
    client.predict("ring8", {"steps": 200}, api_name="/new_run")
    client.predict(7, "both", api_name="/train_steps")
    path = client.predict(api_name="/save_checkpoint")
    assert path.endswith(".safetensors")
    other = Client(client.src, verbose=False)
    outputs = other.predict(checkpoint=handle_file(path), api_name="/load_checkpoint")
    assert "step 7" in outputs[0] and summary_of(outputs)["step"] == 7
    assert outputs[4] == "ring8"  # the preset menu names the loaded run's preset
    assert other.predict(2, "both", api_name="/train_steps")["step"] == 9
    evil = tmp_path / "evil.safetensors"
    evil.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(AppError, match="not a safetensors|too short|truncated"):
        other.predict(checkpoint=handle_file(str(evil)), api_name="/load_checkpoint")
    with pytest.raises(AppError, match="No checkpoint uploaded"):
        Client(client.src, verbose=False).predict(model="uploaded", seeds="0",
                                                   api_name="/sample_grid")


def test_timelapse_gif_covers_the_run(client):
    client.predict("ring8", {"steps": 200}, api_name="/new_run")
    for _ in range(3):
        client.predict(5, "both", api_name="/train_steps")
    download, preview = client.predict(api_name="/timelapse")
    gif = Image.open(download)
    assert gif.format == "GIF" and gif.n_frames >= 3 and gif.width == 440
    assert Image.open(preview).format == "GIF"


def test_bad_input_is_one_clear_error(client):
    with pytest.raises(AppError, match="cannot read seed"):
        client.predict(model="tiny-mnist", seeds="zero", api_name="/sample_grid")
    with pytest.raises(AppError, match="not in the list of choices"):
        client.predict(model="nope", seeds="0", api_name="/sample_grid")
    with pytest.raises(AppError, match="preset='nope'"):
        client.predict("nope", api_name="/new_run")
    with pytest.raises(AppError, match="Architecture: arch='dcgan' needs image data"):
        client.predict(dataset="ring8", arch="dcgan", api_name="/train")
    with pytest.raises(AppError, match="Step target: steps=12.5 must be a whole number"):
        client.predict(dataset="ring8", steps=12.5, api_name="/train")  # never rounded to 12



def test_divergence_shows_a_warning_and_keeps_the_last_good_state(client):
    outputs = client.predict(dataset="ring8", steps=500, g_lr=10.0, d_lr=10.0, g_optimizer="sgd",
                             d_optimizer="sgd", loss="lsgan", api_name="/train")
    summary = summary_of(outputs)
    assert summary["state"] == "diverged" and "restored the last good state" in summary["warning"]
    assert "⚠️" in outputs[0] and "diverged" in outputs[0]
    after = client.predict(1, "d", api_name="/train_steps")  # the restored model still works
    assert after["last"]["loss_d"] is not None
    with pytest.raises(AppError, match="No live change is left to undo"):
        client.predict(api_name="/good_settings")


def test_measure_quality_of_a_2d_run(client):
    client.predict("ring8", {"steps": 100}, api_name="/new_run")
    client.predict(10, "both", api_name="/train_steps")
    text = client.predict(api_name="/measure")
    assert "Quality at step 10" in text
    assert re.search(r"\d+/8 modes, \d+ % high quality \(a good model: 8/8, ≥ 90 %\)", text)
    assert "<details>" in text and "<td>js</td>" in text  # the numbers, folded away


def test_training_does_not_block_someone_elses_sampling(server):
    trainer, sampler = Client(server.url, verbose=False), Client(server.url, verbose=False)
    job = trainer.submit(dataset="ring8", steps=3000, api_name="/train")
    try:
        start = time.monotonic()
        while len(job.outputs()) < 2 and time.monotonic() - start < 60:
            time.sleep(0.05)
        assert not job.done(), "the run should still be training"
        sampler.predict(model="tiny-mnist", seeds="0-3", api_name="/sample_grid")
        # Answered while the other run trains on (not after it: that run is still going).
        assert not job.done() and summary_of(job.outputs()[-1])["state"] == "training"
    finally:
        trainer.predict(api_name="/pause")
        job.result(timeout=30)


def test_random_seeds_are_a_list_of_whole_numbers(client):
    seeds = client.predict(count=5, api_name="/random_seeds")
    assert len([int(s) for s in seeds.split(",")]) == 5


def test_train_on_an_uploaded_zip_of_images(client, tmp_path):
    archive = tmp_path / "faces.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for i in range(12):
            img = Image.new("RGB", (20, 20), (10 * i, 100, 200))
            path = tmp_path / f"{i}.png"
            img.save(path)
            z.write(path, f"img/{i}.png")
        z.writestr("notes.txt", "not an image")
    outputs = client.predict(images_zip=handle_file(str(archive)), dataset="images",
                             image_size=16, channels=3, arch="mlp", z_dim=8, g_width=16,
                             d_width=16, pack=1, batch_size=8, steps=6, api_name="/train")
    assert "your images" in outputs[0] and summary_of(outputs)["step"] == 6
    grid, _, _ = client.predict(model="session", seeds="0-3", api_name="/sample_grid")
    assert Image.open(grid).mode == "RGB"
