"""Grain-structured start: boundary fractions read from the descriptor, the fitted tessellation, the run."""
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import ndimage

import mcrpy_poly
from mcrpy_poly import synthetic
from mcrpy_poly.grains import segment_grains
from mcrpy_poly.orientation import SHSHBasis
from mcrpy_poly.orientation.quaternion import from_axis_angle, misorientation_angle, multiply, random_uniform
from mcrpy_poly.reconstruction.checkpoint import load_checkpoint
from mcrpy_poly.reconstruction.grain_start import (
    boundary_fractions,
    counted_density,
    observed_sections,
    target_grain_density,
    tessellation,
    threshold_distance,
    voronoi_density,
)
from mcrpy_poly.synthetic import LAGUERRE_RADIUS, voronoi_labels


def label_fractions(labels):
    """Share of periodic neighbour pairs with different labels along each axis (the numpy reference)."""
    return np.array([np.mean(labels != np.roll(labels, -1, axis=a)) for a in range(labels.ndim)])


def test_threshold_distance_is_that_of_a_five_degree_rotation():
    basis = SHSHBasis("m-3m")
    q = random_uniform((200,), np.random.default_rng(1))
    turned = from_axis_angle(np.random.default_rng(2).standard_normal((200, 3)), np.full(200, np.radians(5.0)))
    assert np.allclose(np.degrees(misorientation_angle(q, multiply(q, turned))), 5.0, atol=1e-6)
    distances = np.linalg.norm(basis(q) - basis(multiply(q, turned)), axis=-1)
    # cubic N = 8: the distance depends on the angle alone (notes_grain_fidelity.md: 0.152 at 5 degrees)
    assert np.ptp(distances) < 0.01 * distances.mean()
    assert threshold_distance(basis, 5.0) == pytest.approx(distances.mean(), rel=0.01)


@pytest.mark.parametrize("aspect", [(1, 1), (1, 2.5)])
def test_boundary_fractions_of_a_voronoi_map_are_its_label_fractions(aspect):
    omap, labels = synthetic.voronoi((96, 96), 40, "m-3m", aspect=aspect, seed=4, return_labels=True)
    fractions = boundary_fractions([(None, mcrpy_poly.characterize(omap))], 2)
    # random orientations: neighbour grains closer than 5 degrees are rare, so every label change is a boundary
    np.testing.assert_allclose(fractions, label_fractions(labels), rtol=0.03)


def test_a_section_gives_the_fractions_of_the_two_volume_axes_it_contains():
    omap, labels = synthetic.voronoi((64, 40), 30, "m-3m", seed=5, return_labels=True)
    characterization = mcrpy_poly.characterize(omap, periodic=True)
    fractions = boundary_fractions([(1, characterization)], 3)  # normal to axis 1: sees axes 0 and 2
    expected = label_fractions(labels)
    np.testing.assert_allclose(fractions[[0, 2]], expected, rtol=0.03)
    assert np.isnan(fractions[1])


def test_boundary_fractions_need_the_boundaries_descriptor():
    omap = synthetic.voronoi((16, 16), 6, seed=3)
    assert boundary_fractions([(None, mcrpy_poly.characterize(omap, descriptors=("texture",)))], 2) is None


@pytest.mark.parametrize("shape, fractions", [((96, 96), (0.08, 0.08)), ((96, 64), (0.12, 0.04)),
                                              ((40, 40, 40), (0.1, 0.1, 0.05))])
def test_tessellation_meets_the_fractions_it_is_given(shape, fractions):
    labels = tessellation(shape, fractions, seed=1)
    assert labels.shape == shape and labels.min() == 0
    assert len(np.unique(labels)) == labels.max() + 1
    np.testing.assert_allclose(label_fractions(labels), fractions, rtol=0.08)


def test_laguerre_cells_minimise_the_power_distance():
    shape, n = (24, 20), 15
    labels = voronoi_labels(shape, n, (1.0, 1.0), np.random.default_rng(3), size_spread=1.0)
    rng = np.random.default_rng(3)  # the same draws: seeds, then radii
    seeds = rng.uniform(size=(n, 2)) * shape
    radii = np.exp(rng.standard_normal(n))
    weights = (LAGUERRE_RADIUS * np.sqrt(np.prod(shape) / n) * radii / np.sqrt(np.mean(radii ** 2))) ** 2
    centres = np.stack(np.meshgrid(*[np.arange(s) + 0.5 for s in shape], indexing="ij"), -1)
    offset = np.abs(centres[..., None, :] - seeds)
    offset = np.minimum(offset, np.array(shape) - offset)  # nearest periodic image
    np.testing.assert_array_equal(labels, ((offset ** 2).sum(-1) - weights).argmin(-1))
    assert np.corrcoef(np.bincount(labels.ravel(), minlength=n), weights)[0, 1] > 0.5  # heavy seeds, large cells


