"""Stages of a command on stderr: what runs now, the time so far and the time left overall.

Lines go through ``tqdm.write``, so they do not break a progress bar that is running::

    reconstruct-poly: [1/4] load: ebsd.ang, 64 x 64 pixels, 432 (3.2 s)
    reconstruct-poly: [2/4] characterize ebsd.ang (9 SHSH functions; 3.3 s so far)
    reconstruct-poly: [3/4] reconstruct 64 x 64, 200 evaluations (8.0 s so far)
    reconstruct-poly: about 21 s left in all
    reconstruct-poly: [4/4] write the outputs and the report (24.5 s so far, about 5 s left)
    reconstruct-poly: done in 29.1 s
"""
from __future__ import annotations

import sys
import time

#: Fractions of an optimisation after which the time left in all is printed.
_REPORT_AT = (0.1, 0.5)


class StageProgress:
    """Numbered stage lines with an overall estimate of the time left.

    Parameters
    ----------
    prog : str
        Command name that starts every line.
    stages : sequence of str
        Stage names, in order.
    enabled : bool
        Print nothing when False (``--quiet``).
    started : float, optional
        ``time.perf_counter()`` at the start of the command (default: now).

    The time left is the sum of the expected durations of the stages still to run, given by
    :meth:`expect` or measured by :meth:`advance`; it is printed once every remaining stage
    has one.
    """

    def __init__(self, prog: str, stages, enabled: bool = True, started: float | None = None):
        self.prog, self.stages, self.enabled = prog, list(stages), enabled
        self.started = time.perf_counter() if started is None else started
        self.expected = {}
        self.current, self.current_started = None, self.started
        self._reported = set()

    def start(self, stage: str, detail: str = "") -> None:
        """Begin ``stage`` (a name given at construction): one line saying what it does."""
        self.current, self.current_started = stage, time.perf_counter()
        left = self._left()
        self._say(f"[{self.stages.index(stage) + 1}/{len(self.stages)}] {stage}{': ' + detail if detail else ''} "
                  f"({self._elapsed():.1f} s so far{'' if left is None else f', about {left:.0f} s left'})")

    def finished(self, stage: str, detail: str = "") -> None:
        """Report a stage that has already run (the checks before the first line)."""
        self.current = stage
        self._say(f"[{self.stages.index(stage) + 1}/{len(self.stages)}] {stage}{': ' + detail if detail else ''} "
                  f"({self._elapsed():.1f} s)")

    def expect(self, stage: str, seconds: float) -> None:
        """Expected duration of a stage still to run."""
        self.expected[stage] = float(seconds)

    def advance(self, done: int, total: int) -> None:
        """``done`` of ``total`` steps of the current stage are done: its expected duration
        follows from the rate so far; the time left in all is printed at 10 % and 50 %."""
        if done <= 0 or total <= 0:
            return
        spent = time.perf_counter() - self.current_started
        self.expected[self.current] = spent * total / done
        for fraction in _REPORT_AT:
            if done / total >= fraction and fraction not in self._reported:
                self._reported.add(fraction)
                left = self._left()
                if left is not None:
                    self._say(f"about {left:.0f} s left in all")

    def done(self) -> None:
        self._say(f"done in {self._elapsed():.1f} s")

    def _elapsed(self) -> float:
        return time.perf_counter() - self.started

    def _left(self) -> float | None:
        """Seconds left in all, or None while a remaining stage has no expected duration."""
        remaining = self.stages[self.stages.index(self.current):]
        if any(stage not in self.expected for stage in remaining):
            return None
        seconds = sum(self.expected[stage] for stage in remaining[1:])
        return seconds + max(0.0, self.expected[self.current] - (time.perf_counter() - self.current_started))

    def _say(self, text: str) -> None:
        if self.enabled:
            from tqdm.auto import tqdm

            tqdm.write(f"{self.prog}: {text}", file=sys.stderr)
