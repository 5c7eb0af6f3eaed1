"""OrientationMap: a 2D map or 3D volume of crystal orientations of one phase."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..atomic import save_npz
from ..errors import InputError, NoIndexedPixelsError
from .quaternion import normalize
from .symmetry import Symmetry, orix_point_group, reduce_to_fundamental_zone, resolve_symmetry


class OrientationMap:
    """Orientations on a regular 2D or 3D grid, with their crystal symmetry.

    Parameters
    ----------
    quaternions : array_like, shape (H, W, 4) or (H, W, D, 4)
        Unit quaternions in orix's convention (passive, symmetry on the left); they are
        normalised and stored as float64.
    symmetry : str or orix Symmetry or Symmetry
        Crystal point group; SHSH use its proper subgroup (``symmetry``), IPF colouring
        its Laue group.
    indexed : array_like of bool, shape (H, W[, D]), optional
        Which pixels hold a measured orientation of this phase (default: all).
    phase_name : str
    step : float or sequence of float
        Pixel spacing per axis in micrometres (one number for all axes).
    source : str, optional
        Where the map came from (a file name), carried into metadata.
    periodic : bool
        Whether the map continues across its faces (a synthetic RVE, a reconstruction); a
        measured map is not (the default). Its statistics are computed accordingly
        (:func:`~mcrpy_poly.descriptors.characterize`).

    Attributes
    ----------
    point_group : str
        The point group as given, by its orix name (``"m-3m"``, ``"432"``, ...).
    symmetry : Symmetry
        Its proper subgroup, as SHSH and misorientations need it.
    """

    def __init__(self, quaternions, symmetry, indexed=None, phase_name="", step=1.0, source=None,
                 periodic: bool = False):
        q = np.asarray(quaternions, dtype=np.float64)
        if q.ndim not in (3, 4) or q.shape[-1] != 4:
            raise InputError(f"quaternions must have shape (H, W, 4) or (H, W, D, 4), got {q.shape}")
        norms = np.linalg.norm(q, axis=-1)
        if not np.all(np.isfinite(q)) or np.any(norms == 0):
            raise InputError("quaternions contain zero-length or non-finite entries")
        self.quaternions = normalize(q)
        self.indexed = np.ones(q.shape[:-1], bool) if indexed is None else np.asarray(indexed, bool)
        if self.indexed.shape != q.shape[:-1]:
            raise InputError(f"indexed mask shape {self.indexed.shape} does not match map shape {q.shape[:-1]}")
        self.symmetry: Symmetry = resolve_symmetry(symmetry)
        self.point_group: str = orix_point_group(symmetry).name
        self.phase_name = str(phase_name)
        steps = np.broadcast_to(np.asarray(step, dtype=float), (self.ndim,))
        self.step = tuple(float(s) for s in steps)
        self.source = source
        self.periodic = bool(periodic)

    # -- shape -------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        """Spatial shape ``(H, W)`` or ``(H, W, D)``."""
        return self.quaternions.shape[:-1]

    @property
    def ndim(self) -> int:
        return self.quaternions.ndim - 1

    @property
    def n_indexed(self) -> int:
        return int(self.indexed.sum())

    @property
    def indexed_fraction(self) -> float:
        return self.n_indexed / self.indexed.size

    def __repr__(self):
        return (f"OrientationMap(shape={self.shape}, symmetry={self.symmetry.name!r}, "
                f"phase={self.phase_name!r}, indexed={self.n_indexed}/{self.indexed.size}, periodic={self.periodic})")

    # -- derived maps ------------------------------------------------------------------
    def fill_unindexed(self) -> OrientationMap:
        """Copy in which every non-indexed pixel takes the orientation of its nearest
        indexed pixel (Euclidean distance on the grid, ties broken by scipy's EDT)."""
        from scipy.ndimage import distance_transform_edt

        if self.n_indexed == 0:
            raise NoIndexedPixelsError(self.source or "<map>", "no indexed pixels to fill from")
        _, nearest = distance_transform_edt(~self.indexed, return_indices=True)
        filled = self.quaternions[tuple(nearest)]
        return self.replace(quaternions=filled, indexed=np.ones(self.shape, bool))

    def reduce(self) -> OrientationMap:
        """Copy with every orientation in the fundamental zone (smallest rotation angle)."""
        return self.replace(quaternions=reduce_to_fundamental_zone(self.quaternions, self.symmetry))

    def replace(self, **changes) -> OrientationMap:
        """Copy with some constructor arguments replaced."""
        kwargs = dict(quaternions=self.quaternions, symmetry=self.point_group, indexed=self.indexed,
                      phase_name=self.phase_name, step=self.step, source=self.source, periodic=self.periodic)
        kwargs.update(changes)
        return OrientationMap(**kwargs)

    def shsh(self, basis) -> np.ndarray:
        """SHSH channels ``(H, W[, D], K)`` of ``basis`` (an :class:`SHSHBasis`)."""
        if basis.symmetry != self.symmetry:
            raise InputError(f"basis symmetry {basis.symmetry.name} does not match map symmetry {self.symmetry.name}")
        return basis(self.quaternions)

    def crop(self, *ranges) -> OrientationMap:
        """The sub-map ``ranges`` (one ``(start, stop)`` per axis, or ``None`` for all of it),
        never periodic: a window cut from any map has no wrap-around."""
        if len(ranges) != self.ndim:
            raise InputError(f"crop needs one (start, stop) per axis of the {self.ndim}D map, got {len(ranges)}")
        index = tuple(slice(None) if r is None else slice(*r) for r in ranges)
        if any(n == 0 for n in self.indexed[index].shape):
            raise InputError(f"crop {ranges} of a map of shape {self.shape} is empty")
        return self.replace(quaternions=self.quaternions[index], indexed=self.indexed[index], periodic=False)

    def to_orix(self):
        """orix ``Orientation`` of shape ``shape`` with the map's point group."""
        from orix.quaternion import Orientation

        return Orientation(self.quaternions, symmetry=self.symmetry.to_orix())

    # -- own file format ---------------------------------------------------------------
    def save(self, path) -> Path:
        """Write a safe ``.npz`` (arrays plus JSON metadata), atomically."""
        path = Path(path)
        meta = dict(point_group=self.point_group, phase_name=self.phase_name, step=self.step,
                    source=self.source, periodic=self.periodic, format="mcrpy_poly.OrientationMap/1")
        save_npz(path, quaternions=self.quaternions, indexed=self.indexed,
                         metadata=np.array(json.dumps(meta)))
        return path

    @classmethod
    def load(cls, path) -> OrientationMap:
        """Read a map written by :meth:`save` (no pickles involved); files written before maps
        knew whether they are periodic read as non-periodic."""
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["metadata"]))
            return cls(data["quaternions"], meta["point_group"], indexed=data["indexed"],
                       phase_name=meta["phase_name"], step=meta["step"], source=meta["source"],
                       periodic=meta.get("periodic", False))

