"""Live edits of a `Trainer`: hyperparameters changed between steps, and undone.

`LiveEdits` is a mixin of `playground.train.Trainer`, which owns `config`, `G`, `ema`,
`opt_g`/`opt_d` (made by `_optimizer`), `step_count`, `history`, `changes`, `diverged` and the
state (`state_tensors`, `load_state_tensors`, `_snapshot`). `update` keeps every weight and, where
the optimiser kind is unchanged, its moments; `undo_edit` goes back one edit, with the model as it
was just before it (after a divergence, the run that trained well).
"""
from __future__ import annotations

import dataclasses
from typing import Any

import torch

from . import run_state, settings
from .config import RunConfig
from .models import EMA

UNDO_STATES = 2  # live edits whose "before" run is kept for undo_edit (a copy of its state each:
#                 budget.py counts them in a run's memory)
# Live edits allowed on a running model; the rest (seed, device, model shape, data) need a new run.
LIVE_FIELDS = settings.LIVE_FIELDS


class LiveEdits:
    """`update`, `check_update` and `undo_edit` of a `Trainer` (see the module docstring)."""

    def _init_edits(self) -> None:
        self.undo: list[dict[str, Any]] = []  # the values each live edit replaced, oldest first
        # The run just before each of the last UNDO_STATES live edits: undo index -> (step, how
        # many marks, state). Undoing an edit after a divergence brings it back (`undo_edit`).
        self._before_edit: dict[int, tuple[int, int, dict[str, torch.Tensor]]] = {}

    def update(self, **changes: Any) -> dict[str, Any]:
        """Change training hyperparameters between steps; returns the fields that changed.

        Weights always survive. Optimiser moments survive unless the optimiser kind changes
        (a new kind starts with fresh state). Raises ValueError for a bad value or a field
        that cannot change on a running model (seed, device, architecture, data).
        """
        old = self.tc
        config = self.check_update(**changes)
        new = config.train
        changed = {k: getattr(new, k) for k in changes if getattr(old, k) != getattr(new, k)}
        if not changed:
            return {}
        self.undo.append({k: getattr(old, k) for k in changed})
        index = len(self.undo) - 1
        self._before_edit.pop(index - UNDO_STATES, None)  # older ones: their settings only
        self._before_edit[index] = (self.step_count, len(self.changes),
                                    run_state.copy_into(None, self.state_tensors()))
        self._apply_settings(config, changed)
        self.changes.append((self.step_count, changed))
        return changed

    def undo_edit(self) -> tuple[dict[str, Any], int | None]:
        """Undo the most recent live edit (after a divergence: what led to it). Its settings come
        back, and so does the model as it was just before the edit when that is still kept (one
        of the last UNDO_STATES edits): the last finite state of a run that diverged has often
        been damaged by the bad setting already, and diverges again at once. Returns (the
        settings restored, the step the model went back to, or None if it stayed)."""
        if not self.undo:
            raise ValueError("no live edit to undo")
        index = len(self.undo) - 1
        previous = self.undo.pop()
        before = self._before_edit.pop(index, None)
        config = self.check_update(**previous)
        self._apply_settings(config, previous)  # first: the state's optimisers and EMA match
        if before is not None:
            step, marks, state = before
            self.load_state_tensors(state)
            self.step_count = step
            self.history = [r for r in self.history if r.step <= step]
            del self.changes[marks:]  # the edits from then on (this one too) are undone
            self.diverged = False
            self._snapshot()
        self.changes.append((self.step_count, dict(previous)))
        return previous, before[0] if before is not None else None

    def _apply_settings(self, config: RunConfig, changed: dict[str, Any]) -> None:
        """Make `config` the run's, rebuilding or retuning what `changed` touches."""
        new = config.train
        self.config = config
        for who, opt_name, lr_name in (("g", "g_optimizer", "g_lr"), ("d", "d_optimizer", "d_lr")):
            if opt_name in changed:
                setattr(self, f"opt_{who}", self._optimizer(who))
                continue
            opt = getattr(self, f"opt_{who}")
            for group in opt.param_groups:
                group["lr"] = getattr(new, lr_name)
                if "betas" in group:
                    group["betas"] = (new.beta1, new.beta2)
        if "ema_decay" in changed:
            if new.ema_decay == 0:
                self.ema = None
            elif self.ema is None:
                self.ema = EMA(self.G, new.ema_decay)
            else:
                self.ema.decay = new.ema_decay

    def check_update(self, **changes: Any) -> RunConfig:
        """The config `update(**changes)` would give (every value checked), changing nothing."""
        frozen = sorted(set(changes) - set(LIVE_FIELDS))
        if frozen:
            raise settings.SettingError(frozen[0], f"{', '.join(frozen)} cannot change on a "
                                        "running model: press Reset (or start a new run) to "
                                        "use a new value")
        new = dataclasses.replace(self.tc, **changes)  # validates and normalises every field
        return dataclasses.replace(self.config, train=new)  # validates batch vs pack
