"""Grain-level surrogates (mcrpy_poly.grain_field): area quotas against exact arithmetic, samples
against the known truth of a synthetic Voronoi map (its seed count and its orientations)."""
import numpy as np
import pytest

from mcrpy_poly import OrientationMap, SHSHBasis, synthetic
from mcrpy_poly.errors import InputError
from mcrpy_poly.grain_field import (
    TessellationField,
    adjacent_cells,
    disorientation_matrix,
    draw_with_area_quotas,
    match_boundary_misorientations,
)
from mcrpy_poly.grains import cell_boundaries, segment_grains
from mcrpy_poly.orientation.quaternion import from_axis_angle


def test_unit_cells_fill_every_quota_exactly():
    grain_sizes = np.array([3, 1, 4, 8])  # quotas on 32 cells: 6, 2, 8, 16
    for seed in range(5):
        chosen = draw_with_area_quotas(np.ones(32, int), grain_sizes, rng=seed)
        np.testing.assert_array_equal(np.bincount(chosen, minlength=4), [6, 2, 8, 16])


def test_no_cell_shares_its_grain_with_a_neighbour():
    labels = np.array([[0, 0, 1, 1], [2, 2, 1, 1], [2, 3, 3, 3], [0, 0, 1, 1]])  # periodic: 0 touches 2, 3, 1
    neighbours = adjacent_cells(labels)
    for cell, expected in enumerate([{1, 2, 3}, {0, 2, 3}, {0, 1, 3}, {0, 1, 2}]):
        assert set(neighbours[cell].tolist()) == expected
    for seed in range(20):  # four cells, four grains, all mutually adjacent: all different
        chosen = draw_with_area_quotas([4, 6, 3, 3], [1, 1, 1, 1], rng=seed, neighbours=neighbours)
        assert len(set(chosen.tolist())) == 4


