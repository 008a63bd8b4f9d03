"""Runs side by side: a session keeps up to MAX_KEPT runs beside its current one (ui/session.py,
ui/compare.py), and the Sample tab can draw from a kept run; unit tests and through the API."""
from __future__ import annotations

import pytest

from app_server import AppServer, make_checkpoints
from gradio_client import Client
from gradio_client.exceptions import AppError
from playground.live import LiveRun
from playground.presets import get_preset
from playground.train import Trainer
from playground.ui.compare import overlay_plot, table_html
from playground.ui.session import MAX_KEPT, Session


def trained_run(steps: int, **changes) -> LiveRun:
    trainer = Trainer(get_preset("ring8").replace(device="cpu", **changes))
    trainer.step(steps)
    return LiveRun(trainer, f"run-{steps}", "ring8")


def test_keeping_moves_the_run_aside_and_each_refusal_changes_nothing():
    session = Session("s", "cpu")
    with pytest.raises(ValueError, match="No run to keep"):
        session.keep_run("A")
    for i in range(MAX_KEPT):
        session.run = trained_run(5 + i)
        kept = session.keep_run(f"run {i}" if i else "")
        assert session.run is None and session.kept[-1] is kept
    assert [k.name for k in session.kept] == ["A: ring8", "run 1", "run 2"]  # a default name
    session.run = extra = trained_run(3)
    with pytest.raises(ValueError, match=f"at most {MAX_KEPT} runs"):
        session.keep_run("D")
    assert session.run is extra and len(session.kept) == MAX_KEPT  # nothing changed
    session.forget(1)
    with pytest.raises(ValueError, match="already called 'run 1'"):
        session.keep_run("run 1")
    assert session.run is extra
    with pytest.raises(ValueError, match="no kept run 5"):
        session.forget(5)
    assert [k.name for k in session.kept] == ["run 1", "run 2"]
    runs = [*session.kept, extra]
    session.close()
    assert session.kept == [] and all(r.closed for r in runs)


def test_the_table_and_the_overlay_show_every_run_by_its_number():
    session = Session("s", "cpu")
    session.run = trained_run(30)
    session.keep_run("A: plain")
    session.run = trained_run(40, d_steps=2)
    html = table_html(session)
    assert "1. A: plain" in html and "This run (ring8)" in html and ">40<" in html
    plot = overlay_plot(session, "d_fake", ["1", "current"]).value
    rows = plot["data"]
    assert {r[0] for r in rows} == {"Kept run 1", "Kept run 2", "Kept run 3", "This run"}
    def points(rows, series):  # the empty row each series has is NaN (or null once sent)
        return sum(r[0] == series and r[3] is not None and r[3] == r[3] for r in rows)

    assert points(rows, "Kept run 1") == 30 and points(rows, "This run") == 40
    only = overlay_plot(session, "d_fake", ["current"]).value["data"]
    assert points(only, "Kept run 1") == 0 and points(only, "This run") == 40
    with pytest.raises(Exception, match="is not one of"):
        overlay_plot(session, "nope", ["current"])


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("checkpoints")
    make_checkpoints(folder)
    srv = AppServer(args=("--checkpoints", str(folder)))
    yield srv
    srv.stop()


def test_keep_compare_sample_and_forget_through_the_api(server):
    client = Client(server.url, verbose=False)
    for name, loss in (("A: minimax", "minimax"), ("B: non-saturating", "non-saturating")):
        client.predict("ring8", {"steps": 100, "loss": loss}, api_name="/new_run")
        client.predict(20, "both", api_name="/train_steps")
        table, _, note, _ = client.predict(name, "loss_g", ["current", "1", "2", "3"],
                                           api_name="/keep_run")
        assert f"Kept **{name}**" in note
    table, plot, _ = client.predict("loss_g", ["1", "2"], api_name="/compare_runs")
    assert "1. A: minimax" in table and "2. B: non-saturating" in table and "modes" in table
    _, _, info = client.predict(model="kept:2", seeds="0-3", api_name="/sample_grid")
    assert "kept run 2, “B: non-saturating”" in info
    with pytest.raises(AppError, match="no kept run 3"):
        client.predict(model="kept:3", seeds="0", api_name="/sample_grid")
    with pytest.raises(AppError, match="No run to keep"):
        client.predict("C", "loss_g", ["current"], api_name="/keep_run")
    table, _, note = client.predict(1, "loss_g", ["current", "1"], api_name="/forget_run")
    assert "Forgot **A: minimax**" in note and "1. B: non-saturating" in table
    assert "minimax" not in table.replace("non-saturating", "")
