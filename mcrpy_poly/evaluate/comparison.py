"""Compare a synthetic microstructure (or an ensemble) with a reference map.

>>> comparison = compare(reference, candidate)            # OrientationMaps, 2D or 3D
>>> comparison.metrics["odf_rel_error"]
>>> comparison.save_report("out/report")                  # HTML + PNGs + metrics.json

Metric names (a flat dict of floats; views and statistics as in
:mod:`~mcrpy_poly.evaluate.summary` and :mod:`~mcrpy_poly.evaluate.distributions`; a view
prefix such as ``xy_`` appears where a volume is compared plane by plane):

- ``odf_rel_error``: relative L2 error of the ODF (SHSH means up to ``odf_degree``);
- ``pf_<hkl>_max_mrd_ref``, ``pf_<hkl>_max_mrd``, ``pf_<hkl>_rel_error``: pole figures;
- ``[<view>_]correlations_rel_error``, ``[<view>_]correlations_share_below_5pct``, the same
  for ``variogram``: spatial statistics (paper 004, Fig. 12): the relative L2 error of all
  maps, and the share of lags (all maps) whose relative error is under 5 % (see
  :mod:`~mcrpy_poly.evaluate.statistics` for the denominators);
- ``[<view>_]grain_density[_ref]`` and, per grain statistic ``s``, ``[<view>_]s_mean[_ref]``,
  ``_w1``, ``_w1_norm`` and ``_kl``.

With several candidates each metric is the mean over candidates and ``<name>_std`` their
standard deviation (paper 000's ensemble statistics); ``n_candidates`` says how many.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from ..atomic import save_json
from ..descriptors import relative_error
from ..errors import InputError
from .distributions import distribution_distances
from .pole_figures import pole_figures
from .sections import PLANE_NAMES
from .statistics import ERROR_SCALE, relative_error_map, share_below, window_limit
from .summary import MapSummary, Settings, statistics_views, summarize

#: Spatial descriptors compared map by map.
SPATIAL = ("correlations", "variogram")


def view_pairs(reference_ndim: int, candidate_ndim: int) -> dict:
    """Which views of reference and candidate are compared.

    Returns
    -------
    dict
        ``{"statistics": [(label, reference view, candidate view), ...], "grains": [...]}``.
    """
    if reference_ndim == candidate_ndim == 2:
        return {"statistics": [("map", "map", "map")], "grains": [("map", "map", "map")]}
    if reference_ndim == candidate_ndim == 3:
        return {"statistics": [(p, p, p) for p in PLANE_NAMES], "grains": [("volume", "volume", "volume")]}
    planes = [(p, "map", p) if reference_ndim == 2 else (p, p, "map") for p in PLANE_NAMES]
    return {"statistics": planes, "grains": planes}


def metric_prefix(label: str) -> str:
    """``""`` for a whole map or volume, ``"xy_"`` for a plane family."""
    return "" if label in ("map", "volume") else f"{label}_"


def pair_metrics(reference: MapSummary, candidate: MapSummary, pairs: dict) -> dict:
    """Metrics of one candidate against the reference (see the module docstring)."""
    metrics = {"odf_rel_error": relative_error(candidate.odf, reference.odf)}
    for label, ref_view, cand_view in pairs["statistics"]:
        for name in SPATIAL:
            ref, cand = reference.statistics[ref_view][name], candidate.statistics[cand_view][name]
            metrics[f"{metric_prefix(label)}{name}_rel_error"] = relative_error(cand, ref)
            errors = relative_error_map(cand, ref, ERROR_SCALE[name])
            metrics[f"{metric_prefix(label)}{name}_share_below_5pct"] = share_below(errors)
    for label, ref_view, cand_view in pairs["grains"]:
        prefix = metric_prefix(label)
        metrics[f"{prefix}grain_density_ref"] = reference.grain_density[ref_view]
        metrics[f"{prefix}grain_density"] = candidate.grain_density[cand_view]
        distances = distribution_distances(reference.grains[ref_view], candidate.grains[cand_view])
        metrics.update({f"{prefix}{key}": value for key, value in distances.items()})
    return metrics


def ensemble_metrics(per_candidate: list) -> dict:
    """Mean over candidates, plus ``_std`` (population) for metrics that vary."""
    metrics = {"n_candidates": float(len(per_candidate))}
    for key in per_candidate[0]:
        values = np.array([m[key] for m in per_candidate], dtype=float)
        metrics[key] = float(np.mean(values))
        if len(values) > 1 and not key.endswith("_ref"):
            metrics[f"{key}_std"] = float(np.std(values))
    return metrics


@dataclass
class Comparison:
    """Result of :func:`compare`.

    Attributes
    ----------
    metrics : dict of str to float
        Flat, named numbers (module docstring).
    reference : OrientationMap
    candidates : list of OrientationMap
    settings : Settings
    periodic : tuple of bool
        Whether reference and candidates were segmented and their statistics computed as periodic.
    summaries : dict
        ``"reference"``: MapSummary, ``"candidates"``: list of MapSummary.
    pairs : dict
        Output of :func:`view_pairs`.
    pole_densities : dict
        ``{"reference": {family: grid}, "candidate": {...}}`` (candidates pooled).
    limit_to : int
        Lag window used for the spatial statistics.
    loss : dict of str to sequence of float, optional
        Loss curves to draw in the report.
    level_starts : list of int
        Indices into the loss curves where multigrid levels begin (drawn as markers).
    names : tuple of str
        Display names of reference and candidate.
    """

    metrics: dict
    reference: object
    candidates: list
    settings: Settings
    periodic: tuple
    summaries: dict
    pairs: dict
    pole_densities: dict
    limit_to: int
    loss: dict = field(default_factory=dict)
    names: tuple = ("reference", "candidate")
    level_starts: list = field(default_factory=list)

    def describe(self) -> dict:
        """Settings and sources, for JSON."""
        return {
            "settings": asdict(self.settings), "limit_to": self.limit_to, "periodic": list(self.periodic),
            "reference": {"source": self.reference.source, "shape": list(self.reference.shape),
                          "step": list(self.reference.step), "symmetry": self.reference.point_group},
            "candidates": [{"source": c.source, "shape": list(c.shape), "step": list(c.step)}
                           for c in self.candidates],
            "length_unit": self.settings.length_unit,
        }

    def to_json(self, path):
        """Write ``{"metrics": ..., "settings": ...}`` atomically (NaN as null)."""
        metrics = {k: (None if not np.isfinite(v) else v) for k, v in self.metrics.items()}
        return save_json(path, {"metrics": metrics, **self.describe()})

    def save_report(self, directory, title: str | None = None, direction="z"):
        """Write ``report.html`` (self-contained), the PNGs and ``metrics.json`` into
        ``directory`` (IPF colours for the sample ``direction``); returns the HTML path."""
        from .report import save_report

        return save_report(self, directory, title=title, direction=direction)


def _as_list(candidate):
    return list(candidate) if isinstance(candidate, (list, tuple)) else [candidate]


def _periodic_flags(periodic):
    if isinstance(periodic, (list, tuple)):
        if len(periodic) != 2:
            raise InputError(f"periodic must be a bool or a (reference, candidate) pair, got {periodic!r}")
        return bool(periodic[0]), bool(periodic[1])
    return bool(periodic), bool(periodic)


def compare(reference, candidate, *, periodic=(False, True), settings: Settings | None = None, loss=None,
            names=("reference", "candidate"), level_starts=(), **options) -> Comparison:
    """Compare a candidate map or volume (or a list of them) with a reference.

    Parameters
    ----------
    reference : OrientationMap
        2D map or 3D volume.
    candidate : OrientationMap or list of OrientationMap
        2D maps or 3D volumes, of any size, with the reference's crystal symmetry. A list is
        an ensemble: metrics are means over its members (with ``_std``) and the pictures
        show the first members and pooled distributions.
    periodic : bool or (bool, bool)
        Whether the spatial statistics continue across the faces of the reference and of the
        candidates (default: an EBSD reference is not periodic, reconstructions are). Grains of
        both are segmented as the reference's are (like with like: a grain analysis of the two
        files would not wrap a candidate round either).
    settings : Settings, optional
    loss : sequence of float or dict of str to sequence of float, optional
        Loss curve(s) of the run that made the candidate, drawn in the report.
    names : (str, str)
        Display names.
    level_starts : sequence of int
        Where the multigrid levels of that run begin in the loss curve (marked in the plot).
    **options
        Fields of :class:`Settings` (``threshold``, ``min_size``, ``odf_degree``,
        ``limit_to``, ``n_sections``, ``n_terms``, ``length_unit``) overriding ``settings``.

    Returns
    -------
    Comparison
    """
    unknown = set(options) - set(asdict(Settings()))
    if unknown:
        raise InputError(f"unknown compare option(s) {sorted(unknown)}; known: {sorted(asdict(Settings()))}")
    settings = Settings(**{**asdict(settings or Settings()), **options})
    candidates = _as_list(candidate)
    if not candidates:
        raise InputError("compare needs at least one candidate map")
    ndims = {c.ndim for c in candidates}
    if len(ndims) > 1:
        raise InputError("the candidates of one ensemble must all be 2D maps or all 3D volumes")
    for c in candidates:
        if c.symmetry != reference.symmetry:
            raise InputError(f"candidate symmetry {c.symmetry.name} does not match the reference's "
                             f"{reference.symmetry.name}")
    pairs = view_pairs(reference.ndim, candidates[0].ndim)
    plane_shapes = [_plane_shape(m, view) for m in [reference, *candidates] for view in statistics_views(m)]
    limit_to = window_limit(plane_shapes, settings.limit_to)
    ref_periodic, cand_periodic = _periodic_flags(periodic)
    ref_summary = summarize(reference, ref_periodic, [p[1] for p in pairs["grains"]], limit_to, settings)
    cand_summaries = [summarize(c, cand_periodic, [p[2] for p in pairs["grains"]], limit_to, settings,
                                grain_periodic=ref_periodic) for c in candidates]
    metrics = ensemble_metrics([pair_metrics(ref_summary, s, pairs) for s in cand_summaries])
    pooled = np.concatenate([c.quaternions[c.indexed] for c in candidates])
    densities = {"reference": pole_figures(reference.quaternions[reference.indexed], reference.symmetry.laue),
                 "candidate": pole_figures(pooled, reference.symmetry.laue)}
    for label in densities["reference"]:
        key = "pf_" + label.strip("{}")
        ref_density, cand_density = densities["reference"][label], densities["candidate"][label]
        metrics[f"{key}_max_mrd_ref"] = float(np.nanmax(ref_density))
        metrics[f"{key}_max_mrd"] = float(np.nanmax(cand_density))
        inside = np.isfinite(ref_density)  # the projection disk
        metrics[f"{key}_rel_error"] = relative_error(cand_density[inside], ref_density[inside])
    if loss is not None and not isinstance(loss, dict):
        loss = {"loss": loss}
    return Comparison(metrics=metrics, reference=reference, candidates=candidates, settings=settings,
                      periodic=(ref_periodic, cand_periodic),
                      summaries={"reference": ref_summary, "candidates": cand_summaries}, pairs=pairs,
                      pole_densities=densities, limit_to=limit_to,
                      loss={k: np.asarray(v, float) for k, v in (loss or {}).items()}, names=tuple(names),
                      level_starts=[int(i) for i in level_starts])


def _plane_shape(omap, view):
    if view == "map":
        return omap.shape
    axis = PLANE_NAMES.index(view)
    return tuple(s for a, s in enumerate(omap.shape) if a != axis)
