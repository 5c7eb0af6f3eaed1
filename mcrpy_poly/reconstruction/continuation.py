"""Degree continuation: fit the c-axis functions first, then all of them, with coherent twists.

The groups with one main axis of order ``n > 2`` and no other (hexagonal, tetragonal, trigonal) have
SHSH of low degree that see only the crystal c-axis (orix's crystal ``z``): a harmonic of degree
``l < n`` invariant under the ``n``-fold turn is invariant under every turn about that axis
(:class:`~mcrpy_poly.orientation.shsh.SHSHBasis`). Their reconstruction first fits the functions
of the lowest degree (:func:`continuation_channels`; the multigrid levels of :mod:`.multigrid`),
then all of them on the final grid.

The first stage leaves each pixel's *twist* (its turn about its own c-axis) where the random start
put it, so a grain of one c-axis is a mosaic of random twists; fitting all functions from there
orders those twists like domains of a clock model and freezes walls between them, each wall a
spurious grain boundary (64 x 64, 20 random-texture 6/mmm grains, 400 evaluations, 17 functions:
85 grains segmented, most extra boundaries twists of 15-60 degrees about a shared c-axis; 41 with
the alignment).
:func:`align_twists` gives every pixel of a c-axis grain the twist of one of its pixels before
the second stage.
"""
from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from ..grains import face_neighbour_pairs
from ..orientation.quaternion import conjugate, multiply, normalize

#: Neighbours whose c-axes are closer than this (degrees) belong to one c-axis grain. Small, so that
#: neighbouring grains of a sharp c-axis texture keep their own twists: 64 x 64, 400 evaluations, final
#: loss on a basal fibre map (15 degrees spread, 25 grains) 0.90 / 0.48 / 0.71 at 5 / 2 / 1 degrees
#: (0.70 without alignment), on a random-texture map (20 grains) 1.64 / 1.57 / 1.44.
AXIS_THRESHOLD = 2.0


def continuation_channels(basis) -> int | None:
    """Channels of the first stage of a degree continuation: those of the lowest degree, when the
    basis has higher degrees and the lowest alone does not fix orientations (hexagonal: the 5
    c-axis functions of ``N = 4``); ``None`` when no continuation is needed.

    Only the lowest degree, because each higher degree adds false minima to the landscape: with the
    c-axis functions of ``N = 8`` (``l = 4``) two neighbours with perpendicular c-axes are a local
    minimum of their squared SHSH distance (by the addition theorem ``5 (1 - P_2(x)) + 9 (1 - P_4(x))``
    of ``x = cos`` of the c-axis angle, stationary at 90 degrees with curvature
    ``-5 P_2''(0) - 9 P_4''(0) = -15 + 67.5 > 0``); ``N = 4`` alone has none (its distance grows up
    to 90 degrees). On a random hexagonal Voronoi map (64 x 64, coarse level, 100 evaluations,
    correlations, mean variation and texture; the 17 functions of ``N = 4, 8`` and 3 of ``N = 12``):
    the 5 functions of ``N = 4`` first, then all, reach a loss of 0.11; the 14 of ``N = 4, 8`` first, 0.93.
    """
    n_low = sum(1 for N, _ in basis.labels if N == basis.degrees[0])
    if n_low == basis.n_terms or basis.first(n_low).fixes_orientation:
        return None
    return n_low


def c_axes(q) -> np.ndarray:
    """The crystal c-axis (``z``) of each orientation in the sample frame, ``conj(q) z q``.

    Parameters
    ----------
    q : array_like, shape (..., 4)
        Orientations in orix convention (crystal symmetry acts on the left).

    Returns
    -------
    numpy.ndarray, shape (..., 3)
        Unit vectors.
    """
    q = normalize(np.asarray(q, dtype=np.float64))
    z = np.zeros(q.shape)
    z[..., 3] = 1.0
    return multiply(multiply(conjugate(q), z), q)[..., 1:]


def _shortest_arc(u, v) -> np.ndarray:
    """Unit quaternions ``(..., 4)`` of the smallest turns taking unit vectors ``u`` to ``v``
    (``u . v > -1``)."""
    q = np.concatenate([1.0 + np.sum(u * v, axis=-1, keepdims=True), np.cross(u, v)], axis=-1)
    return normalize(q)


def axis_grains(q, periodic: bool = True, threshold: float = AXIS_THRESHOLD) -> np.ndarray:
    """Connected regions of face neighbours whose (axial) c-axes differ by less than ``threshold``
    degrees.

    Parameters
    ----------
    q : array_like, shape (*spatial, 4)
    periodic : bool
    threshold : float

    Returns
    -------
    numpy.ndarray of int, shape spatial
        Region label of each pixel, ``0 .. n - 1``.
    """
    axes = c_axes(q)
    spatial = axes.shape[:-1]
    flat = axes.reshape(-1, 3)
    first, second = [], []
    for a, b in face_neighbour_pairs(spatial, periodic):
        close = np.abs(np.sum(flat[a] * flat[b], axis=-1)) > np.cos(np.radians(threshold))
        first.append(a[close])
        second.append(b[close])
    first, second = np.concatenate(first), np.concatenate(second)
    n = flat.shape[0]
    graph = sparse.coo_matrix((np.ones(first.size), (first, second)), shape=(n, n))
    return connected_components(graph, directed=False)[1].reshape(spatial)


def align_twists(state, periodic: bool = True, threshold: float = AXIS_THRESHOLD) -> np.ndarray:
    """Give every pixel of a c-axis grain (:func:`axis_grains`) the twist of the grain's first pixel,
    keeping each pixel's c-axis.

    A pixel ``q`` with c-axis ``c`` in a grain whose first pixel ``r`` has c-axis ``c_r`` becomes
    ``r * conj(a)``, ``a`` the smallest turn taking ``c_r`` to ``+-c`` (the sign nearer ``c_r``;
    a c-axis is a direction without sense for the functions of the first stage); its c-axis is
    ``c`` (up to sign) and its misorientation with ``r`` the tilt between the two axes.

    Parameters
    ----------
    state : array_like, shape (*spatial, 4)
        Orientations (any non-zero 4-vectors, normalised first).
    periodic : bool
    threshold : float
        Degrees; see :func:`axis_grains`.

    Returns
    -------
    numpy.ndarray, shape (*spatial, 4)
        Unit quaternions.
    """
    q = normalize(np.asarray(state, dtype=np.float64))
    labels = axis_grains(q, periodic, threshold).ravel()
    flat = q.reshape(-1, 4)
    _, first = np.unique(labels, return_index=True)
    reference = flat[first][labels]
    axes, reference_axes = c_axes(flat), c_axes(reference)
    axes = np.where(np.sum(axes * reference_axes, axis=-1, keepdims=True) < 0, -axes, axes)
    aligned = multiply(reference, conjugate(_shortest_arc(reference_axes, axes)))
    return aligned.reshape(q.shape)
