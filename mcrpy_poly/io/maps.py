"""One loader for every orientation-map input the commands accept."""
from __future__ import annotations

from pathlib import Path

from ..errors import EBSDFileNotFoundError, InputError, MalformedFileError
from ..orientation.orientation_map import OrientationMap
from .ebsd import load_ebsd, load_quaternion_array


def load_map(path, phase=None, symmetry=None, convention: str = "orix") -> OrientationMap:
    """An :class:`~mcrpy_poly.OrientationMap` from an EBSD file, an OrientationMap ``.npz``
    (:meth:`OrientationMap.save`) or a quaternion ``.npy`` array.

    Parameters
    ----------
    path : str or Path
    phase : int or str, optional
        Phase of a multi-phase EBSD file.
    symmetry : str, optional
        Point group of a ``.npy`` array (required there; other files carry their own).
    convention : {"orix", "mcrpy"}
        Quaternion convention of a ``.npy`` array.

    Non-indexed pixels keep their mask; call :meth:`OrientationMap.fill_unindexed` to fill.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".npy", ".npz") and not path.is_file():
        raise EBSDFileNotFoundError(path, "no such file")
    if suffix == ".npy":
        if symmetry is None:
            raise InputError(f"{path}: a .npy quaternion array needs a symmetry (e.g. --symmetry m-3m)")
        return load_quaternion_array(path, symmetry, convention=convention)
    if suffix == ".npz":
        try:
            return OrientationMap.load(path)
        except (KeyError, ValueError, OSError) as exc:
            raise MalformedFileError(path, f"not an OrientationMap .npz ({exc})") from None
    return load_ebsd(path, phase=phase)
