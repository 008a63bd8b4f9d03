"""User errors in the page: one clear sentence next to the control that caused it, and a toast.

An event that refuses something raises `gr.Error` (a toast in the page, an exception for API
clients) and changes nothing: its outputs keep what they showed, because every event runs with
`show_progress="hidden"` (no red "Error" badge on each output). `on_errors` remembers, per
session, which control the error is about: the form field a `SettingError` or `LimitError`
names, else the event's own notice line (next to its buttons). `ErrorSlots.wire` then chains a
`.failure` listener that writes the sentence there (a field's hint line turns into the message,
its accordion opens) and a `.success` listener that clears it again.
"""
from __future__ import annotations

import functools
import html
import inspect
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


class Where:
    """Who the last error belongs to, per session; set by `on_errors`, read by `ErrorSlots`."""

    def __init__(self) -> None:
        self.notes: dict[str, Note] = {}

    def take(self, key: str) -> Note | None:
        return self.notes.pop(key, None)

    def forget(self, key: str) -> None:
        self.notes.pop(key, None)


WHERE = Where()


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
            WHERE.notes[key] = Note(html.unescape(str(message)), getattr(e, "field", None),
                                    notice)
        return e if isinstance(e, gr.Error) else error(str(e))

    def wrap(fn: Callable) -> Callable:
        if inspect.isasyncgenfunction(fn):
            @functools.wraps(fn)
            async def agen(*args: Any, **kwargs: Any) -> Any:
                try:
                    async for item in fn(*args, **kwargs):
                        yield item
                except (gr.Error, *USER_ERRORS) as e:
                    raise remember(e, args, kwargs) from None
            return agen
        if inspect.iscoroutinefunction(fn):
            @functools.wraps(fn)
            async def coro(*args: Any, **kwargs: Any) -> Any:
                try:
                    return await fn(*args, **kwargs)
                except (gr.Error, *USER_ERRORS) as e:
                    raise remember(e, args, kwargs) from None
            return coro
        if inspect.isgeneratorfunction(fn):
            @functools.wraps(fn)
            def gen(*args: Any, **kwargs: Any) -> Any:
                try:
                    yield from fn(*args, **kwargs)
                except (gr.Error, *USER_ERRORS) as e:
                    raise remember(e, args, kwargs) from None
            return gen

        @functools.wraps(fn)
        def plain(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except (gr.Error, *USER_ERRORS) as e:
                raise remember(e, args, kwargs) from None
        return plain
    return wrap


class ErrorSlots:
    """Where one tab shows error sentences: form fields (by name) and notice lines."""

    def __init__(self) -> None:
        self.fields: dict[str, tuple[gr.Component, str, Any]] = {}  # name -> (control, hint, box)
        self.aliases: dict[str, str] = {}  # a setting without a control of its own -> the one
        #                                   whose hint line shows its errors
        self.notices: dict[str, gr.Markdown] = {}
        self._shown: set[str] = set()  # sessions with one of this tab's sentences on the page

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
            if key not in self._shown:
                return [gr.skip()] * len(self.outputs)
            self._shown.discard(key)
            return self._updates(None)

        for trigger in triggers:
            trigger(clear, inputs=None, outputs=self.outputs, show_progress="hidden",
                    queue=False, api_visibility="private")

    def wire(self, dependency: Any) -> Any:
        """Show a failed event's sentence where it belongs; clear old ones when it succeeds."""
        def failed(request: gr.Request) -> list[Any]:
            key = getattr(request, "session_hash", None) or ""
            self._shown.add(key)
            return self._updates(WHERE.take(key))

        def succeeded(request: gr.Request) -> list[Any]:
            key = getattr(request, "session_hash", None) or ""
            if key not in self._shown:
                return [gr.skip()] * len(self.outputs)  # nothing shown: nothing to clear
            self._shown.discard(key)
            return self._updates(None)

        quiet = dict(outputs=self.outputs, show_progress="hidden", queue=False,
                     api_visibility="private")
        dependency.failure(failed, inputs=None, **quiet)
        dependency.success(succeeded, inputs=None, **quiet)
        return dependency
