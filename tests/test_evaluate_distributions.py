"""Grain statistics on shapes with known answers, and distances between distributions."""
import numpy as np
import pytest

from mcrpy_poly import OrientationMap
from mcrpy_poly.evaluate.distributions import (
    chord_lengths,
    distribution_distances,
    equivalent_diameters,
    grain_shapes,
    grain_statistics,
    kl_divergence,
    neighbour_counts,
    neighbour_misorientations,
    wasserstein1,
)
from mcrpy_poly.grains import segment_grains
from mcrpy_poly.orientation.quaternion import from_axis_angle
from mcrpy_poly.synthetic import voronoi

IDENTITY = np.array([1.0, 0.0, 0.0, 0.0])


def rectangle_map(shape, rows, cols, step=1.0, second=None):
    """Identity orientation everywhere except a rectangle rotated 30 degrees about z."""
    second = from_axis_angle([0.0, 0.0, 1.0], np.radians(30.0)) if second is None else second
    q = np.tile(IDENTITY, shape + (1,))
    q[rows, cols] = second
    return OrientationMap(q, "m-3m", step=step)


def test_rectangle_size_shape_and_orientation():
    grains = segment_grains(rectangle_map((40, 40), slice(10, 14), slice(5, 17), step=1.5), periodic=False)
    rect = int(np.argmin(grains.sizes))
    assert grains.sizes[rect] == 4 * 12
    # Equivalent circle diameter of 48 pixels of 1.5 x 1.5 um.
    assert equivalent_diameters(grains)[rect] == pytest.approx(2 * np.sqrt(48 * 2.25 / np.pi))
    aspect, angle = grain_shapes(grains)
    assert aspect[rect] == pytest.approx(3.0)  # a 4 x 12 box: second moments 12^2/12 and 4^2/12
    assert angle[rect] == pytest.approx(0.0, abs=1e-9)  # long axis along x


def test_long_axis_angle_of_a_diagonal_grain():
    mask = np.add.outer(np.arange(30), -np.arange(30))  # row - col
    q = np.where((np.abs(mask) <= 1)[..., None], from_axis_angle([0, 0, 1], np.radians(30.0)), IDENTITY)
    grains = segment_grains(OrientationMap(q, "m-3m"), periodic=False)
    aspect, angle = grain_shapes(grains)
    diagonal = int(np.argmin(grains.sizes))
    assert aspect[diagonal] > 5
    assert angle[diagonal] == pytest.approx(45.0, abs=1e-6)  # from x towards y (row index)


def test_3d_sphere_equivalent_diameter():
    grains = segment_grains(rectangle_map((12, 12, 12), slice(2, 6), slice(2, 6)), periodic=False)
    small = int(np.argmin(grains.sizes))
    assert grains.sizes[small] == 4 * 4 * 12
    assert equivalent_diameters(grains)[small] == pytest.approx(np.cbrt(6 * 192 / np.pi))
    aspect, angle = grain_shapes(grains)
    assert aspect[small] == pytest.approx(3.0)
    assert angle[small] == pytest.approx(0.0, abs=1e-6)  # long axis along z


def test_chord_lengths_periodic_and_not():
    grains = segment_grains(rectangle_map((10, 20), slice(2, 5), slice(3, 9), step=0.5), periodic=False)
    x_chords = chord_lengths(grains, axis=1)
    # Interior chords only: the 3 rows through the rectangle give 6 px (the outer runs touch the edges).
    assert sorted(x_chords) == [3.0, 3.0, 3.0]
    periodic = segment_grains(rectangle_map((10, 20), slice(2, 5), slice(3, 9), step=0.5), periodic=True)
    x_chords = chord_lengths(periodic, axis=1)
    # Each row through the rectangle: 6 px of it and 14 px of the matrix around the face; 7 rows of 20 px.
    assert sorted(x_chords) == sorted([3.0] * 3 + [7.0] * 3 + [10.0] * 7)
    y_chords = chord_lengths(periodic, axis=0)
    assert sorted(y_chords) == sorted([1.5] * 6 + [3.5] * 6 + [5.0] * 14)


def test_neighbour_misorientation_and_count():
    q = np.tile(IDENTITY, (12, 12, 1))
    q[:, 4:8] = from_axis_angle([0, 0, 1], np.radians(30.0))
    q[:, 8:] = from_axis_angle([1, 0, 0], np.radians(20.0))
    grains = segment_grains(OrientationMap(q, "m-3m"), periodic=True)
    assert grains.n_grains == 3
    # Between 30 deg about z and 20 deg about x: cos(angle / 2) = cos(15 deg) cos(10 deg).
    composed = 2 * np.degrees(np.arccos(np.cos(np.radians(15.0)) * np.cos(np.radians(10.0))))
    assert sorted(neighbour_misorientations(grains)) == pytest.approx(sorted([30.0, 20.0, composed]), abs=1e-9)
    assert neighbour_counts(grains).tolist() == [2, 2, 2]


def test_distances_zero_for_identical_inputs():
    samples = grain_statistics(segment_grains(voronoi((128, 128), 60, seed=4)))
    distances = distribution_distances(samples, samples)
    assert all(v == 0.0 for k, v in distances.items() if k.endswith(("_w1", "_w1_norm", "_kl")))


def test_wasserstein_of_a_shift_is_the_shift_and_kl_grows():
    rng = np.random.default_rng(1)
    reference = rng.normal(10.0, 2.0, 4000)
    assert wasserstein1(reference, reference + 0.7) == pytest.approx(0.7)
    kls = [kl_divergence(reference, reference + shift) for shift in (0.0, 0.5, 1.0, 2.0, 4.0)]
    assert kls[0] == 0.0
    assert all(a < b for a, b in zip(kls, kls[1:]))
    # KL of two histograms, checked by hand on a tiny case: 2 bins, pseudocount 0.5.
    p = np.array([2 + 0.5, 0 + 0.5]) / 3.0
    q = np.array([1 + 0.5, 1 + 0.5]) / 3.0
    assert kl_divergence(np.array([0.0, 1.0]), np.array([0.0, 0.0]), bins=2) == pytest.approx(np.sum(p * np.log(p / q)))


def test_grain_size_distance_grows_with_coarsening():
    reference = grain_statistics(segment_grains(voronoi((192, 192), 80, seed=0)))
    w1 = [distribution_distances(reference, grain_statistics(segment_grains(voronoi((192, 192), n, seed=1))))
          ["grain_size_w1"] for n in (80, 50, 25)]
    assert w1[0] < w1[1] < w1[2]


def test_empty_samples_give_nan():
    assert np.isnan(wasserstein1(np.array([]), np.array([1.0])))
    assert np.isnan(kl_divergence(np.array([1.0]), np.array([])))


@pytest.mark.parametrize("periodic", [True, False])
def test_chord_lengths_of_single_grain_and_noise(periodic):
    """Edge cases: a map that is one grain (no run ends anywhere) and a map of one-pixel grains."""
    from mcrpy_poly.orientation.quaternion import random_uniform
    single = OrientationMap(np.tile([1.0, 0, 0, 0], (6, 7, 1)), "m-3m")
    grains = segment_grains(single, periodic=periodic, min_size=1)
    chords = chord_lengths(grains, axis=1)
    assert (chords.tolist() == [7.0] * 6) if periodic else chords.size == 0
    noisy = OrientationMap(random_uniform((4, 4, 4), 0), "m-3m")
    chords = chord_lengths(segment_grains(noisy, periodic=periodic, min_size=1), axis=0)
    assert np.all(chords == 1.0) and (chords.size == 64 if periodic else chords.size == 32)
