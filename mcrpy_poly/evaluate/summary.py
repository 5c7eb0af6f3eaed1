"""Everything the comparison needs from one map or volume, computed once.

A *view* is what two maps are compared on: ``"map"`` (a 2D map), ``"volume"`` (a 3D
volume as a whole) or a plane family of a volume (``"xz"``, ``"yz"``, ``"xy"``: the slices
normal to axis 0, 1, 2). Spatial statistics of a volume are always pooled over the slices
of each plane family (paper 004, Eq. 5); grain statistics of a volume are 3D when the other
map is a volume too, and pooled over :attr:`Settings.n_sections` evenly spaced sections
per plane family when it is a 2D map.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from ..errors import InputError
from ..grains import segment_grains
from ..orientation.shsh import SHSHBasis
from .distributions import grain_statistics
from .sections import PLANE_NAMES, map_section
from .statistics import plane_statistics
from .texture import ODF_DEGREE, odf_basis, odf_coefficients, shsh_field


@dataclass(frozen=True)
class Settings:
    """How maps are compared.

    Attributes
    ----------
    threshold : float
        Grain-boundary misorientation in degrees.
    min_size : int
        Smallest grain in pixels (smaller ones are dissolved into their neighbours).
    odf_degree : int
        Highest SHSH principal index of the ODF comparison.
    limit_to : int
        Lag window of the spatial statistics (shrunk to fit the smallest plane).
    n_sections : int
        Sections per plane family for the grain statistics of a volume against a 2D map.
    n_terms : int, optional
        SHSH functions of the spatial statistics (default: the default :class:`SHSHBasis`,
        the one reconstructions use).
    length_unit : str
        Unit of the steps and of every length (the EBSD file's, usually um; ``"pixels"`` for
        maps that carry no step).
    """

    threshold: float = 5.0
    min_size: int = 5
    odf_degree: int = ODF_DEGREE
    limit_to: int = 16
    n_sections: int = 16
    n_terms: int | None = None
    length_unit: str = "um"

    def __post_init__(self):
        if not 0 < self.threshold < 180:
            raise InputError(f"grain threshold must be between 0 and 180 degrees, got {self.threshold}")
        checks = {"min_size": 1, "odf_degree": 2, "limit_to": 1, "n_sections": 1}
        for name, low in checks.items():
            if int(getattr(self, name)) < low:
                raise InputError(f"{name} must be at least {low}, got {getattr(self, name)}")
        if self.n_terms is not None and int(self.n_terms) < 1:
            raise InputError(f"n_terms must be at least 1, got {self.n_terms}")


@dataclass
class MapSummary:
    """ODF coefficients, spatial statistics and grain statistics of one map.

    Attributes
    ----------
    odf : numpy.ndarray, shape (K_odf,)
    statistics : dict of str to dict
        Per view, the output of :func:`~mcrpy_poly.evaluate.statistics.plane_statistics`.
    grains : dict of str to dict
        Per view, the samples of :func:`~mcrpy_poly.evaluate.distributions.grain_statistics`.
    grain_density : dict of str to float
        Per view, grains per um^2 (2D) or um^3 (3D) of indexed area or volume.
    """

    odf: np.ndarray
    statistics: dict = field(default_factory=dict)
    grains: dict = field(default_factory=dict)
    grain_density: dict = field(default_factory=dict)


def statistics_views(omap) -> tuple:
    """Views of the spatial statistics of a map: ``("map",)`` or the plane families."""
    return ("map",) if omap.ndim == 2 else PLANE_NAMES


@lru_cache(maxsize=16)
def bases(symmetry, odf_degree: int, n_terms=None):
    """The SHSH basis evaluated once per map, and the columns of the ODF functions (up to
    ``odf_degree``) and of the statistics functions (the default basis, or ``n_terms``) in it.
    Cached: a basis prepares its evaluation once."""
    odf = odf_basis(symmetry, odf_degree)
    stats = SHSHBasis(symmetry) if n_terms is None else SHSHBasis(symmetry, n_terms=n_terms)
    both = SHSHBasis(symmetry, degrees=sorted(set(odf.degrees) | set(stats.degrees)))
    columns = [[both.labels.index(label) for label in basis.labels] for basis in (odf, stats)]
    return both, columns[0], columns[1]


def summarize(omap, periodic: bool, grain_views, limit_to: int, settings: Settings,
              grain_periodic: bool | None = None) -> MapSummary:
    """Compute a :class:`MapSummary`.

    Parameters
    ----------
    omap : OrientationMap
    periodic : bool
        Whether the spatial statistics (and by default the grains) continue across the faces of this map.
    grain_views : sequence of str
        ``"map"``, ``"volume"`` or plane-family names.
    limit_to : int
        Lag window of the spatial statistics (fits every plane).
    settings : Settings
    grain_periodic : bool, optional
        Segment the grains as periodic or not (default ``periodic``): a comparison segments a
        candidate as its reference is segmented, as an independent grain analysis of the two files would.
    """
    grain_periodic = periodic if grain_periodic is None else bool(grain_periodic)
    basis, odf_columns, stats_columns = bases(omap.symmetry, settings.odf_degree, settings.n_terms)
    values = shsh_field(omap, basis)
    summary = MapSummary(odf=odf_coefficients(values[..., odf_columns], omap.indexed))
    stats_field = values[..., stats_columns]
    for view in statistics_views(omap):
        axis = None if view == "map" else PLANE_NAMES.index(view)
        summary.statistics[view] = plane_statistics(stats_field, omap.indexed, limit_to, axis, periodic)
    for view in grain_views:
        if view in ("map", "volume"):
            sections = [omap]
        else:
            axis = PLANE_NAMES.index(view)
            positions = np.unique(np.linspace(0, omap.shape[axis] - 1, settings.n_sections).round().astype(int))
            sections = [map_section(omap, axis, int(i)) for i in positions]
        segmented = [segment_grains(s, settings.threshold, grain_periodic, settings.min_size) for s in sections]
        pooled = [grain_statistics(g) for g in segmented]
        summary.grains[view] = {name: np.concatenate([p[name] for p in pooled]) for name in pooled[0]}
        measure = sum(s.n_indexed * float(np.prod(s.step)) for s in sections)
        summary.grain_density[view] = sum(g.n_grains for g in segmented) / measure
    return summary
