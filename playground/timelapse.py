"""A run's timelapse: frames of its view over the whole run, thinned to fit MAX_FRAMES (the GIF
download and the autosave are made from them)."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from .frames import ViewFrame

MAX_FRAMES = 120  # timelapse frames kept; when full, every other frame is dropped


@dataclass
class Timelapse:
    """Frames of a run's view, thinned so that the whole run fits in MAX_FRAMES."""
    frames: list[ViewFrame] = field(default_factory=list)
    every: int = 1  # keep at most one frame per this many steps
    next_step: int = 0
    lock: Any = field(default_factory=threading.Lock, repr=False, compare=False)

    def due(self, step: int) -> bool:
        return step >= self.next_step and not (self.frames and self.frames[-1].step == step)

    def offer(self, view: ViewFrame) -> bool:
        """Keep `view` if a frame is due at its step."""
        with self.lock:
            if not self.due(view.step):
                return False
            self.frames.append(view)
            if len(self.frames) > MAX_FRAMES:  # halve the frame rate over the whole run
                self.frames = self.frames[::2]
                self.every *= 2
            self.next_step = view.step + self.every
            return True

    def restore(self, frames: list[ViewFrame]) -> None:
        """Start from frames saved with the run (a checkpoint, an autosave)."""
        with self.lock:
            self.frames = list(frames)[-MAX_FRAMES:]
            steps = [f.step for f in self.frames]
            gaps = [b - a for a, b in zip(steps, steps[1:])]
            self.every = max(1, min(gaps)) if gaps else 1
            self.next_step = (steps[-1] + self.every) if steps else 0

    def snapshot(self) -> list[ViewFrame]:
        with self.lock:
            return list(self.frames)