def cells_of_at_least(labels, size):
    return int(np.sum(np.bincount(labels.ravel()) >= size))


def test_a_broad_grain_size_gets_a_size_spread_and_voronoi_stays_voronoi():
    shape = (128, 128)
    broad = voronoi_labels(shape, 260, (1.0, 1.0), np.random.default_rng(5), size_spread=1.5)
    cells = cells_of_at_least(broad, 5)  # periodic cells are convex: one grain each
    fitted = tessellation(shape, label_fractions(broad), 1, cells / broad.size)
    plain = tessellation(shape, label_fractions(broad), 1)
    # a Voronoi tessellation with the same mean chord has far fewer grains; the fitted spread restores them
    assert cells_of_at_least(plain, 5) < 0.8 * cells
    assert abs(cells_of_at_least(fitted, 5) - cells) < 0.15 * cells
    np.testing.assert_allclose(label_fractions(fitted), label_fractions(broad), rtol=0.1)
    even = voronoi_labels(shape, 80, (1.0, 1.0), np.random.default_rng(6))
    np.testing.assert_array_equal(tessellation(shape, label_fractions(even), 1, cells_of_at_least(even, 5) / even.size),
                                  tessellation(shape, label_fractions(even), 1))


def test_a_section_counts_grains_per_area_of_the_volume_it_cuts():
    shape = (32, 32, 32)
    volume = voronoi_labels(shape, 60, (1.0, 1.0, 1.0), np.random.default_rng(7))
    section = volume[:, :, 16]
    pieces = sum(np.sum(np.bincount(ndimage.label(section == cell)[0].ravel())[1:] >= 5) for cell in np.unique(section))
    # counted as an EBSD section is (non-periodic, grains of >= 5 px): the middle section normal to axis 2
    assert counted_density(volume, False, sections=(2,)) == pieces / section.size
    fractions = label_fractions(volume)[0]
    np.testing.assert_array_equal(tessellation(shape, fractions, 1, pieces / section.size, (2,), periodic=False),
                                  tessellation(shape, fractions, 1))  # a Voronoi volume's section: no spread


