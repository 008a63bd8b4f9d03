"""User errors in the page: one clear sentence next to the control that caused it, and a toast.

An event that refuses something raises `gr.Error` (a toast in the page, an exception for API
clients) and changes nothing: its outputs keep what they showed, because every event runs with
`show_progress="hidden"` (no red "Error" badge on each output). `on_errors` remembers, per
session, which control the error is about: the form field a `SettingError` or `LimitError`
names, else the event's own notice line (next to its buttons). `ErrorSlots.wire` then chains a
`.failure` listener that writes the sentence there (a field's hint line turns into the message,
its accordion opens) and a `.success` listener that clears it again: only a sentence that the
event which succeeded can have fixed, made before it started and about what it checked (a live
edit from the page checks the one field that sent it; see `checked_only`). Events overlap and
their answers come in any order on a busy server: a late success must not wipe a newer error.
"""
from __future__ import annotations

import contextvars
import functools
import html
import inspect
import itertools
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable

import gradio as gr

from ..checkpoint import CheckpointError
from ..data import DatasetUnavailable

USER_ERRORS = (ValueError, DatasetUnavailable, CheckpointError, FileNotFoundError)


def error(message: str) -> gr.Error:
    """A toast with `message` as plain text (< > & escaped; quotes need not be)."""
    return gr.Error(html.escape(message, quote=False), print_exception=False)


@dataclass
class Note:
    """The last error of a session: its sentence and where it belongs."""
    message: str
    field: str | None  # a form field's name, or None for the event's notice line
    notice: str  # the notice line of the event that failed
    at: int = 0  # when it failed, on `Where.tick`'s clock


MAX_SESSIONS_TRACKED = 10_000  # sessions whose last error (or success) is remembered: a bound on
#                               this bookkeeping's memory (~100 bytes each), the oldest forgotten


class Recent(OrderedDict):
    """A dict that keeps only its `limit` most recently written keys."""

    def __init__(self, limit: int = MAX_SESSIONS_TRACKED) -> None:
        super().__init__()
        self.limit = limit

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > self.limit:
            self.popitem(last=False)


class Where:
    """Per session: its errors not yet shown, each with where it belongs (added by `on_errors`,
    taken by `ErrorSlots`), and its last few events that succeeded: when each started (on one
    clock with the errors) and which fields it checked."""

    KEEP = 8  # errors waiting to be shown, and successes, remembered per session: more than
    #           can overlap

    def __init__(self) -> None:
        self.notes: Recent = Recent()  # session -> (Note,): errors not yet shown, oldest first
        self.fixed: Recent = Recent()  # session -> ((start tick, fields checked or None: all),)
        self._clock = itertools.count(1)

    def tick(self) -> int:
        return next(self._clock)

    def start(self) -> int:
        """An event starts: its tick. Until it says otherwise (`checked_only`), it checks all."""
        _CHECKED.set(None)
        return self.tick()

    def add(self, key: str, note: Note) -> None:
        self.notes[key] = (*self.notes.get(key, ())[1 - self.KEEP:], note)

    def take(self, key: str) -> Note | None:
        """The oldest error of this session not yet shown (two events of one session can fail
        at once: a field's Enter and its blur; each failure's listener shows one)."""
        waiting = self.notes.pop(key, ())
        if len(waiting) > 1:
            self.notes[key] = waiting[1:]
        return waiting[0] if waiting else None

    def succeeded(self, key: str | None, started: int) -> None:
        scope = _CHECKED.get()
        if key is not None and scope != frozenset():
            self.fixed[key] = (*self.fixed.get(key, ())[1 - self.KEEP:], (started, scope))

    def fixes(self, key: str, shown_at: int, field: str | None) -> bool:
        """Whether an event of this session that succeeded can have fixed the error made at
        `shown_at` about `field`: it started after the error, and it checked that field."""
        return any(started > shown_at and (scope is None or field in scope)
                   for started, scope in self.fixed.get(key, ()))

    def forget(self, key: str) -> None:
        self.notes.pop(key, None)
        self.fixed.pop(key, None)


WHERE = Where()
_CHECKED: contextvars.ContextVar[frozenset[str] | None] = contextvars.ContextVar(
    "gp_checked", default=None)  # the fields the event running in this context checked


def checked_only(*fields: str) -> None:
    """Said from inside an event that checks only some of what the page sends (a live edit from
    the page: the field that sent it), or nothing (a live edit with no run to apply it to): its
    success then clears only a sentence about those fields. Events overlap: the blur of an
    emptied field sends an edit just before the Train click it comes from, and that edit's
    success must not wipe Train's sentence about the field."""
    _CHECKED.set(frozenset(fields))


def _key(args: tuple, kwargs: dict) -> str | None:
    for value in (*args, *kwargs.values()):
        if isinstance(value, gr.Request):
            return getattr(value, "session_hash", None)
    return None


