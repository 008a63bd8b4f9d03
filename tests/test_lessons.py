"""Lessons (playground/lessons.py): every lesson's claims measured on runs trained here, and each
setup a link the page restores exactly."""
from __future__ import annotations

import pytest
import torch

from playground.cli import main
from playground.lessons import LESSONS, Claim, check, get_lesson
from playground.ui import links
from playground.ui.form import config_from_form
from playground.ui.limits import Limits


@pytest.fixture(autouse=True)
def one_thread():
    # The claims were measured with one torch thread (the app's worker and the CLI's default
    # on this 2-core machine differ only in float order; the bounds keep a margin for that).
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(LESSONS))
def test_every_claim_of_the_lesson_holds_on_its_runs(name):
    outcomes = check(LESSONS[name], device="cpu")
    assert outcomes and len(outcomes) == len(LESSONS[name].claims)
    assert all(o.holds for o in outcomes), "\n".join(o.line() for o in outcomes)


def test_there_are_at_least_eight_lessons_each_complete():
    assert len(LESSONS) >= 8
    for lesson in LESSONS.values():
        assert all([lesson.title, lesson.see, lesson.watch, lesson.question, lesson.shows])
        keys = [r.key for r in lesson.runs]
        assert 1 <= len(keys) <= 4 and len(set(keys)) == len(keys)
        assert {c.run for c in lesson.claims} <= set(keys)


@pytest.mark.parametrize("name", list(LESSONS))
def test_each_setup_is_a_link_the_page_restores_to_the_same_config(name):
    for run in LESSONS[name].runs:
        link = links.parse(run.query(), "cpu", Limits())
        assert link.problems == [] and link.preset == run.preset
        assert config_from_form(link.values) == run.config("cpu")


def test_a_claim_compares_as_it_says_and_never_holds_for_nothing():
    assert Claim("A", "modes", ">=", 8).holds(8) and not Claim("A", "modes", ">=", 8).holds(7)
    assert Claim("A", "g_grad", "<=", 0.1).holds(0.02)
    assert Claim("A", "d_gap", "abs<=", 0.2).holds(-0.1)
    assert not Claim("A", "d_gap", "abs<=", 0.2).holds(-0.3)
    for nothing in (None, float("nan"), float("inf")):
        assert not Claim("A", "g_grad", "<=", 1e9).holds(nothing)


def test_a_claim_that_fails_is_reported_as_failing():
    lesson = get_lesson("divergence")
    impossible = type(lesson)(**{**lesson.__dict__,
                                 "claims": (Claim("A", "rollbacks", "<=", 0),)})
    [outcome] = check(impossible)
    assert not outcome.holds and "DOES NOT HOLD" in outcome.line()
    with pytest.raises(ValueError, match="is not one of"):
        get_lesson("no-such-lesson")


def test_the_cli_lists_the_lessons_and_checks_one(capsys):
    assert main(["lessons"]) == 0
    listed = capsys.readouterr().out
    assert all(name in listed for name in LESSONS) and "?preset=ring8" in listed
    assert main(["lesson", "divergence", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert out.count("— holds") == len(get_lesson("divergence").claims)
    assert main(["lesson", "no-such-lesson"]) == 2