@pytest.mark.parametrize("size_spread", [0.0, 1.0])
def test_a_section_of_a_tessellation_is_drawn_alone(size_spread):
    shape, aspect = (20, 24, 16), np.array([1.2, 1.0, 0.8])
    volume = voronoi_labels(shape, 30, aspect, np.random.default_rng(3), size_spread)
    for axis in range(3):
        for index in (0, shape[axis] // 2, shape[axis] - 1):
            section = voronoi_labels(shape, 30, aspect, np.random.default_rng(3), size_spread, section=(axis, index))
            np.testing.assert_array_equal(section, np.take(volume, index, axis=axis))


def test_a_voronoi_density_is_counted_as_in_the_whole_tessellation():
    shape, aspect = (20, 24, 16), np.array([1.2, 1.0, 0.8])
    volume = voronoi_labels(shape, 30, aspect, np.random.default_rng([3, 1]))
    for sections in ([None], [2], [0, 1, 2]):
        for periodic in (True, False):
            assert voronoi_density(shape, 30, aspect, [3, 1], periodic, sections, 0.2) == counted_density(
                volume, periodic, sections, fraction=0.2)


def test_targets_count_once_however_many_axes_they_serve():
    first, second = (SimpleNamespace(grain_density=density) for density in (0.01, 0.03))
    assert observed_sections([(0, first), (1, first), (2, first)]) == [0]
    assert observed_sections([(0, first), (1, second), (2, first)]) == [0, 1]
    assert observed_sections([(None, first)]) == [None]
    assert target_grain_density([(0, first), (1, second), (2, first)]) == pytest.approx(0.02)
    assert target_grain_density([(0, first), (1, SimpleNamespace(grain_density=None))]) is None


def test_grain_start_reconstruction_has_the_reference_grain_count():
    omap = synthetic.voronoi((48, 48), 16, "m-3m", seed=6)
    characterization = mcrpy_poly.characterize(omap)
    result = mcrpy_poly.reconstruct(characterization, omap.shape, max_iter=40, progress=False)
    assert result.settings["start"] == "grains" and result.settings["level_iterations"] == [36]
    assert len(result.loss_history) == 40
    reference = segment_grains(omap, periodic=True).n_grains
    assert abs(result.grains.n_grains - reference) <= 0.35 * reference


def test_a_grain_start_resumes_from_its_checkpoint(tmp_path):
    omap = synthetic.voronoi((32, 32), 8, "m-3m", seed=7)
    characterization = mcrpy_poly.characterize(omap)
    checkpoint = tmp_path / "run.npz"

    def stop_at_13(evaluation, loss):
        if evaluation == 13:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        mcrpy_poly.reconstruct(characterization, omap.shape, max_iter=30, checkpoint=checkpoint, checkpoint_every=5,
                               callback=stop_at_13, progress=False)
    saved = load_checkpoint(checkpoint)
    assert saved.level_done == 10 and len(saved.history) == 10
    labels = tessellation(omap.shape, boundary_fractions([(None, characterization)], 2), 0,
                          characterization.grain_density, [None], characterization.periodic)
    for grain in range(labels.max() + 1):  # the checkpoint holds one orientation per tessellation cell
        assert np.ptp(saved.state[labels == grain], axis=0).max() == 0
    resumed = mcrpy_poly.reconstruct(characterization, omap.shape, max_iter=30, checkpoint=checkpoint, resume=True,
                                     progress=False)
    assert len(resumed.loss_history) == 30
    np.testing.assert_array_equal(resumed.loss_history[:10], saved.history)
    assert resumed.final_loss <= min(saved.history)


def test_a_sparse_slice_loss_sees_only_its_slices():
    from mcrpy_poly.reconstruction.loss import DescriptorLoss

    section = synthetic.voronoi((16, 16), 5, "m-3m", seed=8)
    characterization = mcrpy_poly.characterize(section, descriptors=("correlations", "texture"), limit_to=4)
    targets = [(axis, dict(characterization.descriptors)) for axis in range(3)]
    weights = {"correlations": 1.0, "texture": 1.0}
    sparse = DescriptorLoss(characterization.basis, (16, 16, 16), targets, weights, {"correlations": 4},
                            characterization.pairs, slices_per_axis=4)
    dense = DescriptorLoss(characterization.basis, (16, 16, 16), targets, weights, {"correlations": 4},
                           characterization.pairs)
    assert [list(sparse.slices[a]) for a in range(3)] == [[2, 6, 10, 14]] * 3
    state = random_uniform((16, 16, 16), np.random.default_rng(9))
    other = state.copy()
    other[3, 5, 7] = random_uniform((1,), np.random.default_rng(10))[0]  # on no chosen slice of any axis
    assert sparse(other) == sparse(state) and dense(other) != dense(state)
    other[2, 5, 7] = other[3, 5, 7]  # on the chosen slice 2 of axis 0
    assert sparse(other) != sparse(state)


@pytest.mark.parametrize("shape, sliced", [((24, 20), False), ((12, 10, 8), True)])
def test_the_grain_loss_is_the_voxel_loss_of_the_gathered_field(shape, sliced):
    from mcrpy_poly.reconstruction import multigrid
    from mcrpy_poly.reconstruction.loss import DEFAULT_WEIGHTS, DescriptorLoss, GrainLoss

    section = synthetic.voronoi((24, 20), 6, "m-3m", seed=11)
    characterization = mcrpy_poly.characterize(section, limit_to=4)
    names = list(characterization.descriptors)
    targets = multigrid.pooled_targets({n: characterization[n] for n in names if n in multigrid.POOLABLE}, 1,
                                       [n for n in names if n in multigrid.POOLABLE])
    targets.update({n: characterization[n] for n in names if n not in multigrid.POOLABLE})
    axes = [0, 1, 2] if sliced else [None]
    loss = DescriptorLoss(characterization.basis, shape, [(a, targets) for a in axes],
                          {n: DEFAULT_WEIGHTS[n] for n in names}, {"correlations": 4, "variogram": 4},
                          characterization.pairs)
    labels = tessellation(shape, [0.3] * len(shape), seed=2)
    n = labels.max() + 1
    q = random_uniform((n,), np.random.default_rng(12))
    grain_loss = GrainLoss(loss, labels)
    assert (grain_loss.grain_pairs is None) == sliced
    value, gradient = grain_loss.value_and_gradient(q)
    voxel_value, voxel_gradient = loss.value_and_gradient(q[labels])
    assert float(value) == pytest.approx(float(voxel_value), rel=1e-10)
    summed = np.stack([np.bincount(labels.ravel(), voxel_gradient.numpy().reshape(-1, 4)[:, c], minlength=n)
                       for c in range(4)], axis=1)  # chain rule of the gather, in numpy
    np.testing.assert_allclose(gradient.numpy(), summed, rtol=1e-8, atol=1e-12)
