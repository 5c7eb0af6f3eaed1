"""Grain statistics as samples, and distances between two samples of one statistic.

Statistics (one sample value per grain, chord or grain pair):

- ``grain_size``: equivalent circle (2D) or sphere (3D) diameter, um;
- ``aspect_ratio``: longest over shortest principal axis of the grain's second moments
  (pixel extent included: a single pixel has aspect ratio 1);
- ``long_axis_angle``: 2D: angle of the long axis from the sample x axis (axis 1) towards
  y (axis 0), degrees in ``[-90, 90)``; 3D: angle between the long axis and z (axis 2),
  degrees in ``[0, 90]``; from grains of aspect ratio above 1.1 only;
- ``chord_length_<axis>``: lengths (um) of the runs of one grain along rows of the grid
  parallel to each axis (``y, x`` or ``y, x, z``); in a non-periodic map the runs that
  touch the map edge are left out (their length is unknown);
- ``misorientation``: disorientation angle (degrees) between the mean orientations of
  every pair of touching grains;
- ``neighbour_count``: number of distinct grains touching each grain.

Distances: Wasserstein-1 on the samples themselves (no binning), and the Kullback-Leibler
divergence ``KL(candidate || reference)`` (the order of paper 002) of histograms over
:data:`KL_BINS` equal bins spanning both samples, each bin count increased by
:data:`KL_PSEUDOCOUNT` before normalising so that empty bins stay finite.
"""
from __future__ import annotations

import numpy as np
from scipy import stats

from .. import grains as segmentation
from ..orientation.quaternion import misorientation_angle

#: Number of equal-width histogram bins over the pooled range of both samples for KL.
KL_BINS = 32
#: Count added to every histogram bin before normalising (KL stays finite).
KL_PSEUDOCOUNT = 0.5
#: Grains less elongated than this have no defined long axis.
MIN_ASPECT_FOR_ANGLE = 1.1
#: Unit of each statistic ("" for numbers without unit); chord lengths are in um.
UNITS = {"grain_size": "um", "aspect_ratio": "", "long_axis_angle": "deg", "misorientation": "deg",
         "neighbour_count": ""}
#: Axis names of the grid axes (H, W, D).
AXIS_NAMES = ("y", "x", "z")


def equivalent_diameters(grains) -> np.ndarray:
    """Equivalent circle (2D) or sphere (3D) diameters in um, shape ``(n_grains,)``."""
    return segmentation.equivalent_diameters(grains.sizes * float(np.prod(grains.step)), grains.ndim)


def second_moments(grains) -> np.ndarray:
    """Covariance of each grain's pixel positions (um^2), with each pixel counted as a box
    (``step^2 / 12`` added on the diagonal), shape ``(n_grains, ndim, ndim)``."""
    offsets = grains.relative_coordinates
    labels = grains.labels[grains.labels >= 0]
    counts = grains.sizes.astype(float)
    d = grains.ndim
    means = np.stack([np.bincount(labels, offsets[:, i], grains.n_grains) for i in range(d)], 1) / counts[:, None]
    products = np.empty((grains.n_grains, d, d))
    for i in range(d):
        for j in range(i, d):
            products[:, i, j] = products[:, j, i] = np.bincount(
                labels, offsets[:, i] * offsets[:, j], grains.n_grains) / counts
    box = np.diag(np.asarray(grains.step) ** 2 / 12.0)
    return products - means[:, :, None] * means[:, None, :] + box


def grain_shapes(grains):
    """Aspect ratio and long-axis angle of each grain from its second moments.

    Returns
    -------
    aspect_ratio : numpy.ndarray, shape (n_grains,)
        ``sqrt(largest / smallest eigenvalue)``, >= 1.
    long_axis_angle : numpy.ndarray, shape (n_grains,)
        Degrees (see the module docstring); NaN for grains with aspect ratio below
        :data:`MIN_ASPECT_FOR_ANGLE`.
    """
    eigenvalues, eigenvectors = np.linalg.eigh(second_moments(grains))
    aspect = np.sqrt(eigenvalues[:, -1] / eigenvalues[:, 0])
    long_axis = eigenvectors[:, :, -1]  # components along (axis 0, axis 1[, axis 2])
    if grains.ndim == 2:
        angle = (np.degrees(np.arctan2(long_axis[:, 0], long_axis[:, 1])) + 90.0) % 180.0 - 90.0
    else:
        angle = np.degrees(np.arccos(np.clip(np.abs(long_axis[:, 2]), 0.0, 1.0)))
    return aspect, np.where(aspect >= MIN_ASPECT_FOR_ANGLE, angle, np.nan)


