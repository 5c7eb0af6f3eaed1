"""EDAX/TSL ``.ang`` and Oxford ``.ctf`` files: text tables with one row per measured point.

orix parses the phase descriptions of the header (names, point groups, lattices) and turns
Euler angles into rotations as its own readers do; this module reads the rows itself, so
that every damaged file ends in an :class:`~mcrpy_poly.errors.EBSDReadError` that names the
file, the line and the problem, decimal commas (European-locale Oxford files) read exactly
like dots, and every row is placed by its x, y (:mod:`.scan_grid`), whatever the row order.
"""
from __future__ import annotations

import contextlib
import io
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import MalformedFileError, UnsupportedSymmetryError, first_line
from .scan_grid import HeaderGrid, place_rows

#: A decimal comma between two digits (``0,5000``).
_DECIMAL_COMMA = re.compile(r"(?<=\d),(?=\d)")
#: Lines named in a message about bad rows.
_SHOWN_LINES = 5


@dataclass(frozen=True)
class _Layout:
    """Where a format keeps its columns and its header values."""

    euler: tuple          # columns of the three Bunge Euler angles
    x: int
    y: int
    phase: int
    degrees: bool         # Euler angles in degrees (else radians)
    grid_keys: dict       # header key -> HeaderGrid field


_ANG = _Layout(euler=(0, 1, 2), x=3, y=4, phase=7, degrees=False,
               grid_keys={"NROWS": "rows", "NCOLS_ODD": "columns", "YSTEP": "dy", "XSTEP": "dx"})
_CTF = _Layout(euler=(5, 6, 7), x=1, y=2, phase=0, degrees=True,
               grid_keys={"YCells": "rows", "XCells": "columns", "YStep": "dy", "XStep": "dx"})


def read_text_map(path: Path):
    """Read an ``.ang`` or ``.ctf`` file.

    Returns
    -------
    xmap : orix.crystal_map.CrystalMap
        The rows in row-major grid order on exact coordinates; not indexed pixels have
        phase id -1.
    shape : (int, int)
        ``(H, W)`` pixels.
    step : (float, float)
        ``(dy, dx)`` in the file's unit (usually um), from the coordinates.

    Raises
    ------
    MalformedFileError, UnsupportedSymmetryError
    """
    ang = path.suffix.lower() == ".ang"
    layout = _ANG if ang else _CTF
    lines = _read_lines(path)
    header, first = _split_ang(lines) if ang else _split_ctf(path, lines)
    header = [_DECIMAL_COMMA.sub(".", line) for line in header]
    if ang and any(re.match(r"#\s*GRID:\s*HexGrid", line, re.IGNORECASE) for line in header):
        raise MalformedFileError(path, "hexagonal grid (GRID: HexGrid): only square grids are read; resample it to "
                                       "a square grid first (MTEX, OIM Analysis or EBSDLib)")
    needed = max(*layout.euler, layout.x, layout.y, layout.phase) + 1
    table, line_numbers = _read_rows(path, lines, first, needed)
    x, y = table[:, layout.x], table[:, layout.y]
    phase_id = table[:, layout.phase]
    _check_finite(path, np.column_stack([x, y, phase_id]), line_numbers, "x, y or phase")
    if np.any(phase_id != np.round(phase_id)):
        bad = line_numbers[phase_id != np.round(phase_id)]
        raise MalformedFileError(path, f"phase ids that are not whole numbers on {_lines(bad)}")
    phase_id = phase_id.astype(np.int64)
    ci = _ang_confidence_column(header, table.shape[1]) if ang else None
    if ci is not None:
        phase_id[table[:, ci] == -1] = -1  # EDAX marks points that are not indexed by CI = -1
    if not ang:
        phase_id[phase_id == 0] = -1  # Oxford: phase 0 is not indexed
    euler = table[:, layout.euler]
    indexed = phase_id >= 0
    _check_finite(path, euler[indexed], line_numbers[indexed], "Euler angle")
    euler[~indexed] = 0.0
    placement = place_rows(path, x, y, _header_grid(path, header, layout))
    # Only now orix (a few seconds to import): the phase table and the rotations.
    from orix.crystal_map import CrystalMap
    from orix.quaternion import Rotation

    phases = _ang_phases(path, header) if ang else _ctf_phases(path, header)
    order = np.empty_like(placement.flat_index)
    order[placement.flat_index] = np.arange(len(order))
    h, w = placement.shape
    dy, dx = placement.step
    rows, cols = np.divmod(np.arange(h * w), w)
    rotations = Rotation.from_euler(euler[order], degrees=layout.degrees)
    xmap = CrystalMap(rotations, phase_id=phase_id[order], x=cols * dx, y=rows * dy, phase_list=phases,
                      scan_unit="um")
    return xmap, placement.shape, placement.step


def _read_lines(path: Path) -> list:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")  # a header written by an old Windows tool; rows are ASCII anyway
    return text.splitlines()


def _split_ang(lines):
    """Header lines (``#``) and the index of the first data line."""
    first = 0
    while first < len(lines) and lines[first].startswith("#"):
        first += 1
    return lines[:first], first


def _split_ctf(path, lines):
    for index, line in enumerate(lines):
        if re.match(r"Phase\s+X\s+Y\b", line):
            return lines[:index], index + 1
    raise MalformedFileError(path, "no data table: no column line 'Phase X Y ...' (not an Oxford .ctf file?)")


