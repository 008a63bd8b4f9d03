"""A run as the app drives it (playground.live.LiveRun): worker thread, pause, edits, frames."""
from __future__ import annotations

import threading
import time

import pytest
import torch

from conftest import wait_for
from playground.frames import check_frame
from playground.live import LiveRun
from playground.turns import Slots
from playground.presets import PRESETS
from playground.train import Trainer

RING = PRESETS["ring8"].replace(g_width=16, d_width=16, batch_size=32, device="cpu")


def _run(steps: int = 100_000, slots: Slots | None = None, **changes) -> LiveRun:
    return LiveRun(Trainer(RING.replace(steps=steps, **changes)), "run", "ring8",
                   slots or Slots(1))


def test_start_trains_pause_stops_and_start_again_continues():
    run = _run()
    try:
        assert run.start()
        wait_for(lambda: run.trainer.step_count > 20, what="training")
        run.pause()
        assert run.wait_stopped(30) and run.state == "paused"
        stopped = run.trainer.step_count
        time.sleep(0.3)
        assert run.trainer.step_count == stopped  # stop means stop
        run.start()
        wait_for(lambda: run.trainer.step_count > stopped + 10, what="resumed training")
    finally:
        run.close()
    assert run.closed and not run.running


def test_a_run_at_its_target_does_not_start_and_one_below_stops_there_done():
    run = _run(steps=30)
    run.start()
    wait_for(lambda: run.state == "done", what="the step target")
    assert run.trainer.step_count == 30 and not run.start()


def test_frames_follow_the_training_and_freeze_on_pause():
    run = _run()
    try:
        idle = run.frame(-1, -1, True, timeout=1)
        check_frame(idle)
        assert idle["state"] == "idle" and idle["view"]["real"]
        run.start()
        seq, since, steps = idle["seq"], -1, []
        for _ in range(5):
            f = wait_for(lambda: run.frame(seq, since, False, timeout=2), what="a fresh frame")
            check_frame(f)
            seq, since = f["seq"], f["curves"]["step"][-1] if f["curves"]["step"] else since
            steps.append(f["step"])
        assert steps == sorted(steps) and steps[-1] > steps[0]
        run.pause()
        run.wait_stopped()
        last = wait_for(lambda: run.frame(seq, since, False, timeout=2), what="the paused frame")
        assert last["state"] == "paused"
        assert run.frame(last["seq"], since, False, timeout=0.5) is None  # nothing new: frozen
    finally:
        run.close()


def test_a_new_start_replaces_the_old_worker():
    run = _run()
    try:
        run.start()
        first = run._worker
        wait_for(lambda: run.trainer.step_count > 5)
        run.start()
        assert run._worker is not first
        first.join(30)
        assert not first.is_alive() and run.running
    finally:
        run.close()


def test_runs_over_the_slots_wait_their_turn_and_say_so():
    slots = Slots(1)
    a, b = _run(slots=slots), _run(slots=slots)
    try:
        a.start()
        wait_for(lambda: a.state == "training")
        b.start()
        time.sleep(0.5)
        assert b.state == "waiting" and b.trainer.step_count == 0
        a.pause()
        wait_for(lambda: b.state == "training" and b.trainer.step_count > 0, what="b's turn")
    finally:
        a.close()
        b.close()


def test_live_edits_wait_for_the_next_chunk_and_mark_the_curves():
    run = _run()
    try:
        run.start()
        wait_for(lambda: run.trainer.step_count > 5)
        words = run.edit({"g_lr": 0.0005, "loss": "hinge"})
        assert words.startswith("Sent to the running model") and "g_lr = 0.0005" in words
        wait_for(lambda: run.trainer.config.train.g_lr == 0.0005, what="the edit")
        assert run.trainer.config.train.loss == "hinge"
        assert run.trainer.changes[-1][1] == {"g_lr": 0.0005, "loss": "hinge"}
        with pytest.raises(ValueError, match="G learning rate"):
            run.edit({"g_lr": -1.0})  # refused at once, even while training
        assert run.trainer.config.train.g_lr == 0.0005
    finally:
        run.close()