def chord_lengths(grains, axis: int) -> np.ndarray:
    """Lengths (um) of the runs of one grain along ``axis``, shape ``(n_chords,)``
    (:func:`mcrpy_poly.grains.chord_lengths` in pixels, times the step)."""
    return segmentation.chord_lengths(grains.labels, axis, grains.periodic) * grains.step[axis]


def neighbour_misorientations(grains) -> np.ndarray:
    """Disorientation angles (degrees) between the mean orientations of touching grains."""
    i, j = grains.neighbour_pairs.T
    return np.degrees(misorientation_angle(grains.orientations[i], grains.orientations[j],
                                           grains.symmetry.quaternions))


def neighbour_counts(grains) -> np.ndarray:
    """Number of distinct touching grains of each grain, shape ``(n_grains,)``."""
    return np.bincount(grains.neighbour_pairs.ravel(), minlength=grains.n_grains)


def grain_statistics(grains) -> dict:
    """All statistics of the module docstring as samples, by name."""
    aspect, angle = grain_shapes(grains)
    samples = {"grain_size": equivalent_diameters(grains), "aspect_ratio": aspect,
               "long_axis_angle": angle[np.isfinite(angle)]}
    for axis in range(grains.ndim):
        samples[f"chord_length_{AXIS_NAMES[axis]}"] = chord_lengths(grains, axis)
    samples["misorientation"] = neighbour_misorientations(grains)
    samples["neighbour_count"] = neighbour_counts(grains).astype(float)
    return samples


def wasserstein1(reference, candidate) -> float:
    """Wasserstein-1 (earth mover's) distance between two samples, in their unit; NaN if
    either is empty."""
    if len(reference) == 0 or len(candidate) == 0:
        return float("nan")
    return float(stats.wasserstein_distance(reference, candidate))


def kl_divergence(reference, candidate, bins: int = KL_BINS) -> float:
    """``KL(candidate || reference)`` in nats on ``bins`` equal bins over the pooled range
    (see the module docstring); NaN if either sample is empty."""
    if len(reference) == 0 or len(candidate) == 0:
        return float("nan")
    low, high = min(np.min(reference), np.min(candidate)), max(np.max(reference), np.max(candidate))
    edges = np.linspace(low, high if high > low else low + 1.0, bins + 1)
    p = np.histogram(candidate, edges)[0] + KL_PSEUDOCOUNT
    q = np.histogram(reference, edges)[0] + KL_PSEUDOCOUNT
    return float(stats.entropy(p / p.sum(), q / q.sum()))


def distribution_distances(reference: dict, candidate: dict) -> dict:
    """For each statistic in both: ``<name>_mean_ref``, ``<name>_mean``, ``<name>_w1``,
    ``<name>_w1_norm`` (W1 in units of the reference's standard deviation, comparable
    across statistics) and ``<name>_kl``."""
    metrics = {}
    for name in reference:
        ref, cand = np.asarray(reference[name]), np.asarray(candidate[name])
        w1 = wasserstein1(ref, cand)
        spread = float(np.std(ref)) if len(ref) else 0.0
        metrics.update({
            f"{name}_mean_ref": float(np.mean(ref)) if len(ref) else float("nan"),
            f"{name}_mean": float(np.mean(cand)) if len(cand) else float("nan"),
            f"{name}_w1": w1,
            f"{name}_w1_norm": w1 / spread if spread > 0 else float("nan"),
            f"{name}_kl": kl_divergence(ref, cand),
        })
    return metrics
