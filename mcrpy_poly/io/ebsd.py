"""EBSD files in and out: EDAX/TSL ``.ang``, Oxford ``.ctf`` and the HDF5 formats orix reads.

Text files are read by :mod:`.ebsd_text` (rows placed by their coordinates), HDF5 files by
orix; this module selects one phase and turns every failure into an
:class:`~mcrpy_poly.errors.EBSDReadError` subclass that names the file and the problem.
"""
from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path

import numpy as np

from ..atomic import atomic_path
from ..errors import (
    EBSDFileNotFoundError,
    InputError,
    MalformedFileError,
    NoIndexedPixelsError,
    PhaseSelectionError,
    SymmetryError,
    UnsupportedFormatError,
    UnsupportedSymmetryError,
    first_line,
)
from ..orientation.orientation_map import OrientationMap
from .ebsd_text import read_text_map

#: File extensions and the format each stands for.
SUPPORTED_EXTENSIONS = {
    ".ang": "EDAX/TSL ANG", ".ctf": "Oxford CTF", ".h5": "HDF5 (orix, EMsoft or Bruker h5ebsd)",
    ".hdf5": "HDF5 (orix, EMsoft or Bruker h5ebsd)", ".h5ebsd": "h5ebsd (EMsoft or Bruker)",
}


def load_ebsd(path, phase=None, fill_unindexed: bool = False) -> OrientationMap:
    """Read one phase of an EBSD map into an :class:`OrientationMap`.

    Parameters
    ----------
    path : str or Path
        ``.ang``, ``.ctf``, ``.h5``/``.hdf5``/``.h5ebsd``.
    phase : int or str, optional
        Phase id, full phase name (``"austenite/austenite"``) or material name (the part
        before ``/``, ``"austenite"``). Required when the file holds several phases.
    fill_unindexed : bool
        Give every pixel that is not indexed as this phase the orientation of its nearest
        indexed pixel (see :meth:`OrientationMap.fill_unindexed`). The original mask is
        lost in the returned map; the count is in the log message.

    Returns
    -------
    OrientationMap
        Quaternions ``(H, W, 4)`` in orix convention, ``indexed`` marks the pixels of the
        selected phase, ``step`` is ``(dy, dx)`` in the file's unit (usually um).

    Raises
    ------
    EBSDFileNotFoundError, UnsupportedFormatError, MalformedFileError,
    UnsupportedSymmetryError, PhaseSelectionError, NoIndexedPixelsError
    """
    path = Path(path)
    if not path.is_file():
        raise EBSDFileNotFoundError(path, "no such file")
    ext = path.suffix.lower()
    if ext not in SUPPORTED_EXTENSIONS:
        supported = ", ".join(f"{e} ({d})" for e, d in SUPPORTED_EXTENSIONS.items())
        raise UnsupportedFormatError(path, f"unknown extension {ext!r}; supported: {supported}")
    xmap, shape, steps = read_text_map(path) if ext in (".ang", ".ctf") else _read_hdf5(path)
    phase_id, name, point_group = _select_phase(path, xmap, phase)
    if len(shape) != 2 or int(np.prod(shape)) != xmap.size:
        raise MalformedFileError(path, f"cannot arrange {xmap.size} pixels on the grid {shape}")
    quaternions = np.asarray(xmap.rotations.data, dtype=float).reshape(shape + (4,))
    indexed = (np.asarray(xmap.phase_id) == phase_id).reshape(shape)
    if not indexed.any():
        raise NoIndexedPixelsError(path, f"no pixel is indexed as phase {name!r}")
    quaternions[~indexed] = (1.0, 0.0, 0.0, 0.0)
    omap = OrientationMap(quaternions, point_group, indexed=indexed, phase_name=name, step=steps, source=str(path))
    n_missing = omap.indexed.size - omap.n_indexed
    if n_missing:
        warnings.warn(f"{path}: {n_missing} of {omap.indexed.size} pixels ({n_missing / omap.indexed.size:.1%}) are "
                      f"not indexed as {name!r}" + ("; filled from the nearest indexed pixel" if fill_unindexed else
                                                    "; pass fill_unindexed=True to fill them"), stacklevel=2)
    return omap.fill_unindexed() if fill_unindexed else omap