def on_errors(notice: str) -> Callable[[Callable], Callable]:
    """Turn the core's user errors into one-line toasts, and remember where they belong (the
    field they name, else `notice`). Works on plain, generator and async functions."""
    def remember(e: BaseException, args: tuple, kwargs: dict) -> gr.Error:
        key = _key(args, kwargs)
        message = e.message if isinstance(e, gr.Error) else str(e)
        if key is not None:
            WHERE.add(key, Note(html.unescape(str(message)), getattr(e, "field", None),
                                notice, WHERE.tick()))
        return e if isinstance(e, gr.Error) else error(str(e))

    def wrap(fn: Callable) -> Callable:
        if inspect.isasyncgenfunction(fn):
            @functools.wraps(fn)
            async def agen(*args: Any, **kwargs: Any) -> Any:
                started = WHERE.start()
                try:
                    async for item in fn(*args, **kwargs):
                        yield item
                except (gr.Error, *USER_ERRORS) as e:
                    raise remember(e, args, kwargs) from None
                WHERE.succeeded(_key(args, kwargs), started)
            return agen
        if inspect.iscoroutinefunction(fn):
            @functools.wraps(fn)
            async def coro(*args: Any, **kwargs: Any) -> Any:
                started = WHERE.start()
                try:
                    out = await fn(*args, **kwargs)
                except (gr.Error, *USER_ERRORS) as e:
                    raise remember(e, args, kwargs) from None
                WHERE.succeeded(_key(args, kwargs), started)
                return out
            return coro
        if inspect.isgeneratorfunction(fn):
            @functools.wraps(fn)
            def gen(*args: Any, **kwargs: Any) -> Any:
                started = WHERE.start()
                try:
                    yield from fn(*args, **kwargs)
                except (gr.Error, *USER_ERRORS) as e:
                    raise remember(e, args, kwargs) from None
                WHERE.succeeded(_key(args, kwargs), started)
            return gen

        @functools.wraps(fn)
        def plain(*args: Any, **kwargs: Any) -> Any:
            started = WHERE.start()
            try:
                out = fn(*args, **kwargs)
            except (gr.Error, *USER_ERRORS) as e:
                raise remember(e, args, kwargs) from None
            WHERE.succeeded(_key(args, kwargs), started)
            return out
        return plain
    return wrap


class ErrorSlots:
    """Where one tab shows error sentences: form fields (by name) and notice lines."""

    def __init__(self) -> None:
        self.fields: dict[str, tuple[gr.Component, str, Any]] = {}  # name -> (control, hint, box)
        self.aliases: dict[str, str] = {}  # a setting without a control of its own -> the one
        #                                   whose hint line shows its errors
        self.notices: dict[str, gr.Markdown] = {}
        self._shown: Recent = Recent()  # session -> (when, about which field) its sentence
        #                                 on this tab was made

    def field(self, name: str, control: gr.Component, hint: str, box: Any = None) -> None:
        """A form field whose hint line shows its error; `box`: an Accordion to open."""
        self.fields[name] = (control, hint, box)

    def notice(self, name: str, markdown: gr.Markdown) -> None:
        self.notices[name] = markdown

    @property
    def _boxes(self) -> list[Any]:
        seen: list[Any] = []
        for _, _, box in self.fields.values():
            if box is not None and all(box is not b for b in seen):
                seen.append(box)
        return seen

    @property
    def outputs(self) -> list[Any]:
        return ([c for c, _, _ in self.fields.values()] + self._boxes
                + list(self.notices.values()))

    def _updates(self, note: Note | None) -> list[Any]:
        target = None
        if note is not None:
            field = self.aliases.get(note.field, note.field)
            target = field if field in self.fields else None
        out: list[Any] = []
        for name, (_, hint, _) in self.fields.items():
            if name == target:
                out.append(gr.update(info=f"⚠️ {note.message}", elem_classes=["gp-invalid"]))
            else:
                out.append(gr.update(info=hint, elem_classes=[]))
        box_of_target = self.fields[target][2] if target else None
        out += [gr.update(open=True) if box is box_of_target else gr.skip()
                for box in self._boxes]
        for name in self.notices:
            shown = note is not None and target is None and name == note.notice
            out.append(f"⚠️ {html.escape(note.message)}" if shown else "")
        return out

    def clear_on(self, *triggers: Any) -> None:
        """Clear this tab's sentences as soon as one of `triggers` fires (e.g. `button.click`),
        before the event itself runs: a new attempt starts clean, and a stream that follows a
        run (it succeeds only when the run ends) does not leave an old sentence up meanwhile.
        Register this before the event's own listener, so that it goes first."""
        def clear(request: gr.Request) -> list[Any]:
            key = getattr(request, "session_hash", None) or ""
            if self._shown.pop(key, None) is None:
                return [gr.skip()] * len(self.outputs)
            return self._updates(None)

        for trigger in triggers:
            trigger(clear, inputs=None, outputs=self.outputs, show_progress="hidden",
                    queue=False, api_visibility="private")

    def wire(self, dependency: Any) -> Any:
        """Show a failed event's sentence where it belongs; clear old ones when it succeeds."""
        def failed(request: gr.Request) -> list[Any]:
            key = getattr(request, "session_hash", None) or ""
            note = WHERE.take(key)
            self._shown[key] = (note.at, note.field) if note is not None else (WHERE.tick(), None)
            return self._updates(note)

        def succeeded(request: gr.Request) -> list[Any]:
            key = getattr(request, "session_hash", None) or ""
            shown = self._shown.get(key)
            if shown is None or not WHERE.fixes(key, *shown):
                return [gr.skip()] * len(self.outputs)  # nothing shown, or newer than the
                #                                          attempt that succeeded: kept
            self._shown.pop(key, None)
            return self._updates(None)

        quiet = dict(outputs=self.outputs, show_progress="hidden", queue=False,
                     api_visibility="private")
        dependency.failure(failed, inputs=None, **quiet)
        dependency.success(succeeded, inputs=None, **quiet)
        return dependency