def test_disorientations_are_symmetry_aware_and_similar_grains_never_neighbours():
    # identity, 3 deg about z, 90 deg about z (the identity again under cubic symmetry), 20 deg about x
    grains = np.stack([from_axis_angle([0, 0, 1], 0.0), from_axis_angle([0, 0, 1], np.radians(3)),
                       from_axis_angle([0, 0, 1], np.pi / 2), from_axis_angle([1, 0, 0], np.radians(20))])
    angles = disorientation_matrix(grains, OrientationMap(np.tile(grains[:1], (2, 2, 1)), "432").symmetry.quaternions,
                                   block=3)
    np.testing.assert_allclose(angles, angles.T, atol=1e-4)
    np.testing.assert_allclose([angles[0, 0], angles[0, 1], angles[0, 2], angles[1, 2], angles[0, 3]],
                               [0, 3, 0, 3, 20], atol=1e-3)
    labels = np.array([[0, 0, 1, 1], [2, 2, 1, 1], [2, 3, 3, 3], [0, 0, 1, 1]])  # all four cells adjacent
    similar = [np.array([g - g % 2, g - g % 2 + 1]) for g in range(8)]  # grains 2k and 2k + 1 would merge
    for seed in range(20):
        chosen = draw_with_area_quotas([4, 6, 3, 3], np.ones(8), rng=seed, neighbours=adjacent_cells(labels),
                                       similar=similar)
        assert len(set((chosen // 2).tolist())) == 4


def test_swaps_bring_twin_partners_together():
    """16 square cells (periodic 4 x 4 of 4 x 4 px), 16 grains in 8 twin pairs (60 degrees apart,
    every other pair 30): each cell has 4 neighbours, so at best a quarter of the boundary length
    is twin boundary, the target; random placement gives about 1/15 of it."""
    labels = np.kron(np.arange(16).reshape(4, 4), np.ones((4, 4), int))
    pairs, lengths = cell_boundaries(labels)
    assert len(pairs) == 32 and set(lengths.tolist()) == {4}  # 2 boundaries per cell, 4 px each
    partner = np.arange(16) ^ 1
    angles = np.full((16, 16), 30.0, np.float32)
    angles[np.arange(16), partner] = 60.0
    np.fill_diagonal(angles, 0.0)
    target = np.zeros(181)
    target[[30, 60]] = [0.75, 0.25]
    rng = np.random.default_rng(0)
    for seed in range(5):
        start = rng.permutation(16)
        grain = match_boundary_misorientations(start, pairs, lengths, angles, target, rng=seed,
                                               sizes=rng.permutation(16), moves_per_cell=200)
        assert sorted(grain.tolist()) == list(range(16))  # swaps only: every grain once
        twin_share = np.mean(angles[grain[pairs[:, 0]], grain[pairs[:, 1]]] == 60.0)
        assert twin_share >= 0.2  # 0.25 at best; a random placement: 2 / 30 (about 0.07)


def test_texture_guided_draw_tracks_the_area_weighted_mean():
    rng = np.random.default_rng(3)
    grain_sizes = rng.integers(1, 400, 60)
    values = rng.standard_normal((60, 5)) + np.array([0.3, 0.0, 0.0, 0.0, 0.0])
    cell_sizes = rng.integers(50, 500, 40)
    target = np.average(values, axis=0, weights=grain_sizes)
    guided, plain = [], []
    for seed in range(10):
        for out, kwargs in ((guided, dict(grain_values=values)), (plain, {})):
            chosen = draw_with_area_quotas(cell_sizes, grain_sizes, rng=seed, **kwargs)
            out.append(np.linalg.norm(np.average(values[chosen], axis=0, weights=cell_sizes) - target))
    assert np.mean(guided) < 0.1 * np.linalg.norm(target)
    assert np.mean(guided) < 0.5 * np.mean(plain)


def test_samples_have_the_reference_grains_size_and_orientations():
    reference = synthetic.voronoi((96, 96), 40, "432", seed=4)  # periodic, 40 cells
    field = TessellationField.from_map(reference, (128, 128))
    samples = field.sample(3, rng=0)
    assert samples.shape == (3, 128, 128, 4)
    known = {tuple(q) for q in np.round(reference.quaternions.reshape(-1, 4), 12)}
    assert {tuple(q) for q in np.round(samples.reshape(-1, 4), 12)} <= known  # the reference's own orientations
    # Share of neighbour pairs with different orientations per axis (1 / mean chord), by np.roll.
    def boundary_share(q, axis):
        return np.mean(np.any(q != np.roll(q, 1, axis=axis), axis=-1))

    for axis in (0, 1):
        expected = boundary_share(reference.quaternions, axis)
        got = np.mean([boundary_share(s, axis) for s in samples])
        assert abs(got / expected - 1) < 0.15
    with pytest.raises(InputError, match="cannot give"):
        TessellationField.from_map(synthetic.voronoi((8, 8, 8), 3), (16, 16))
    # Grains (5 degrees, periodic): the truth's 40 per 96^2 are 71 per 128^2; a cell never
    # shares its grain with a neighbour, so few merge.
    counts = [segment_grains(OrientationMap(s, "432"), periodic=True).n_grains for s in samples]
    assert 0.85 * 71 < np.mean(counts) < 1.15 * 71
    # Area-weighted texture (SHSH means) within 10 % of the reference's.
    basis = SHSHBasis(reference.symmetry)
    expected = basis(reference.quaternions).mean(axis=(0, 1))[1:]
    got = basis(samples).mean(axis=(0, 1, 2))[1:]
    assert np.linalg.norm(got - expected) < 0.1 * np.linalg.norm(expected)


def test_a_2d_map_gives_volumes_with_its_chords():
    """2D -> 3D (stereology: a line in a section is a line in the volume): the share of neighbour
    pairs across a cell boundary along every axis of the volume is the map's, within 15 %."""
    reference = synthetic.voronoi((96, 96), 40, "432", seed=4)
    volumes = TessellationField.from_map(reference, (40, 40, 40)).sample(2, rng=1)
    assert volumes.shape == (2, 40, 40, 40, 4)
    expected = np.mean([np.mean(np.any(reference.quaternions != np.roll(reference.quaternions, 1, axis=a), axis=-1))
                        for a in (0, 1)])
    for axis in range(3):
        got = np.mean(np.any(volumes != np.roll(volumes, 1, axis=axis + 1), axis=-1))
        assert abs(got / expected - 1) < 0.15
    with pytest.raises(InputError, match="cannot give"):
        TessellationField.from_map(synthetic.voronoi((8, 8, 8), 3), (16, 16))


def test_filling_the_reference_grains_keeps_its_boundaries_and_redraws_its_orientations():
    reference = synthetic.voronoi((64, 64), 30, "432", seed=6)  # periodic, random orientations
    field = TessellationField.from_map(reference)
    filled = field.redrawn(rng=2)
    known = {tuple(q) for q in np.round(reference.quaternions.reshape(-1, 4), 12)}
    assert {tuple(q) for q in np.round(filled.reshape(-1, 4), 12)} <= known
    for axis in (0, 1):  # every boundary stays where it is (neighbour cells never share a grain)
        np.testing.assert_array_equal(np.any(filled != np.roll(filled, 1, axis=axis), axis=-1),
                                      np.any(reference.quaternions != np.roll(reference.quaternions, 1, axis=axis),
                                             axis=-1))
    moved = np.any(np.round(filled, 12) != np.round(reference.quaternions, 12), axis=-1)
    assert moved.mean() > 0.5  # another realisation, not the reference