def _read_hdf5(path: Path):
    """orix ``CrystalMap``, its grid shape and ``(dy, dx)`` of an HDF5 file."""
    from orix import io as orix_io

    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            xmap = orix_io.load(str(path))
    except ValueError as exc:
        if "valid point group" in str(exc):
            raise UnsupportedSymmetryError(path, f"unsupported crystal symmetry ({first_line(exc)})") from None
        raise MalformedFileError(path, f"cannot parse the file ({first_line(exc)})") from None
    except (IndexError, KeyError, TypeError, OSError, UnicodeDecodeError) as exc:
        raise MalformedFileError(path, f"malformed file ({type(exc).__name__}: {first_line(exc)})") from None
    return xmap, tuple(int(s) for s in xmap.shape), tuple(float(getattr(xmap, a, 1.0) or 1.0) for a in ("dy", "dx"))


def _select_phase(path: Path, xmap, phase):
    """(phase id, name, orix point group) of the phase to load."""
    phases = [(int(i), p) for i, p in xmap.phases if int(i) >= 0]
    present = set(int(i) for i in np.unique(xmap.phase_id))
    listing = ", ".join(f"{i}: {p.name!r}" for i, p in phases)
    if not phases or not present - {-1}:
        raise NoIndexedPixelsError(path, "no indexed pixels")
    if phase is None:
        in_data = [(i, p) for i, p in phases if i in present]
        if len(in_data) > 1:
            raise PhaseSelectionError(path, f"the map holds {len(in_data)} phases; choose one with phase= "
                                            f"(id or name): {listing}")
        chosen = in_data[0]
    else:
        matches = [(i, p) for i, p in phases
                   if str(phase) == str(i)
                   or str(phase).lower() in (p.name.lower(), p.name.split("/")[0].lower())]
        if not matches:
            raise PhaseSelectionError(path, f"no phase {phase!r} in the file; phases: {listing}")
        chosen = matches[0]
    i, p = chosen
    if p.point_group is None:
        raise UnsupportedSymmetryError(path, f"phase {p.name!r} has no crystal symmetry")
    return i, p.name, p.point_group


def load_quaternion_array(path, symmetry, convention: str = "orix") -> OrientationMap:
    """Read an ``.npy`` array of quaternions ``(H, W[, D], 4)`` (no pickles).

    Parameters
    ----------
    symmetry : str or orix Symmetry
        Crystal point group of the map (the array carries none).
    convention : {"orix", "mcrpy"}
        ``"mcrpy"`` for MCRpy's active convention (Rowenhorst P = -1, symmetry on the
        right), which is the conjugate of orix's.
    """
    path = Path(path)
    if not path.is_file():
        raise EBSDFileNotFoundError(path, "no such file")
    try:
        q = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise MalformedFileError(path, f"not a numeric .npy array ({first_line(exc)})") from None
    if q.ndim not in (3, 4) or q.shape[-1] != 4:
        raise MalformedFileError(path, f"expected quaternions of shape (H, W[, D], 4), got {q.shape}")
    if convention not in ("orix", "mcrpy"):
        raise InputError(f"unknown quaternion convention {convention!r}; use 'orix' or 'mcrpy'")
    if convention == "mcrpy":
        q = q * np.array([1.0, -1.0, -1.0, -1.0])
    try:
        return OrientationMap(q, symmetry, source=str(path))
    except SymmetryError:
        raise
    except InputError as exc:
        raise MalformedFileError(path, str(exc)) from None


def save_ang(path, omap: OrientationMap) -> Path:
    """Write a 2D map as an EDAX/TSL ``.ang`` file that orix reads back (to about 1e-3 deg).

    Non-indexed pixels are written as not indexed. The file appears atomically.
    """
    from orix import io as orix_io
    from orix.crystal_map import CrystalMap, PhaseList
    from orix.quaternion import Rotation

    if omap.ndim != 2:
        raise InputError(f".ang holds 2D maps only; this map has shape {omap.shape}")
    h, w = omap.shape
    dy, dx = omap.step
    rows, cols = np.mgrid[0:h, 0:w]
    phase_id = np.where(omap.indexed.ravel(), 1, -1)
    phases = PhaseList(names=[omap.phase_name or "phase"], point_groups=[omap.point_group], ids=[1])
    xmap = CrystalMap(Rotation(omap.quaternions.reshape(-1, 4)), phase_id=phase_id, x=cols.ravel() * dx,
                      y=rows.ravel() * dy, phase_list=phases, scan_unit="um")
    path = Path(path)
    with atomic_path(path) as tmp, contextlib.redirect_stdout(io.StringIO()):
        orix_io.save(str(tmp), xmap, overwrite=True)
    return path
