"""Where each row of an EBSD table lies: the square scan grid from the x, y columns and the header.

Text formats (``.ang``, ``.ctf``) store one row per measured point with its coordinates, and
a header that describes the grid (rows, columns, steps). Rows may come in any order and the
header may describe another grid than the rows (an exported subsample keeps the original
header). :func:`place_rows` trusts the coordinates when they form a complete grid, warns
once when the header disagrees, and refuses only when neither describes a complete grid.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ..errors import MalformedFileError

#: Relative tolerance between two steps that count as equal.
_STEP_RTOL = 1e-3
#: Largest distance of a coordinate from its grid line, as a fraction of the step.
_OFF_GRID = 0.1


@dataclass(frozen=True)
class HeaderGrid:
    """The grid a header declares; any field may be missing (None).

    Attributes
    ----------
    rows, columns : int or None
        Pixels along y and x.
    dy, dx : float or None
        Steps in the file's unit (usually um).
    """

    rows: int | None = None
    columns: int | None = None
    dy: float | None = None
    dx: float | None = None

    @property
    def size(self) -> int | None:
        return None if self.rows is None or self.columns is None else self.rows * self.columns

    def describe(self) -> str:
        grid = f"{self.rows} x {self.columns} pixels" if self.size is not None else "no grid size"
        steps = [s for s in (self.dy, self.dx) if s is not None]
        return grid + (f" at {_format_steps(self.dy, self.dx)}" if steps else "")


@dataclass(frozen=True)
class Placement:
    """Rows of a table placed on a grid.

    Attributes
    ----------
    shape : (int, int)
        ``(H, W)`` pixels.
    step : (float, float)
        ``(dy, dx)`` in the file's unit.
    flat_index : ndarray of int, shape (n,)
        Row-major pixel index of each table row (a permutation of ``range(H * W)``).
    """

    shape: tuple
    step: tuple
    flat_index: np.ndarray


def place_rows(path, x, y, header: HeaderGrid) -> Placement:
    """Place the rows of a table with coordinates ``x``, ``y`` (shape (n,)) on a square grid.

    1. The coordinates form a complete grid (every pixel exactly once, on evenly spaced
       lines): the rows are placed by their coordinates, the step comes from them, and a
       header that describes another grid gets one warning. One exception: rows that cover
       only part of the header's grid, at the header's step, are a truncated file.
    2. Otherwise, when the header's rows x columns equals the number of rows, the rows are
       placed in file order (row-major) with one warning.
    3. Otherwise :class:`MalformedFileError`.
    """
    n = len(x)
    coordinates, problem = _coordinate_grid(x, y)
    if coordinates is not None:
        shape, step, flat = coordinates
        step = (step[0] or header.dy or step[1] or 1.0, step[1] or header.dx or step[0] or 1.0)
        if _truncated(shape, step, header):
            raise MalformedFileError(path, f"truncated data: the header describes {header.size} pixels "
                                           f"({header.rows} x {header.columns}), the rows cover only "
                                           f"{shape[0]} x {shape[1]} of them")
        if _disagrees(shape, step, header):
            warnings.warn(f"{path}: the header describes {header.describe()}, the x, y columns "
                          f"{shape[0]} x {shape[1]} pixels at {_format_steps(*step)}; using the coordinates",
                          stacklevel=3)
        return Placement(shape, step, flat)
    if header.size == n:
        warnings.warn(f"{path}: the x, y columns do not form a complete grid ({problem}); rows placed in file "
                      f"order on the header's {header.rows} x {header.columns} grid", stacklevel=3)
        return Placement((header.rows, header.columns), (header.dy or header.dx or 1.0, header.dx or header.dy or 1.0),
                         np.arange(n))
    declared = f"the header describes {header.size} pixels" if header.size is not None else "the header has no grid"
    raise MalformedFileError(path, f"truncated or inconsistent data: {declared}, the file holds {n}, and the x, y "
                                   f"columns do not form a complete grid ({problem})")


def _coordinate_grid(x, y):
    """``((H, W), (dy, dx), flat_index), None`` when ``x``, ``y`` form a complete grid
    (a step is None along an axis of one pixel), else ``None, reason``."""
    ys, xs = _regular_axis(y), _regular_axis(x)
    if ys is None or xs is None:
        return None, f"{'y' if ys is None else 'x'} values are not evenly spaced"
    (h, dy, row), (w, dx, col) = ys, xs
    flat = row * w + col
    if h * w != len(x) or np.bincount(flat, minlength=h * w).max() != 1:
        return None, f"{len(x)} rows for {h} x {w} positions, some repeated or missing"
    return ((h, w), (dy, dx), flat), None


def _regular_axis(values):
    """``(count, step, index)`` of coordinates that lie on evenly spaced lines, or None.

    Values closer than a millionth of the span are one line; ``step`` is None for one line."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    span = ordered[-1] - ordered[0]
    new_line = np.diff(ordered) > 1e-6 * span
    line = np.concatenate([[0], np.cumsum(new_line)])
    count = int(line[-1]) + 1
    index = np.empty(len(values), dtype=np.int64)
    index[order] = line
    if count == 1:
        return 1, None, index
    step = span / (count - 1)
    firsts = ordered[np.concatenate([[0], np.nonzero(new_line)[0] + 1])]
    if np.max(np.abs(firsts - ordered[0] - step * np.arange(count))) > _OFF_GRID * step:
        return None
    return count, float(step), index


def _same_step(a, b) -> bool:
    return a is None or b is None or abs(a - b) <= _STEP_RTOL * max(abs(a), abs(b))


def _truncated(shape, step, header: HeaderGrid) -> bool:
    """The rows cover only part of the header's grid, at its step (a truncated file)."""
    return (header.size is not None and shape[0] <= header.rows and shape[1] <= header.columns
            and shape != (header.rows, header.columns)
            and _same_step(step[0], header.dy) and _same_step(step[1], header.dx))


def _disagrees(shape, step, header: HeaderGrid) -> bool:
    declared = (header.rows, header.columns, header.dy, header.dx)
    found = (*shape, *step)
    return any(d is not None and not (_same_step(d, f) if isinstance(d, float) else d == f)
               for d, f in zip(declared, found))


def _format_steps(dy, dx) -> str:
    if dy is None or dx is None or _same_step(dy, dx):
        return f"step {dy if dx is None else dx:g}"
    return f"steps {dy:g} (y), {dx:g} (x)"
