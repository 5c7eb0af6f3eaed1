"""Multigrid levels: pooled targets against NumPy pooling of real fields, upsampling, level plans."""
import numpy as np
import pytest

from mcrpy_poly.reconstruction import multigrid


def _numpy_correlations(field, limit_to):
    """Periodic ``mean_x f_a(x) f_b(x + r)`` of all pairs a <= b, lags |r_i| < limit_to (NumPy FFT)."""
    spectra = np.fft.fft2(field, axes=(0, 1))
    k = field.shape[-1]
    out = []
    for a in range(k):
        for b in range(a, k):
            full = np.fft.ifft2(np.conj(spectra[..., a]) * spectra[..., b]).real / field[..., 0].size
            idx = np.arange(-(limit_to - 1), limit_to)
            out.append(full[np.ix_(idx % field.shape[0], idx % field.shape[1])])
    return np.stack(out)


def _average_pool(field, pool):
    h, w, k = field.shape
    return field.reshape(h // pool, pool, w // pool, pool, k).mean(axis=(1, 3))


@pytest.mark.parametrize("pool", [2, 4])
def test_pooled_correlations_equal_offset_averaged_pooling(pool):
    # The derived coarse correlations equal the correlations of the average-pooled field,
    # averaged over the pool offsets (exact identity for any periodic field).
    rng = np.random.default_rng(1)
    field = rng.standard_normal((32, 32, 2))
    limit_to = 12
    fine = _numpy_correlations(field, limit_to)
    window = multigrid.coarse_window(limit_to, pool)
    expected = np.mean([_numpy_correlations(_average_pool(np.roll(field, (-i, -j), axis=(0, 1)), pool), window)
                        for i in range(pool) for j in range(pool)], axis=0)
    derived = multigrid.pooled_targets({"correlations": fine}, pool, ["correlations"])["correlations"]
    assert derived.shape == (3, 2 * window - 1, 2 * window - 1)
    np.testing.assert_allclose(derived, expected, atol=1e-12)


def test_pooled_mean_variation_and_texture_on_block_stripes():
    # Stripes whose boundaries fall on pool boundaries: pooling keeps them, so the coarse mean
    # variation is exactly pool times the fine one, and the mean is unchanged.
    pool = 2
    columns = np.repeat(np.array([0.0, 1.0, 3.0, 1.0]), 8)
    field = np.broadcast_to(columns[None, :, None], (16, 32, 1))

    def mean_variation(f):
        return sum(np.abs(np.roll(f, -1, axis) - f).mean(axis=(0, 1)) for axis in (0, 1))

    pooled = multigrid.pooled_targets({"mean_variation": mean_variation(field), "texture": field.mean(axis=(0, 1))},
                                      pool, ["mean_variation", "texture"])
    coarse = _average_pool(field, pool)
    np.testing.assert_allclose(pooled["mean_variation"], mean_variation(coarse))
    np.testing.assert_allclose(pooled["texture"], coarse.mean(axis=(0, 1)))


def test_upsample_repeats_each_voxel():
    state = np.arange(2 * 3 * 2 * 4, dtype=float).reshape(2, 3, 2, 4)
    up = multigrid.upsample(state, 2)
    assert up.shape == (4, 6, 4, 4)
    for i, j, k in np.ndindex(4, 6, 4):
        np.testing.assert_array_equal(up[i, j, k], state[i // 2, j // 2, k // 2])


def _two_grains_along_a_diagonal(n):
    """Coarse n x n state: grain A (identity) where i + j < n, grain B (40 deg about z) elsewhere, both with
    1 degree of scatter."""
    from mcrpy_poly.orientation.quaternion import from_axis_angle, multiply

    rng = np.random.default_rng(0)
    i, j = np.indices((n, n))
    a, b = from_axis_angle([0.0, 0.0, 1.0], 0.0), from_axis_angle([0.0, 0.0, 1.0], np.radians(40.0))
    scatter = from_axis_angle(rng.normal(size=(n, n, 3)), np.full((n, n), np.radians(1.0)))
    return multiply(scatter, np.where((i + j < n)[..., None], a, b)), a


def test_grain_aware_upsample_draws_a_boundary_between_cell_centres_not_a_staircase():
    from mcrpy_poly.orientation import resolve_symmetry
    from mcrpy_poly.orientation.quaternion import misorientation_angle

    n, factor = 12, 4
    state, a = _two_grains_along_a_diagonal(n)
    ops = resolve_symmetry("432").quaternions
    fine = n * factor
    u = (np.arange(fine) + 0.5) / factor - 0.5  # fine voxel centres in coarse units
    # The interpolated indicator of A is 1/2 on i + j = n - 1/2 (away from the periodic seam).
    level = u[:, None] + u[None, :] - (n - 0.5)
    truth = level < 0
    inner = np.zeros((fine, fine), bool)
    inner[factor:-2 * factor, factor:-2 * factor] = True
    inner &= np.abs(level) > 1e-9  # voxel centres on the line are ties
    agreement = {}
    for symmetry in (ops, None):
        up = multigrid.upsample(state, factor, symmetry_quaternions=symmetry)
        is_a = misorientation_angle(up, a, ops) < np.radians(10.0)
        agreement[symmetry is None] = np.mean(is_a[inner] != truth[inner])
    assert agreement[False] == 0.0
    assert agreement[True] > 0.01  # nearest neighbour: a staircase of 4 x 4 blocks
    # no orientation is made up: every fine voxel holds one of the coarse states
    up = multigrid.upsample(state, factor, symmetry_quaternions=ops)
    assert np.all(np.min(np.linalg.norm(up.reshape(-1, 1, 4) - state.reshape(1, -1, 4), axis=-1), axis=1) == 0)


def test_plan_shares_iterations_and_drops_the_variogram_on_coarse_levels():
    levels = multigrid.plan((128, 128), ["correlations", "variogram", "mean_variation"],
                            {"correlations": 16, "variogram": 4}, 1000, 3)
    assert [lv.pool for lv in levels] == [4, 2, 1]
    assert [lv.shape for lv in levels] == [(32, 32), (64, 64), (128, 128)]
    assert sum(lv.iterations for lv in levels) == 1000
    assert [lv.limits["correlations"] for lv in levels] == [4, 8, 16]
    assert "variogram" not in levels[0].names and "variogram" in levels[-1].names


def test_plan_defaults_to_two_levels_with_most_of_the_budget_on_the_final_grid():
    levels = multigrid.plan((128, 128), ["correlations", "variogram"], {"correlations": 16, "variogram": 4}, 1000)
    assert [(lv.pool, lv.iterations) for lv in levels] == [(2, 300), (1, 700)]


def test_plan_falls_back_to_one_level():
    # A window too small to pool (coarse window 3 < 4); without correlations there are no coarse targets.
    assert len(multigrid.plan((64, 64), ["correlations"], {"correlations": 6}, 10)) == 1
    assert len(multigrid.plan((64, 64), ["variogram"], {"variogram": 4}, 10)) == 1


def test_sizes_that_do_not_divide_round_the_coarse_grids_up():
    # The sdss map's 100 x 117 pixels: coarse grids ceil(100 / 4) x ceil(117 / 4) and ceil(/ 2).
    levels = multigrid.plan((100, 117), ["correlations", "variogram"], {"correlations": 16, "variogram": 4}, 100, 3)
    assert [lv.shape for lv in levels] == [(25, 30), (50, 59), (100, 117)]
    state = np.random.default_rng(0).normal(size=(100, 117, 4))
    coarse = multigrid.subsample(state, 4)
    assert coarse.shape == (25, 30, 4)
    up = multigrid.upsample(multigrid.subsample(state, 2), 2, (100, 117))
    assert up.shape == (100, 117, 4)
    np.testing.assert_array_equal(up[99, 116], state[98, 116])
    np.testing.assert_array_equal(up[37, 5], state[36, 4])


def test_plan_with_degree_continuation_splits_the_coarsest_level():
    names = ["correlations", "variogram", "boundaries"]
    levels = multigrid.plan((128, 128), names, {"correlations": 16, "variogram": 4}, 1000, 3, low_channels=5)
    assert [(lv.pool, lv.n_channels, lv.iterations) for lv in levels] == [(4, 5, 125), (4, None, 125),
                                                                         (2, None, 250), (1, None, 500)]
    # Neighbour distances are those of all channels: the boundaries target fits no level of fewer channels.
    assert [lv.names for lv in levels] == [("correlations",), ("correlations", "boundaries"),
                                           ("correlations", "boundaries"), tuple(names)]
    single = multigrid.plan((128, 128), names, {"correlations": 16, "variogram": 4}, 40, 1, low_channels=5)
    assert [(lv.pool, lv.n_channels, lv.iterations) for lv in single] == [(1, 5, 20), (1, None, 20)]


def test_channel_targets_equal_a_characterization_with_the_smaller_basis():
    # Independent reference: characterize the same map with only the first 14 functions.
    import mcrpy_poly
    from mcrpy_poly import SHSHBasis
    from mcrpy_poly.synthetic import voronoi

    omap = voronoi((24, 24), 6, symmetry="6/mmm", seed=3)
    names = ("correlations", "variogram", "mean_variation", "texture")
    full = mcrpy_poly.characterize(omap, descriptors=names, limit_to={"correlations": 5, "variogram": 3})
    small = mcrpy_poly.characterize(omap, descriptors=names, limit_to={"correlations": 5, "variogram": 3},
                                    basis=SHSHBasis("622", n_terms=14))
    targets, pairs = multigrid.channel_targets(full.descriptors, full.pairs, 14)
    assert pairs == small.pairs
    for name in names:
        np.testing.assert_allclose(targets[name], small[name], atol=1e-12)
