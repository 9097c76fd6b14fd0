"""What the user sees while a command runs: on a terminal, a progress bar per stage that
is replaced by its summary line; elsewhere (logs, CI, pipes) only the summary lines.
-q keeps warnings and errors only; -v adds details."""

from __future__ import annotations

import sys
import time
from typing import TextIO

QUIET, NORMAL, VERBOSE = 0, 1, 2
BAR_WIDTH = 28
REDRAW_SECONDS = 0.1


class Progress:
    def __init__(
        self, stream: TextIO | None = None, verbosity: int = NORMAL, tty: bool | None = None
    ):
        self.stream = stream or sys.stdout
        self.verbosity = verbosity
        self.tty = self.stream.isatty() if tty is None else tty
        self._label = ""
        self._drawn = 0.0
        self._open = False

    def stage_done(self, name: str, seconds: float, detail: str) -> None:
        """The summary line of a finished stage: counts and time."""
        self._clear()
        if self.verbosity >= NORMAL:
            self._write(f"{name:<8} {seconds * 1000:7.0f} ms  {detail}\n")

    def detail(self, line: str) -> None:
        if self.verbosity >= VERBOSE:
            self._clear()
            self._write(f"  {line}\n")

    def advance(self, label: str, done: int, total: int) -> None:
        """Redraw the bar for `label` (at most ten times a second, and only on a terminal)."""
        if not self.tty or self.verbosity < NORMAL or total <= 0:
            return
        now = time.monotonic()
        if done < total and label == self._label and now - self._drawn < REDRAW_SECONDS:
            return
        self._label, self._drawn = label, now
        filled = BAR_WIDTH * done // total
        bar = "█" * filled + "·" * (BAR_WIDTH - filled)
        self._write(f"\r{label:<8} {bar} {done}/{total}")
        self._open = True

    def _clear(self) -> None:
        if self._open:
            self._write("\r\033[K")
            self._open = False

    def _write(self, text: str) -> None:
        """Show text at once. A reader that has gone (`labdigest build | head`) ends the
        output, not the work: the command goes on in silence."""
        try:
            self.stream.write(text)
            self.stream.flush()
        except BrokenPipeError:
            self.verbosity = QUIET
            self.tty = False


SILENT = Progress(verbosity=QUIET, tty=False)
