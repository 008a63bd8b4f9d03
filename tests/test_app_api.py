"""The app's named API endpoints, called with gradio_client against `python app.py` on a free port.

The server runs with small hosting limits (so refusals can be tested) and a checkpoints folder of
tiny models made here, and it is started with --share pointed at a dead share server, so the
one-line fallback is tested too without the network.
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


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("checkpoints")
    make_checkpoints(folder)
    env = {**LIMITS, "GRADIO_SHARE_SERVER_ADDRESS": "127.0.0.1:1"}  # a share server that is down
    srv = AppServer(env=env, args=("--share", "--checkpoints", str(folder)))
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
                 "/edit", "/save_checkpoint", "/load_checkpoint", "/timelapse", "/sample_grid",
                 "/interpolate", "/discriminator_report", "/score_image", "/new_run",
                 "/train_steps"):
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


def test_discriminator_report_gives_accuracy_auc_and_galleries(client):
    hist, stats, decision_map, fakes, reals = client.predict(model="tiny-mnist", count=32,
                                                             api_name="/discriminator_report")
    accuracy = float(re.search(r"Accuracy\*\* at 0.5: ([0-9.]+)%", stats).group(1))
    auc = float(re.search(r"ROC AUC\*\*: ([0-9.]+)", stats).group(1))
    assert 0 <= accuracy <= 100 and 0 <= auc <= 1
    assert Image.open(hist).size[0] > 300
    assert len(fakes) == 8 and len(reals) == 8
    assert all(0 <= float(item["caption"]) <= 1 for item in fakes + reals)


def test_discriminator_report_of_a_2d_model_is_a_decision_map(client):
    _, stats, decision_map, _, _ = client.predict(model="tiny-ring8", count=64,
                                                  api_name="/discriminator_report")
    assert "ROC AUC" in stats and Image.open(decision_map).size == (440, 440)


def test_score_image_gives_a_verdict_and_a_saliency_map(client, tmp_path):
    path = tmp_path / "digit.png"
    img = Image.new("RGB", (60, 40), "black")
    img.paste((255, 255, 255), (25, 5, 35, 35))
    img.save(path)
    verdict, saliency = client.predict(model="tiny-mnist", value=handle_file(str(path)),
                                       api_name="/score_image")
    scores = {c["label"]: c["confidence"] for c in verdict["confidences"]}
    assert set(scores) == {"looks real", "looks fake"}
    assert scores["looks real"] == pytest.approx(1 - scores["looks fake"])
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


def test_two_sessions_never_share_a_model(server):
    a, b = Client(server.url, verbose=False), Client(server.url, verbose=False)
    a.predict("ring8", {"steps": 500}, api_name="/new_run")
    b.predict("ring8", {"steps": 500, "dataset": "moons"}, api_name="/new_run")
    assert a.predict(10, "both", api_name="/train_steps")["step"] == 10
    got = b.predict(5, "both", api_name="/train_steps")
    assert got["step"] == 5 and got["dataset"] == "moons"
    assert a.predict(1, "both", api_name="/train_steps")["dataset"] == "ring8"


def test_train_streams_pause_stops_it_and_resume_continues(client):
    job = client.submit(dataset="ring8", steps=3000, batch_size=64, api_name="/train")
    start = time.monotonic()
    while len(job.outputs()) < 3 and time.monotonic() - start < 60:
        time.sleep(0.05)
    first = len(job.outputs())
    time.sleep(3.0)
    updates = len(job.outputs()) - first
    # The view keeps streaming (the refresh rate itself is a figure for `make bench`, not a
    # timed test: this machine is shared and noisy).
    assert updates >= 2, f"the training view sent {updates} updates in 3 s"
    client.predict(api_name="/pause")
    paused_at = time.monotonic()
    job.result(timeout=30)
    assert time.monotonic() - paused_at < 15.0, "Pause did not stop the run"
    step = int(re.search(r'data-step="(\d+)"', job.outputs()[-1][0]).group(1))
    assert 0 < step < 3000 and 'data-state="paused"' in job.outputs()[-1][0]
    time.sleep(0.5)
    assert client.predict(1, "both", api_name="/train_steps")["step"] == step + 1  # not running
    resumed = client.submit(api_name="/resume")
    time.sleep(1.5)
    client.predict(api_name="/pause")
    resumed.result(timeout=30)
    later = int(re.search(r'data-step="(\d+)"', resumed.outputs()[-1][0]).group(1))
    assert later > step + 1  # continued from the same state, not from zero


def test_training_measures_quality_every_n_steps_and_save_gets_in_between_chunks(client):
    client.predict(100, api_name="/measure_every")
    with pytest.raises(AppError, match=r"less than minimum value 0|measure every=-5"):
        client.predict(-5, api_name="/measure_every")
    job = client.submit(dataset="ring8", steps=350, batch_size=64, g_width=16, d_width=16,
                        api_name="/train")
    start = time.monotonic()
    while len(job.outputs()) < 2 and time.monotonic() - start < 60:
        time.sleep(0.02)
    saved = client.predict(api_name="/save_checkpoint")  # while the worker trains, chunk by chunk
    assert Path(saved).stat().st_size > 0
    job.result(timeout=120)
    quality = job.outputs()[-1][-1]  # the view's last output: the latest measurement
    step = int(re.search(r"Quality at step (\d+)", quality).group(1))
    assert 300 <= step <= 350 and "modes_captured" in quality
    client.predict(0, api_name="/measure_every")
    job = client.submit(dataset="ring8", steps=250, batch_size=64, g_width=16, d_width=16,
                        api_name="/train")
    job.result(timeout=120)
    assert job.outputs()[-1][-1] == ""  # measuring is off: no measurement was taken


def test_live_edit_applies_to_the_running_model_and_marks_the_curves(client):
    client.predict("ring8", {"steps": 400}, api_name="/new_run")
    client.predict(5, "both", api_name="/train_steps")
    note = client.predict(g_lr=0.005, d_optimizer="sgd", api_name="/edit")
    assert "g_lr = 0.005" in note and "d_optimizer = sgd" in note
    summary = client.predict(5, "both", api_name="/train_steps")
    assert summary["settings"]["g_lr"] == 0.005 and summary["settings"]["d_optimizer"] == "sgd"
    with pytest.raises(AppError, match=r"g_lr=0(\.0)? is out of range"):
        client.predict(g_lr=0.0, api_name="/edit")
    with pytest.raises(AppError, match="GP_MAX_BATCH"):
        client.predict(batch_size=4096, api_name="/edit")


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
    assert "step 7" in outputs[1]
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
    gif = Image.open(client.predict(api_name="/timelapse"))
    assert gif.format == "GIF" and gif.n_frames == 3


def test_bad_input_is_one_clear_error(client):
    with pytest.raises(AppError, match="cannot read seed"):
        client.predict(model="tiny-mnist", seeds="zero", api_name="/sample_grid")
    with pytest.raises(AppError, match="not in the list of choices"):
        client.predict(model="nope", seeds="0", api_name="/sample_grid")
    with pytest.raises(AppError, match="preset='nope'"):
        client.predict("nope", api_name="/new_run")
    with pytest.raises(AppError, match="DCGAN|dcgan"):
        client.predict(dataset="ring8", arch="dcgan", api_name="/train")



def test_divergence_shows_a_warning_and_keeps_the_last_good_state(client):
    outputs = client.predict(dataset="ring8", steps=500, g_lr=10.0, d_lr=10.0, g_optimizer="sgd",
                             d_optimizer="sgd", loss="lsgan", api_name="/train")
    progress, status, warning = outputs[0], outputs[1], outputs[2]
    assert "Training diverged" in warning and "restored the last good state" in warning
    assert "Diverged" in status and 'data-state="paused"' in progress
    summary = client.predict(1, "d", api_name="/train_steps")  # the restored model still works
    assert summary["last"]["loss_d"] is not None


def test_measure_quality_of_a_2d_run(client):
    client.predict("ring8", {"steps": 100}, api_name="/new_run")
    client.predict(10, "both", api_name="/train_steps")
    table = client.predict(api_name="/measure")
    assert "Quality at step 10" in table and "| modes_captured |" in table
    assert re.search(r"\| js \| [0-9.e-]+ \|", table)


def test_training_does_not_block_someone_elses_sampling(server):
    trainer, sampler = Client(server.url, verbose=False), Client(server.url, verbose=False)
    job = trainer.submit(dataset="ring8", steps=3000, api_name="/train")
    try:
        start = time.monotonic()
        while len(job.outputs()) < 2 and time.monotonic() - start < 60:
            time.sleep(0.05)
        assert not job.done(), "the run should still be training"
        start = time.monotonic()
        sampler.predict(model="tiny-mnist", seeds="0-3", api_name="/sample_grid")
        assert time.monotonic() - start < 10, "sampling waited for someone else's training"
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
    status = outputs[1]
    assert "Step 6 / 6" in status and "your images" in status
    grid, _, _ = client.predict(model="session", seeds="0-3", api_name="/sample_grid")
    assert Image.open(grid).mode == "RGB"