def _read_rows(path, lines, first: int, n_columns_needed: int):
    """``(table (n, columns) float, line numbers (n,))`` of the non-empty lines from ``first``.

    NumPy's C parser reads the rows (millions of them in seconds); only when it fails are
    single lines looked at, to name the first bad one."""
    rows = lines[first:]
    if "," in "".join(rows):
        rows = [row.replace(",", ".") for row in rows]  # decimal commas; no format separates fields by commas
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "input contained no data": reported below
            table = np.loadtxt(rows, ndmin=2, comments=None)  # skips blank lines
    except ValueError:
        numbers = _line_numbers(rows, first)
        raise MalformedFileError(path, _first_bad_row([rows[i - first - 1] for i in numbers], numbers)) from None
    if table.shape[0] == 0:
        raise MalformedFileError(path, "no data rows after the header")
    numbers = np.arange(first + 1, first + 1 + len(rows)) if len(table) == len(rows) else _line_numbers(rows, first)
    if table.shape[1] < n_columns_needed:
        raise MalformedFileError(path, f"{table.shape[1]} columns per row; an EBSD table needs at least "
                                       f"{n_columns_needed}")
    return table, numbers


def _line_numbers(rows, first: int) -> np.ndarray:
    """File line numbers (from 1) of the rows that are not blank."""
    return np.array([first + 1 + i for i, row in enumerate(rows) if row.strip()], dtype=np.int64)


def _first_bad_row(rows, numbers) -> str:
    """What is wrong with the rows NumPy could not read: rows of another length, or a value
    that is not a number."""
    counts = np.array([len(row.split()) for row in rows])
    n_columns = int(np.bincount(counts).argmax())
    if np.any(counts != n_columns):
        return (f"rows of another length than the {n_columns} values of the others (truncated or damaged) on "
                f"{_lines(numbers[counts != n_columns])}")
    for row, number in zip(rows, numbers):
        for token in row.split():
            try:
                float(token)
            except ValueError:
                return f"a value that is not a number on line {number} ({token[:20]!r})"
    return "rows NumPy cannot read as numbers"


def _check_finite(path, values, line_numbers, what: str) -> None:
    bad = ~np.all(np.isfinite(values), axis=-1)
    if np.any(bad):
        raise MalformedFileError(path, f"NaN or infinite {what} values on {_lines(line_numbers[bad])}")


def _lines(numbers) -> str:
    shown = ", ".join(str(int(n)) for n in numbers[:_SHOWN_LINES])
    more = f" and {len(numbers) - _SHOWN_LINES} more" if len(numbers) > _SHOWN_LINES else ""
    return f"line{'s' if len(numbers) > 1 else ''} {shown}{more}"


def _header_grid(path, header, layout: _Layout) -> HeaderGrid:
    """The grid the header declares; a value that is not a number is ignored with a warning."""
    fields = {}
    for line in header:
        for key, field in layout.grid_keys.items():
            m = re.match(r"#?\s*" + key + r"\b[:\s]\s*(\S*)", line)
            if m is None:
                continue
            kind = int if field in ("rows", "columns") else float
            try:
                value = kind(m.group(1))
            except ValueError:
                warnings.warn(f"{path}: header line {line.strip()!r} is not a number; ignored", stacklevel=4)
                continue
            if value > 0 and np.isfinite(value):
                fields[field] = value
    return HeaderGrid(**fields)


def _ang_confidence_column(header, n_columns: int):
    """Column of the confidence index in an EDAX/TSL or orix ``.ang`` (orix's vendor rule), or None."""
    text = "\n".join(header)
    if "EMsoft" in text or "ACOM" in text:
        return None
    return 6 if "Column names: phi1, Phi, phi2" in text or n_columns in (10, 14) else None


def _ang_phases(path, header):
    """orix ``PhaseList`` of an ``.ang`` header."""
    from orix.io.plugins import ang

    try:
        phases, formulas = ang._get_phases_from_header(header)
    except (ValueError, IndexError, KeyError, TypeError) as exc:
        raise MalformedFileError(path, f"malformed phase description in the header ({first_line(exc)})") from None
    phase_list = _phase_list(path, phases)
    with contextlib.redirect_stdout(io.StringIO()):  # orix prints the renaming
        if phase_list.size:
            ang._autogen_phase_names(phase_list, formulas, phases["ids"])
    return phase_list


def _ctf_phases(path, header):
    """orix ``PhaseList`` of a ``.ctf`` header."""
    from orix.io.plugins import ctf

    try:
        phases = ctf._get_phases_from_header(header)
    except KeyError as exc:
        raise UnsupportedSymmetryError(path, f"unknown Laue group {exc} in the phase table; Oxford numbers "
                                             "them 1 to 11") from None
    except (ValueError, IndexError, TypeError, UnboundLocalError) as exc:
        raise MalformedFileError(path, f"malformed phase table in the header ({first_line(exc)})") from None
    return _phase_list(path, phases)


def _phase_list(path, phases: dict):
    """orix ``PhaseList`` of the phases parsed from a header (the lattice constants are consumed)."""
    from diffpy.structure import Lattice, Structure
    from orix.crystal_map import PhaseList
    from orix.quaternion.symmetry import _groups

    for point_group in phases["point_groups"]:
        try:
            PhaseList(point_groups=[point_group])
        except ValueError:
            names = ", ".join(g.name for g in _groups)
            raise UnsupportedSymmetryError(path, f"unsupported crystal symmetry {point_group!r} in the header; "
                                                 f"known: EDAX numbers or the point groups {names}") from None
    try:
        phases["structures"] = [Structure(title=name, lattice=Lattice(*abc))
                                for name, abc in zip(phases["names"], phases.pop("lattice_constants"))]
        return PhaseList(**phases)
    except (ValueError, IndexError, KeyError, TypeError) as exc:
        raise MalformedFileError(path, f"malformed phase description in the header ({first_line(exc)})") from None
