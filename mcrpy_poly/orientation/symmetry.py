"""Crystal symmetry: resolve what a user gives into a proper point group.

SHSH only see the rotations of a point group (its proper subgroup): ``m-3m`` and ``432``
give the same basis, as do ``6/mmm`` and ``622``. :func:`resolve_symmetry` accepts an
orix ``Symmetry``, any of the 32 point-group names orix knows (Hermann-Mauguin, e.g.
``"m-3m"``, ``"6/mmm"``, ``"432"``), the Schoenflies names of orix's objects (``"Oh"``,
``"D6h"``) and a few common words (``"cubic"``, ``"hexagonal"``).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from ..errors import SymmetryError

#: The 11 proper point groups, by their orix names.
PROPER_POINT_GROUPS = ("1", "2", "222", "3", "32", "4", "422", "6", "622", "23", "432")

_ALIASES = {
    "2": "112", "321": "32",
    "triclinic": "-1", "monoclinic": "2/m", "orthorhombic": "mmm", "tetragonal": "4/mmm",
    "trigonal": "-3m", "hexagonal": "6/mmm", "cubic": "m-3m",
}


@dataclass(frozen=True, eq=False)
class Symmetry:
    """A proper crystal point group, as SHSH and misorientations need it.

    Attributes
    ----------
    name : str
        Hermann-Mauguin name of the proper point group (``"432"``, ``"622"``, ...).
    laue : str
        Name of its Laue group (``"m-3m"``, ``"6/mmm"``, ...), used for IPF colouring.
    quaternions : numpy.ndarray, shape (n_ops, 4)
        The rotations of the group in orix's convention (acting on the left).
    """

    name: str
    laue: str
    quaternions: np.ndarray

    @property
    def order(self) -> int:
        """Number of rotations in the group."""
        return len(self.quaternions)

    def to_orix(self):
        """The orix ``Symmetry`` object of the proper point group."""
        return _orix_groups()[_ALIASES.get(self.name, self.name)]

    def __eq__(self, other):
        return isinstance(other, Symmetry) and self.name == other.name

    def __hash__(self):
        return hash(self.name)

    def __repr__(self):
        return f"Symmetry({self.name!r}, laue={self.laue!r}, order={self.order})"


@cache
def _orix_groups():
    from orix.quaternion import symmetry as osym

    groups = {g.name: g for g in osym._groups}
    for attr in dir(osym):  # Schoenflies names: Oh, D6h, C2, ...
        obj = getattr(osym, attr)
        if isinstance(obj, osym.Symmetry) and attr not in groups:
            groups[attr] = obj
    return groups


@cache
def _resolve_name(name: str) -> Symmetry:
    groups = _orix_groups()
    key = _ALIASES.get(name.strip().lower(), name.strip())
    if key not in groups:
        known = ", ".join(sorted({g.name for g in groups.values() if g.name}))
        raise SymmetryError(f"unknown crystal symmetry {name!r}; known point groups: {known}")
    proper = groups[key].proper_subgroup
    q = np.asarray(proper.data, dtype=float)
    q = np.where(q[:, :1] < 0, -q, q)
    name = "2" if proper.name == "112" else proper.name
    return Symmetry(name=name, laue=proper.laue.name, quaternions=q)


def orix_point_group(symmetry):
    """The orix ``Symmetry`` of a point-group name or object as given (not reduced to its
    proper subgroup): ``"cubic"`` -> ``Oh`` (m-3m), ``"432"`` -> ``O``."""
    if isinstance(symmetry, Symmetry):
        return symmetry.to_orix()
    name = symmetry if isinstance(symmetry, str) else getattr(symmetry, "name", None)
    resolve_symmetry(symmetry)  # raises SymmetryError for anything unknown
    return _orix_groups()[_ALIASES.get(name.strip().lower(), name.strip())]


def resolve_symmetry(symmetry) -> Symmetry:
    """Turn a name, an orix ``Symmetry`` or a :class:`Symmetry` into a :class:`Symmetry`.

    Parameters
    ----------
    symmetry : str or orix.quaternion.Symmetry or Symmetry
        Any of the 32 crystallographic point groups; improper groups are mapped to
        their proper subgroup (``"m-3m"`` -> ``"432"``).

    Raises
    ------
    SymmetryError
        If the name is not a known point group or the object is of another type.
    """
    if isinstance(symmetry, Symmetry):
        return symmetry
    if isinstance(symmetry, str):
        return _resolve_name(symmetry)
    name = getattr(symmetry, "name", None)
    if isinstance(name, str) and hasattr(symmetry, "proper_subgroup"):
        return _resolve_name(name)
    raise SymmetryError(f"cannot interpret {symmetry!r} as a crystal symmetry")


def reduce_to_fundamental_zone(q, symmetry) -> np.ndarray:
    """Symmetry-equivalent of each orientation with the smallest rotation angle.

    The result ``s * q`` (``s`` in the group, orix convention) maximises ``|w|``, i.e.
    lies in the fundamental zone centred on the identity (orix's ``reduce()``), with
    ``w >= 0``.

    Parameters
    ----------
    q : array_like, shape (..., 4)
        Orientations in orix convention.
    symmetry : str or Symmetry or orix Symmetry

    Returns
    -------
    numpy.ndarray, shape (..., 4)
    """
    from .quaternion import multiply, normalize

    group = resolve_symmetry(symmetry).quaternions
    q = np.asarray(q, dtype=float)
    candidates = multiply(group.reshape((-1,) + (1,) * (q.ndim - 1) + (4,)), q[None])
    best = np.argmax(np.abs(candidates[..., 0]), axis=0)
    return normalize(np.take_along_axis(candidates, best[None, ..., None], axis=0)[0])
