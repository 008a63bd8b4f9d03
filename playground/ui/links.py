"""Links that carry a setup: `?preset=grid25&g_lr=0.0007&loss=hinge&seed=3&tab=train&hide=d_lr`.

Every setting of the Train tab's form lives in the page's URL, by its config field name (as the
API spells it). `js/link.js` writes the URL back as the form changes: the preset, then each field
that differs from that preset (so a link stays short and says what was changed). Opening a link
restores it here (`parse`, at page load): the preset first, then each field on top of it, so two
people who open the same link and press Train get the same run. `hide=` names controls to hide
(classroom mode; their values still apply), `tab=` opens a tab, `lesson=` a lesson's card. A
bad parameter (an unknown name, a value out of range, a combination the config refuses) is
named in one sentence, and that field keeps the preset's value; nothing else is affected.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import gradio as gr

from ..lessons import LESSONS
from ..presets import PRESETS
from ..settings import SETTINGS, short_repr
from .form import DEFAULT_PRESET, FIELDS, config_from_form, flat_values
from .limits import Limits

TABS = ("train", "sample", "discriminator")
MAX_QUERY = 4096  # characters of a link's query read (every field at its longest fits)
JS_DIR = Path(__file__).parent / "js"


@dataclass
class Link:
    """What a link asks for, checked: the preset menu's value, every form field's value, the
    fields to hide, the tab to open, and one sentence per bad parameter."""
    preset: str
    values: dict[str, Any]
    hidden: list[str] = field(default_factory=list)
    tab: str | None = None
    lesson: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def note(self) -> str:
        if not self.problems:
            return ""
        return ("**This link has settings that cannot apply** (the preset's values are used "
                "for them): " + " ".join(self.problems))


def base_values(name: str, device: str) -> dict[str, Any]:
    """Every form field's value for preset `name`, with the app's device: a link's start."""
    values = flat_values(PRESETS[name])
    values["device"] = device
    return {f: values[f] for f in FIELDS}


def _typed(name: str, text: str) -> Any:
    """A link's text as the setting's type (then checked by the setting itself)."""
    s = SETTINGS[name]
    kind = "int" if s.kind == "choice" and isinstance(s.choices[0], int) else s.kind
    if kind == "bool":
        return {"true": True, "1": True, "false": False, "0": False}.get(text.lower(), text)
    if kind in ("int", "float"):
        try:
            number = float(text)
        except ValueError:
            return text
        return int(number) if kind == "int" and number.is_integer() and abs(number) < 2**63 \
            else number
    return text


def parse(query: str, device: str, limits: Limits) -> Link:
    """The setup a page's query string (`location.search`) asks for."""
    pairs = dict(parse_qsl(str(query or "")[:MAX_QUERY].lstrip("?"), keep_blank_values=True))
    problems: list[str] = []
    preset = pairs.pop("preset", DEFAULT_PRESET)
    if preset not in PRESETS:
        problems.append(f"preset={short_repr(preset)} is not one of: {', '.join(PRESETS)}.")
        preset = DEFAULT_PRESET
    values = base_values(preset, device)
    tab = pairs.pop("tab", None)
    if tab is not None and tab not in TABS:
        problems.append(f"tab={short_repr(tab)} is not one of: {', '.join(TABS)}.")
        tab = None
    lesson = pairs.pop("lesson", None)
    if lesson is not None and lesson not in LESSONS:
        problems.append(f"lesson={short_repr(lesson)} is not one of: {', '.join(LESSONS)}.")
        lesson = None
    hidden = []
    for name in filter(None, pairs.pop("hide", "").split(",")):
        if name in FIELDS:
            hidden.append(name)
        else:
            problems.append(f"hide: {short_repr(name)} is not a setting of the form.")
    changed = []
    for name, text in pairs.items():
        if name not in FIELDS:
            problems.append(f"{short_repr(name)} is not a setting (the settings are the "
                            "config's field names, e.g. g_lr).")
            continue
        value = _typed(name, text)
        try:
            limits.check_values({name: value})
            values[name] = SETTINGS[name].check(value)
            changed.append(name)
        except ValueError as e:
            problems.append(f"{e}.")
    # The fields together must make a config (e.g. batch_size a multiple of pack, dcgan only on
    # images): a link's field the config refuses goes back to the preset's value, and says so.
    base = base_values(preset, device)
    for _ in range(len(changed)):
        try:
            config_from_form(values, images_path="link", limits=limits)
            break
        except ValueError as e:
            name = getattr(e, "field", None)
            if name not in changed:
                name = changed[-1]
            problems.append(f"{e} ({name} from the link is not used).")
            values[name] = base[name]
            changed.remove(name)
    # The menu shows the link's preset, as it does when a person picks one and edits fields.
    return Link(preset, values, hidden, tab, lesson, problems)


def script(name: str, **values: Any) -> str:
    """The JavaScript function in `js/<name>.js`, each `/*KEY*/null` placeholder replaced by
    the JSON of values[KEY]."""
    text = (JS_DIR / f"{name}.js").read_text()
    for key, value in values.items():
        text = text.replace(f"/*{key}*/null", json.dumps(value))
    return text


def wire(ctx: Any, form: Any, note: gr.Markdown, copy_btn: gr.Button, link_box: gr.Textbox,
         tabs: gr.Tabs, tab_items: dict[str, gr.Tab], after_load: Any,
         form_fills: list[Any], lessons: Any) -> None:
    """Restore a link after the page's load event (`after_load`, which made the session), and
    write the URL back as the form and the tabs change: after a person's edit of a field, and
    after each event in `form_fills` that fills the form by itself (a preset, a checkpoint)."""
    device = form["device"].value
    fields = [form[f] for f in FIELDS]
    query = gr.Textbox(visible=False, elem_id="link-query")

    def restore(text: str, request: gr.Request) -> list[Any]:
        if not text or text == "?":
            return [gr.skip()] * (len(fields) + 3 + len(lessons.outputs))
        link = parse(text, device, ctx.limits)
        ctx.session(None, request).set_preview(link.values["dataset"])
        return [link.preset,
                *[gr.update(value=link.values[f], **({"visible": False} if f in link.hidden
                                                     else {})) for f in FIELDS],
                gr.update(value=link.note, visible=bool(link.note)),
                gr.Tabs(selected=link.tab) if link.tab else gr.skip(),
                *(lessons.show(link.lesson) if link.lesson
                  else [gr.skip()] * len(lessons.outputs))]

    write = dict(fn=None, inputs=[form.preset, *fields], outputs=None, api_visibility="private",
                 js=script("link", PRESETS={n: base_values(n, device) for n in PRESETS},
                           FIELDS=list(FIELDS), DEFAULT=DEFAULT_PRESET))
    restored = after_load.then(restore, inputs=[query],
                               outputs=[form.preset, *fields, note, tabs, *lessons.outputs],
                               js=script("link_read"), api_visibility="private",
                               show_progress="hidden")
    for dependency in [restored, *form_fills]:
        dependency.success(**write)
    gr.on([c.input for c in fields if hasattr(c, "input")], **write)
    for name, tab in tab_items.items():
        tab.select(fn=None, inputs=None, outputs=None, js=script("link_tab", TAB=name),
                   api_visibility="private")
    copy_btn.click(fn=None, inputs=None, outputs=[link_box], js=script("link_copy"),
                   api_visibility="private").then(
        lambda: gr.update(visible=True), None, [link_box], queue=False,
        api_visibility="private", show_progress="hidden")
