"""Grain-level metrics of one map, and how far a candidate's are from a reference's.

What a materials scientist checks first, measured the way an independent grain analysis does
(5 degree threshold, face neighbours; :func:`mcrpy_poly.grains.segment_grains`):

- ``n_grains``: grains of at least the minimum size (:data:`mcrpy_poly.grains.MIN_SIZE`: 5 pixels in
  2D, 27 voxels in 3D; smaller components are dissolved into their neighbours first), and ``grains_per_area``
  (per um^2 in 2D, per um^3 in 3D);
- ``mean_equivalent_diameter`` (um) of those grains;
- ``chord_mean_<axis>`` (um): mean length of the runs of one grain along each axis (in a
  non-periodic map the runs that touch the edge are left out);
- ``speckle_fraction``: share of the pixels that were in components below the minimum size;
- ``interior_fraction``: share of the pixels whose face neighbours all lie within the threshold;
- ``boundary_fraction``: share of the face-neighbour pairs across a boundary;
- ``boundary_misorientation_histogram``: the disorientations of those pairs in 1 degree bins from
  the threshold up (normalised), and their mean; the distance between two maps' histograms is
  the Wasserstein-1 distance in degrees (:func:`relative_grain_errors`).

Everything is JSON-friendly (floats and lists), so ensembles and ``metrics.json`` hold it as is.
"""
from __future__ import annotations

import numpy as np

from ..grains import Grains, face_neighbour_pairs, segment_grains
from .distributions import AXIS_NAMES, chord_lengths, equivalent_diameters

#: Width of the boundary-misorientation histogram bins, degrees.
BIN_WIDTH = 1.0
#: Upper end of the histogram: the largest disorientation of any proper point group is below 180.
MAX_ANGLE = 180.0
#: Metrics compared as relative differences ``candidate / reference - 1``.
RELATIVE = ("grains_per_area", "mean_equivalent_diameter", "chord_mean_y", "chord_mean_x", "chord_mean_z")
#: Metrics compared as plain differences (already fractions).
ABSOLUTE = ("speckle_fraction", "interior_fraction", "boundary_fraction")


def metrics_of_grains(grains: Grains) -> dict:
    """The module's metrics of a segmentation (see the module docstring)."""
    n_pairs = sum(len(first) for first, _ in face_neighbour_pairs(grains.labels.shape, grains.periodic))
    measure = float(np.sum(grains.labels >= 0)) * float(np.prod(grains.step))
    edges = np.arange(grains.threshold, MAX_ANGLE + BIN_WIDTH, BIN_WIDTH)
    counts = np.histogram(grains.boundary_angles, edges)[0].astype(float)
    metrics = dict(n_grains=int(grains.n_grains),
                   grains_per_area=grains.n_grains / measure if measure else float("nan"),
                   mean_equivalent_diameter=float(np.mean(equivalent_diameters(grains))) if grains.n_grains
                   else float("nan"),
                   speckle_fraction=grains.speckle_fraction, interior_fraction=grains.interior_fraction,
                   boundary_fraction=len(grains.boundary_angles) / max(n_pairs, 1),
                   boundary_misorientation_mean=float(np.mean(grains.boundary_angles))
                   if len(grains.boundary_angles) else float("nan"),
                   boundary_misorientation_histogram=(counts / max(counts.sum(), 1.0)).tolist(),
                   threshold=grains.threshold, min_size=grains.min_size, periodic=grains.periodic)
    for axis in range(grains.ndim):
        chords = chord_lengths(grains, axis)
        metrics[f"chord_mean_{AXIS_NAMES[axis]}"] = float(np.mean(chords)) if len(chords) else float("nan")
    return metrics


def grain_metrics(omap, periodic: bool, threshold: float = 5.0, min_size: int | None = None) -> dict:
    """Grain metrics of a map or volume (module docstring).

    Parameters
    ----------
    omap : OrientationMap
        2D map or 3D volume; lengths come out in the unit of ``omap.step`` (um).
    periodic : bool
        Grains continue across opposite faces (reconstructions, synthetic maps); EBSD maps are not.
    threshold : float
        Grain-boundary disorientation, degrees.
    min_size : int, optional
        Smallest grain, pixels (default :data:`mcrpy_poly.grains.MIN_SIZE`).

    Returns
    -------
    dict
    """
    return metrics_of_grains(segment_grains(omap, threshold=threshold, periodic=periodic, min_size=min_size))


def histogram_w1(reference, candidate, bin_width: float = BIN_WIDTH) -> float:
    """Wasserstein-1 distance (in the bins' unit) between two normalised histograms on the same bins."""
    reference, candidate = np.asarray(reference, float), np.asarray(candidate, float)
    if reference.sum() == 0 or candidate.sum() == 0:
        return float("nan")
    return float(np.sum(np.abs(np.cumsum(reference) - np.cumsum(candidate))) * bin_width)


def relative_grain_errors(reference: dict, candidate: dict) -> dict:
    """How far a candidate's grain metrics are from a reference's.

    Returns
    -------
    dict
        ``<name>_error``: ``candidate / reference - 1`` for :data:`RELATIVE` metrics (signed:
        -0.3 means 30 % too small), ``candidate - reference`` for :data:`ABSOLUTE` ones, and
        ``boundary_misorientation_w1`` in degrees.
    """
    errors = {}
    for name in RELATIVE:
        if name in reference and name in candidate:
            errors[f"{name}_error"] = (float(candidate[name]) / float(reference[name]) - 1.0
                                       if reference[name] else float("nan"))
    for name in ABSOLUTE:
        errors[f"{name}_error"] = float(candidate[name]) - float(reference[name])
    errors["boundary_misorientation_w1"] = histogram_w1(reference["boundary_misorientation_histogram"],
                                                        candidate["boundary_misorientation_histogram"])
    return errors