def test_a_single_step_says_what_it_did_to_d_of_x_and_d_of_g_of_z():
    run = _run()
    words = run.step_once("d")
    assert words.startswith("D step: D(x) ") and "→" in words and "D(G(z))" in words
    assert run.trainer.step_count == 1 and run.state == "paused" and run.note == words
    assert "images/s" not in words
    before = run.trainer.probe()
    run.step_once("g")
    assert run.trainer.probe()[0] == before[0]  # a G step leaves D(x) alone


def test_after_a_divergence_the_last_good_settings_come_back():
    run = _run(g_optimizer="sgd", d_optimizer="sgd", loss="lsgan")
    run.step_once("both")
    run.edit({"g_lr": 10.0, "d_lr": 10.0})  # far too high: it diverges
    for _ in range(50):
        run.step_once("both")
        if run.trainer.diverged:
            break
    assert run.trainer.diverged and "diverged" in run.warning
    words = run.back_to_good_settings()
    assert "g_lr = 0.002" in words and "d_lr = 0.002" in words
    assert run.trainer.config.train.g_lr == 0.002 and run.trainer.config.train.d_lr == 0.002
    assert run.back_to_good_settings() == ""  # nothing left to undo


def test_going_back_to_good_settings_brings_back_the_model_from_before_the_edits():
    """The last finite state of a diverged run has often been wrecked by the bad setting
    already (it diverges again at the next step); undoing the edits brings back the model from
    just before each, so training goes on where it was healthy."""
    run = _run(g_optimizer="sgd", d_optimizer="sgd", loss="lsgan")
    for _ in range(3):
        run.step_once("both")
    before = run.trainer.state_tensors()
    run.edit({"g_lr": 10.0})
    run.step_once("both")
    run.edit({"d_lr": 10.0})
    for _ in range(50):
        run.step_once("both")
        if run.trainer.diverged:
            break
    assert run.state == "diverged"
    words = run.back_to_good_settings()
    assert words.startswith("Back to the settings before your last change and the model as it "
                            "was then (step 4)") and "d_lr = 0.002" in words
    words = run.back_to_good_settings()
    assert "(step 3): g_lr = 0.002" in words
    assert run.state == "paused" and run.warning == "" and run.trainer.step_count == 3
    after = run.trainer.state_tensors()
    assert all(torch.equal(before[k], after[k]) for k in before)  # the very same model
    assert [r.step for r in run.trainer.history] == [1, 2, 3]
    for _ in range(20):  # and it trains on
        run.step_once("both")
    assert not run.trainer.diverged and run.trainer.step_count == 23
    assert run.trainer.changes == [(3, {"g_lr": 0.002})]  # the marks of the undone future go


def test_quality_is_measured_every_n_steps_while_training():
    calls = []

    def evaluate(trainer):
        calls.append(trainer.step_count)
        return {"metric_set": "2d", "n_fake": 1}

    run = LiveRun(Trainer(RING.replace(steps=250)), "r", "ring8", Slots(1), evaluate=evaluate,
                  measure_every=100)
    run.start()
    wait_for(lambda: run.state == "done", what="the run")
    assert [m["step"] for m in run.metrics] == calls and len(calls) == 2
    assert all(100 <= s for s in calls)


def test_the_timelapse_fills_even_when_nobody_watches():
    run = _run(steps=300)
    run.start()
    wait_for(lambda: run.state == "done")
    steps = [f.step for f in run.timelapse.snapshot()]
    assert len(steps) >= 3 and steps == sorted(steps)


def test_steps_played_by_a_caller_stop_at_a_pause_within_a_chunk():
    run = _run()
    run.begin_steps()
    done = []

    def play():
        left = 100_000
        while left > 0 and not run.stop_requested:
            chunk = run.play_chunk(left)
            left -= len(chunk)
            done.append(len(chunk))

    thread = threading.Thread(target=play)
    thread.start()
    wait_for(lambda: sum(done) > 10)
    run.pause()
    thread.join(30)
    assert not thread.is_alive() and sum(done) < 100_000
