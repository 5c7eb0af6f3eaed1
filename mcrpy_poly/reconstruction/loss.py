"""The reconstruction loss: weighted squared residuals of SHSH descriptors (paper 004, Eqs. 3, 5, 23).

For a candidate state ``x`` (one unconstrained 4-vector per voxel; :meth:`SHSHBasis.tf`
normalises it, so no norm penalty is needed) the loss is

``L(x) = sum_d w_d sum_a (1 / n_a) sum_i ||D_d(slice_i^a(x)) - T_d^a||^2 / ||T_d^a||^2``

- 2D (or native 3D) reconstruction: a single "axis" ``a`` whose only slice is the whole field;
- 2D -> 3D (Eq. 5): ``a`` runs over the three axes, ``i`` over the ``n_a`` slices normal to
  axis ``a``, each compared with the 2D target of that axis.

Each descriptor's residual is divided by the squared norm of its target, so a term is a squared
relative error and the weights ``w_d`` are dimensionless: the loss is about ``w_d * e_d^2`` for
relative errors ``e_d``. The variogram (:data:`PER_CHANNEL`) is normalised channel by channel
instead, ``(1 / K) sum_k ||D_k - T_k||^2 / ||T_k||^2``, the quantity its per-lag error map
measures: with one global norm, channels whose target is small (on a textured hexagonal map the
c-axis functions that barely vary) were fitted only in absolute terms (78 % of the variogram
entries within 5 % instead of 96 %; benchmarks/results/reconstruction.md). A channel's norm is
floored at :data:`CHANNEL_FLOOR` times the mean, so a constant channel cannot dominate.

The grain-boundary descriptor (:mod:`mcrpy_poly.descriptors.boundaries`, :data:`TRANSPORT`) enters
as its relative Wasserstein-1 distance, ``w * sum |D - T| / sum T`` per row (not squared): its
vector is a weighted complementary distribution, whose L1 difference is the transport distance
between the two neighbour-distance distributions; a squared distance of histograms barely sees a
few per cent of pixel pairs in the wrong place, a transport distance does.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from ..descriptors import compute_descriptors, slice_descriptors
from ..descriptors.boundaries import directions, distance_scale, exceedances
from ..grains import cell_boundaries

#: Descriptors of a reconstruction by default: paper 004's set (section 3.2) plus the texture
#: (the mean SHSH vector), which costs nothing and pins the one-point statistics: on the MCRpy
#: example map the texture error falls from 2.6 % to 0.04 % and the final loss does not rise
#: (1.5e-4 vs 1.7e-4); on the sdss austenite map from 19 % to 0.04 % (benchmarks/RESULTS.md).
DEFAULT_DESCRIPTORS = ("correlations", "variogram", "mean_variation", "texture", "boundaries")
#: Weight of :class:`GrainLoss`'s separation term: with ``n`` pairs of touching grains, one pair at
#: one orientation costs ``10 / n`` (sdss ferrite, 79 pairs: 0.13, about the whole descriptor loss;
#: weight 1 still let 3 of its 79 pairs merge).
SEPARATION_WEIGHT = 10.0

#: Default weight of each descriptor's squared relative error. The mean variation regularises
#: grain interiors without dominating the spatial statistics (paper 004, Fig. 8). The variogram
#: weighs 3 against the correlations (the ratio of paper 004, Fig. 7, that sets how sharp the
#: interfaces are): measured against weight 1, 128 x 128, 1000 evaluations, the variogram entries
#: within 5 % rise from 99.8 to 100 % on the MCRpy example map, from 95.9 to 97.6 % on a textured
#: hexagonal map and from 72.5 to 87.1 % on the sdss austenite map (256 x 256: 84.3 to 93.8 %),
#: while the correlation errors move by at most 0.25 points (benchmarks/results/reconstruction.md).
#: The texture weighs 5: fitting the orientations of a few dozen grains (the grain-structured start),
#: the texture is what the other terms trade away first; on the tuning maps of
#: ``benchmarks/bench_grains.py`` weight 5 against 1 gives 2.1 against 3.9 % (hexagonal fibre) and 2.1
#: against 2.3 % (cube texture) with the same grains. A heavier variogram fits it closer in the grain
#: start (weight 30: entries within 5 % 55 -> 82 % on a random Voronoi map) but costs texture (random
#: hexagonal map 2.6 -> 5.6 %) or, with the texture weight raised too, merges textured neighbours
#: (README map ED +10 -> +15 %): ``benchmarks/RESULTS.md``, weights ablation.
DEFAULT_WEIGHTS = {"correlations": 1.0, "variogram": 3.0, "mean_variation": 0.1, "texture": 5.0, "boundaries": 3.0}

#: Descriptors whose residual is normalised channel by channel (module docstring).
PER_CHANNEL = ("variogram",)
#: Floor of a channel's squared target norm, relative to the mean over channels.
CHANNEL_FLOOR = 1e-4
#: Descriptors compared by the L1 norm of their residual (a transport distance), not its square.
TRANSPORT = ("boundaries",)


def residual_scale(name: str, target: np.ndarray, weight: float):
    """Weight of the squared residual of each row (first axis) of ``target``: ``weight /
    ||target||^2`` for every row, or for :data:`PER_CHANNEL` descriptors the per-channel
    ``weight / (K ||target_k||^2)``, for :data:`TRANSPORT` descriptors ``weight / (n_rows
    sum |target_row|)`` (a relative L1 residual); shape ``(n_rows,)``."""
    if name in TRANSPORT:
        return weight / (target.shape[0] * np.maximum(np.sum(np.abs(target.reshape(target.shape[0], -1)), axis=1),
                                                      1e-300))
    energy = np.sum(target.reshape(target.shape[0], -1) ** 2, axis=1)
    if name not in PER_CHANNEL:
        return np.full(target.shape[0], weight / max(float(np.sum(energy)), 1e-300))
    energy = np.maximum(energy, max(CHANNEL_FLOOR * float(np.mean(energy)), 1e-300))
    return weight / (target.shape[0] * energy)


class DescriptorLoss:
    """Loss of one grid (one multigrid level), compiled once for its state shape.

    Parameters
    ----------
    basis : SHSHBasis
    shape : tuple of int
        Spatial shape of the state ``(H, W)`` or ``(H, W, D)``.
    targets : list of (int or None, dict of str to numpy.ndarray)
        ``(axis, {name: target})``: ``axis=None`` compares the descriptors of the whole field,
        an int compares those of every slice normal to that axis (2D targets).
    weights : dict of str to float
        Weight of each descriptor present in the targets.
    limits : dict of str to int
        Lag windows of the windowed descriptors.
    pairs : list of (int, int)
        Channel pairs of the correlations (the targets' row order).
    slices_per_axis : int, optional
        Slice targets compare only about this many slices per axis, evenly spaced (every
        ``size // slices_per_axis``-th from the middle of the first stride): an unbiased estimate of
        the slice average at a fraction of the cost, for states whose voxels are not free (grain
        orientations, where every grain spans several slices). Default: every slice.
    """

    def __init__(self, basis, shape, targets, weights, limits, pairs, slices_per_axis: int | None = None):
        self.basis = basis
        self.shape = tuple(int(s) for s in shape)
        self.limits = dict(limits)
        self.pairs = [tuple(p) for p in pairs]
        self.slices = {axis: np.arange(size)[max(1, size // slices_per_axis) // 2::max(1, size // slices_per_axis)]
                       for axis, size in enumerate(self.shape)} if slices_per_axis else {}
        self.terms = []  # (axis, name, target tensor, residual_scale)
        for axis, descriptors in targets:
            for name, target in descriptors.items():
                target = np.asarray(target, dtype=np.float64)
                scale = tf.constant(residual_scale(name, target, float(weights[name])), tf.float64)
                self.terms.append((axis, name, tf.constant(target), scale))
        self.names = sorted({name for _, name, _, _ in self.terms})
        self.t_max = distance_scale(self.basis) if "boundaries" in self.names else None
        spec = tf.TensorSpec(self.shape + (4,), tf.float64)
        self.value_and_gradient = tf.function(self._value_and_gradient, input_signature=[spec], autograph=False)

    def _slice_descriptors(self, field, names, axis):
        """Descriptors ``{name: (n_slices, ...)}`` of the whole field (``axis=None``) or of
        each of its slices normal to ``axis``."""
        options = dict(names=names, limit_to=self.limits, pairs=self.pairs, t_max=self.t_max)
        if axis is None:
            return {name: value[None] for name, value in compute_descriptors(field, **options).items()}
        if axis in self.slices:
            field = tf.gather(field, self.slices[axis], axis=axis)
        return slice_descriptors(field, axis=axis, per_slice=True, **options)

    def _term_values(self, field, given=None):
        """Weighted squared relative residual of each descriptor, ``{name: scalar}``, of the SHSH
        ``field`` ``(*shape, K)``; ``given`` holds descriptors of the whole field already computed,
        ``{name: (1, ...)}``."""
        values = {}
        for axis in sorted({a for a, _, _, _ in self.terms}, key=lambda a: -1 if a is None else a):
            names = sorted({name for a, name, _, _ in self.terms if a == axis})
            known = dict(given or {}) if axis is None else {}
            current = self._slice_descriptors(field, [n for n in names if n not in known], axis)
            current.update(known)
            for a, name, target, scale in self.terms:
                if a == axis:
                    residual = current[name] - target[None]
                    size = tf.abs(residual) if name in TRANSPORT else residual * residual
                    rows = tf.reduce_sum(tf.reshape(size, [residual.shape[0], residual.shape[1], -1]),
                                         axis=2)  # (n_slices, n_rows)
                    values[name] = values.get(name, 0.0) + tf.reduce_mean(tf.reduce_sum(rows * scale, axis=1))
        return values

    def _value_and_gradient(self, x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.add_n(list(self._term_values(self.basis.tf(x)).values()))
        return loss, tape.gradient(loss, x)

    def __call__(self, x) -> float:
        """Loss of a state ``(*shape, 4)`` (array or tensor) as a Python float."""
        return float(self.value_and_gradient(tf.convert_to_tensor(x, tf.float64))[0])


class GrainLoss:
    """A :class:`DescriptorLoss` as a function of one orientation per grain, ``q (n, 4)``.

    The field is ``q[labels]``. The SHSH are evaluated per grain and gathered to the voxels, and
    the boundaries descriptor of a whole-field target (2D, native 3D) is summed over the pairs of
    grains that touch along each direction (a grain with itself for the pairs inside it), weighted
    by the number of voxel pairs between them: the same value as :class:`DescriptorLoss` on the
    gathered field, at a fraction of the cost.

    With ``separation``, a term keeps touching grains apart, as every segmented map's are: two face
    neighbours closer than the grain threshold are one grain, so a fit that brings touching cells
    together merges them in the grain stage (coarser grains than the map's; sdss ferrite, 36 cells:
    32 grains). It adds ``SEPARATION_WEIGHT * mean_b relu(1 - d_b / separation)^2`` over the pairs
    ``b`` of face-touching grains (periodic), ``d_b`` the distance of their SHSH vectors: every pair
    counts alike, however short its boundary (a merge costs one grain either way).

    Parameters
    ----------
    loss : DescriptorLoss
        The loss of the grid of ``labels``.
    labels : numpy.ndarray of int, shape ``loss.shape``
        Grain of every voxel, ``0 .. n - 1``.
    separation : float, optional
        SHSH distance below which touching grains are pushed apart (none: the loss alone).
    """

    def __init__(self, loss: DescriptorLoss, labels, separation: float | None = None):
        labels = np.asarray(labels, dtype=np.int64)
        self.loss, self.n_grains = loss, int(labels.max()) + 1
        self.labels = tf.constant(labels)
        if separation is not None:
            pairs = cell_boundaries(labels)[0]
            self.separation = (float(separation), tf.constant(pairs[:, 0]), tf.constant(pairs[:, 1]))
        else:
            self.separation = None
        whole = [axis is None for axis, name, _, _ in loss.terms if name == "boundaries"]
        pairs_apply = whole and all(whole)
        self.grain_pairs = [self._touching(labels, r) for r in directions(labels.ndim)] if pairs_apply else None
        spec = tf.TensorSpec((self.n_grains, 4), tf.float64)
        self.value_and_gradient = tf.function(self._value_and_gradient, input_signature=[spec], autograph=False)

    def _touching(self, labels, r):
        """``(first, second, counts)``: every grain pair ``(labels(x), labels(x + r))`` with its number
        of voxel pairs (a grain with itself for the pairs inside it)."""
        moved = np.roll(labels, [-int(c) for c in r], axis=tuple(range(labels.ndim))).ravel()
        pairs, counts = np.unique(labels.ravel() * self.n_grains + moved, return_counts=True)
        return (tf.constant(pairs // self.n_grains), tf.constant(pairs % self.n_grains),
                tf.constant(counts.astype(np.float64)))

    def _separation(self, values):
        """The separation term (class docstring) of grain SHSH vectors ``values (n, K)``."""
        distance, first, second = self.separation
        gap = tf.gather(values, first) - tf.gather(values, second)
        d = tf.sqrt(tf.reduce_sum(gap * gap, axis=1) + 1e-24)
        return SEPARATION_WEIGHT * tf.reduce_mean(tf.nn.relu(1.0 - d / distance) ** 2)

    def _boundaries(self, values):
        """The spacing-1 boundaries descriptor ``(1, 1, n_directions, n_bins)`` of ``values[labels]``
        (:func:`~mcrpy_poly.descriptors.boundaries.batch_boundaries`, periodic) from the grain pairs."""
        rows = []
        for first, second, counts in self.grain_pairs:
            above, width = exceedances(tf.gather(values, second) - tf.gather(values, first), self.loss.t_max)
            rows.append(width * tf.reduce_sum(above * counts[:, None], axis=0) / tf.reduce_sum(counts))
        return tf.stack(rows)[None, None]

    def _value_and_gradient(self, q):
        loss = self.loss
        with tf.GradientTape() as tape:
            tape.watch(q)
            values = loss.basis.tf(q)
            given = {} if self.grain_pairs is None else {"boundaries": self._boundaries(values)}
            total = tf.add_n(list(loss._term_values(tf.gather(values, self.labels), given).values()))
            if self.separation is not None:
                total = total + self._separation(values)
        return total, tape.gradient(total, q)

    def __call__(self, q) -> float:
        """Loss of grain orientations ``(n, 4)`` as a Python float."""
        return float(self.value_and_gradient(tf.convert_to_tensor(q, tf.float64))[0])
