"""Grain-boundary descriptor: a direct-sum NumPy reference, an analytic two-grain case, its W1 meaning,
gradients against finite differences; and the grain stage on constructed cases."""
import numpy as np
import pytest
import tensorflow as tf

from mcrpy_poly import OrientationMap, SHSHBasis
from mcrpy_poly.descriptors.boundaries import boundary_distribution, directions, thresholds
from mcrpy_poly.orientation.quaternion import from_axis_angle, misorientation_angle
from mcrpy_poly.reconstruction.grain_stage import run_grain_stage

T_MAX = 4.0


def reference(field, spacings, periodic, mask=None):
    """Direct sums: for each spacing, direction and bin, the mean over valid pixel pairs of the share of
    the bin below the distance, times the bin width."""
    t, width = thresholds(T_MAX)
    shape = field.shape[:-1]
    m = np.ones(shape) if mask is None else mask.astype(float)
    out = np.zeros((len(spacings), len(directions(len(shape))), len(t)))
    for i, p in enumerate(spacings):
        for j, r in enumerate(directions(len(shape))):
            total, count = np.zeros(len(t)), 0.0
            for x in np.ndindex(shape):
                y = tuple(a + p * c for a, c in zip(x, r))
                if not periodic and any(c < 0 or c >= s for c, s in zip(y, shape)):
                    continue
                y = tuple(c % s for c, s in zip(y, shape))
                w = m[x] * m[y]
                d = np.sqrt(np.sum((field[y] - field[x]) ** 2) + (1e-4 * T_MAX) ** 2)
                total += w * np.clip((d - t) / width, 0.0, 1.0)
                count += w
            out[i, j] = width * total / count
    return out


@pytest.mark.parametrize("shape, periodic", [((5, 7), True), ((5, 7), False), ((4, 3, 5), False)])
def test_matches_direct_sums(shape, periodic):
    rng = np.random.default_rng(0)
    field = rng.normal(size=shape + (3,))
    mask = rng.random(shape) > 0.2
    for m in (None, mask):
        actual = boundary_distribution(field, T_MAX, spacings=(1, 2), periodic=periodic, mask=m).numpy()
        np.testing.assert_allclose(actual, reference(field, (1, 2), periodic, m), atol=1e-12)


def test_two_grains_give_boundary_density_times_distance():
    """Two stripes of 8 columns on a periodic 16 x 16 grid: along x, 2 of 16 pairs cross a boundary of SHSH
    distance D, so the sum of the descriptor (the mean distance) is D / 8; along y it is 0."""
    basis = SHSHBasis("m-3m")
    q = np.where((np.arange(16) < 8)[None, :, None], np.array([1.0, 0, 0, 0]),
                 from_axis_angle([0.0, 0.0, 1.0], np.radians(30.0)))
    field = basis(np.broadcast_to(q, (16, 16, 4)))
    eps = 1e-4 * 2.0  # the smoothing of the distance at 0: sqrt(d^2 + eps^2)
    distance = np.hypot(np.linalg.norm(field[0, 8] - field[0, 0]), eps)
    values = boundary_distribution(field, 2.0, spacings=(1,)).numpy()[0]
    assert values[1].sum() == pytest.approx((2 * distance + 14 * eps) / 16, rel=1e-9)  # along x
    assert values[0].sum() == pytest.approx(eps, rel=1e-9)  # along y
    assert values[2].sum() == pytest.approx((2 * distance + 14 * eps) / 16, rel=1e-9)  # diagonals


def test_l1_difference_is_the_wasserstein_distance_of_the_distances():
    """Fields whose neighbour distances are all a (resp. b) differ in L1 by about |a - b|."""
    ramp = np.arange(64.0)[:, None, None] * np.array([1.0, 0, 0])  # neighbour distance 1 along axis 0
    a = boundary_distribution(0.3 * ramp, T_MAX, spacings=(1,), periodic=False).numpy()[0, 0]
    b = boundary_distribution(0.8 * ramp, T_MAX, spacings=(1,), periodic=False).numpy()[0, 0]
    assert np.abs(a - b).sum() == pytest.approx(0.5, rel=1e-6)
    assert a.sum() == pytest.approx(0.3, rel=1e-6)


def test_gradient_matches_finite_differences():
    rng = np.random.default_rng(3)
    field = tf.Variable(rng.normal(size=(5, 6, 2)))
    weights = rng.normal(size=(1, 4, 32))
    with tf.GradientTape() as tape:
        value = tf.reduce_sum(boundary_distribution(field, T_MAX, spacings=(1,)) * weights)
    gradient = tape.gradient(value, field).numpy()
    step, base = 1e-6, field.numpy()
    for index in [(0, 0, 0), (2, 3, 1), (4, 5, 0)]:
        plus, minus = base.copy(), base.copy()
        plus[index] += step
        minus[index] -= step
        numeric = (np.sum(boundary_distribution(plus, T_MAX, spacings=(1,)).numpy() * weights)
                   - np.sum(boundary_distribution(minus, T_MAX, spacings=(1,)).numpy() * weights)) / (2 * step)
        assert gradient[index] == pytest.approx(numeric, rel=1e-5, abs=1e-8)


# -- grain stage ---------------------------------------------------------------------------------
def grain_map():
    """Two grains (columns 0-9 and 10-19 of a periodic 20 x 20 map) with 2 degrees of drift inside, a 1-pixel
    speck of a third orientation inside the first, and a real 2 x 3 = 6 pixel grain inside the second."""
    q = np.empty((20, 20, 4))
    drift = from_axis_angle([1.0, 0.0, 0.0], np.radians(np.linspace(0.0, 2.0, 20)))[:, None]
    left = from_axis_angle([0.0, 0.0, 1.0], np.radians(0.0))
    right = from_axis_angle([0.0, 0.0, 1.0], np.radians(35.0))
    from mcrpy_poly.orientation.quaternion import multiply

    q[:, :10] = multiply(drift, left)
    q[:, 10:] = multiply(drift, right)
    q[5, 4] = from_axis_angle([0.0, 1.0, 0.0], np.radians(20.0))
    q[12:14, 14:17] = from_axis_angle([1.0, 1.0, 0.0], np.radians(25.0))
    return OrientationMap(q, "m-3m")


def test_grain_stage_absorbs_specks_keeps_small_grains_and_makes_grains_uniform():
    field, grains = run_grain_stage(grain_map())
    assert grains.n_grains == 3
    labels = grains.labels
    assert labels[5, 4] == labels[0, 0]  # the speck joined its grain
    small = labels[12, 14]
    assert np.sum(labels == small) == 6 and small not in (labels[0, 0], labels[0, 19])
    q = field.quaternions.reshape(-1, 4)
    for g in range(grains.n_grains):
        inside = q[labels.ravel() == g]
        assert np.max(np.degrees(misorientation_angle(inside, inside[:1], field.symmetry.quaternions))) < 1e-6
    # the grain orientation is the mean of its pixels: 1 degree of the 0-2 degree drift
    left = from_axis_angle([0.0, 0.0, 1.0], 0.0)[None]
    mean_drift = np.degrees(misorientation_angle(q[:1], left, field.symmetry.quaternions))[0]
    assert mean_drift == pytest.approx(1.0, abs=0.05)
