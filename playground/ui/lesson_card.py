"""The Train tab's lesson card: pick a guided experiment, read it, set up its runs with one click.

The lessons and their measured claims live in `playground/lessons.py`; this file only shows them.
A run's setup is applied exactly as a link is (`links.parse` of the run's query), so a lesson's
run in the page is the run `playground lesson NAME` checks. `?lesson=NAME` opens the card.
"""
from __future__ import annotations

from typing import Any

import gradio as gr

from ..lessons import LESSONS, QUANTITIES, Lesson, LessonRun
from .common import CONTROL, AppContext
from .form import FIELDS
from .links import parse, script

MAX_RUNS = 4  # set-up buttons on the card (a lesson has 1 to 4 runs)


class LessonCard:
    """Builds the card inside the current Blocks; `wire` connects it to the form."""

    def __init__(self) -> None:
        with gr.Accordion("Lessons: guided experiments", open=False,
                          elem_id="lessons") as self.box:
            self.menu = gr.Dropdown(
                choices=[(lesson.title, lesson.name) for lesson in LESSONS.values()],
                value=None, label="Lesson", elem_id="lesson-menu",
                info="Each one sets up a run (or two to compare) and says what to look for. "
                     "Its outcome is measured: `playground lesson NAME` checks it.")
            self.card = gr.Markdown("", elem_id="lesson-card")
            with gr.Row(elem_id="lesson-setups"):
                self.setups = [gr.Button("", size="sm", visible=False, variant="secondary",
                                         elem_id=f"lesson-setup-{i}") for i in range(MAX_RUNS)]
            self.note = gr.Markdown("", elem_id="lesson-note", elem_classes=["gp-notice"])

    @property
    def outputs(self) -> list[Any]:
        """What `show` fills: the menu, the card, the set-up buttons and the accordion."""
        return [self.menu, self.card, *self.setups, self.box]

    def show(self, name: str | None) -> list[Any]:
        """Updates for `outputs` showing lesson `name` (None: no lesson)."""
        lesson = LESSONS.get(name or "")
        runs = list(lesson.runs) if lesson else []
        buttons = [gr.update(value=f"Set up {r.label}", visible=True) for r in runs]
        buttons += [gr.update(visible=False)] * (MAX_RUNS - len(runs))
        return [gr.update(value=lesson.name if lesson else None),
                card_text(lesson) if lesson else "", *buttons,
                gr.Accordion(open=True) if lesson else gr.skip()]

    def wire(self, ctx: AppContext, form: Any, state: gr.State, form_fills: list[Any],
             keep_name: gr.Textbox) -> None:
        """Each set-up button fills the form (and `keep_name`, the name the run would be kept
        under for comparison, with the run's label)."""
        self.menu.input(lambda name: self.show(name)[1:], inputs=[self.menu],
                        outputs=self.outputs[1:], js=script("link_lesson"),
                        api_visibility="private", show_progress="hidden", queue=False)
        fields = [form[f] for f in FIELDS]
        device = form["device"].value

        for i, button in enumerate(self.setups):
            def set_up(name: str | None, state: Any, request: gr.Request, i: int = i) -> list:
                lesson = LESSONS.get(name or "")
                if lesson is None or i >= len(lesson.runs):
                    return [gr.skip()] * (len(fields) + 3)
                run = lesson.runs[i]
                link = parse(run.query(), device, ctx.limits)
                ctx.session(state, request).set_preview(link.values["dataset"])
                return [link.preset, *[link.values[f] for f in FIELDS], setup_note(lesson, run),
                        run.label]

            form_fills.append(button.click(
                set_up, inputs=[self.menu, state], outputs=[form.preset, *fields, self.note, keep_name],
                api_visibility="private", concurrency_id=CONTROL, concurrency_limit=None,
                show_progress="hidden"))


def card_text(lesson: Lesson) -> str:
    runs = "\n".join(f"- **{r.label}**: {r.preset}, {_changes(r)}" for r in lesson.runs)
    claims = "\n".join(
        f"- {lesson.run(c.run).label}: {QUANTITIES[c.quantity][0]} {c.expected()}"
        for c in lesson.claims)
    return (f"#### {lesson.title}\n\n**What you will see.** {lesson.see}\n\n"
            f"**The runs** (press a button below to set one up, then ▶ Train):\n{runs}\n\n"
            f"**What to watch.** {lesson.watch}\n\n**Question.** {lesson.question}\n\n"
            f"<details><summary>What it shows (think first)</summary>\n\n{lesson.shows}\n\n"
            f"Measured at the end of each run, checked by `playground lesson {lesson.name}` "
            f"and the test suite:\n{claims}\n</details>")


def setup_note(lesson: Lesson, run: LessonRun) -> str:
    more = (" To compare it with the lesson's other runs: when it is done, open **Runs side by "
            "side** and press **Keep this run**, then set up the next." if len(lesson.runs) > 1
            else "")
    return f"Set up **{run.label}** ({_changes(run)}). Press **▶ Train**.{more}"


def _changes(run: LessonRun) -> str:
    return ", ".join(f"{k}={v}" for k, v in run.changes.items())
