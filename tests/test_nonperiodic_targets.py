"""Non-periodic statistics of measured maps and the correlation window chosen from the map:
kernels against direct sums over the pixel pairs inside the map, closed forms, gradients,
maps and characterizations that know whether they are periodic, windows capped by the domain."""
import json

import numpy as np
import pytest
import reference_descriptors as ref
from reference_descriptors import as_numpy, assert_descriptors_close, random_field

from mcrpy_poly import OrientationMap, SHSHBasis, synthetic
from mcrpy_poly.descriptors import (
    DESCRIPTORS,
    channel_pairs,
    characterize,
    compute_descriptors,
    hybrid_variogram,
    load_characterization,
    mean_variation,
    slice_descriptors,
    two_point_correlations,
    variogram_lags,
)
from mcrpy_poly.descriptors.window import (
    MIN_WINDOW,
    choose_window,
    correlation_length,
    covariance_profile,
    window_and_length,
)
from mcrpy_poly.errors import InputError, ShapeError
from mcrpy_poly.reconstruction import multigrid
from mcrpy_poly.reconstruction.budget import estimate_bytes, largest_window

LIMITS = {"correlations": 3, "variogram": 2}


# -- against the direct sums over the pairs inside the map ----------------------------------------
@pytest.mark.parametrize("shape, masked", [((7, 9), False), ((8, 10), False), ((3, 5), False), ((5, 7, 9), False),
                                           ((4, 3, 6), False), ((7, 9), True), ((8, 10), True), ((5, 7, 9), True)])
def test_nonperiodic_descriptors_match_direct_sums(shape, masked):
    """Odd and even sizes, 2D and 3D; (3, 5) is too small for this window on a periodic grid."""
    field = random_field(shape, seed=1)
    mask = np.random.default_rng(2).random(shape) > 0.3 if masked else None
    actual = as_numpy(compute_descriptors(field, list(DESCRIPTORS), LIMITS, mask=mask, periodic=False))
    assert_descriptors_close(actual, ref.descriptors(field, LIMITS, channel_pairs(3), mask, periodic=False))


@pytest.mark.parametrize("shape", [(7, 9), (5, 6, 7)])
def test_periodic_results_unchanged_with_periodic_true(shape):
    field = random_field(shape, seed=3)
    explicit = as_numpy(compute_descriptors(field, list(DESCRIPTORS), LIMITS, periodic=True))
    assert_descriptors_close(explicit, ref.descriptors(field, LIMITS, channel_pairs(3)))
    bounded = as_numpy(compute_descriptors(field, list(DESCRIPTORS), LIMITS, periodic=False))
    assert np.max(np.abs(bounded["correlations"] - explicit["correlations"])) > 1e-3  # really different


@pytest.mark.parametrize("axis", [0, 1, 2])
@pytest.mark.parametrize("masked", [False, True])
def test_nonperiodic_slices_pooled_and_per_slice(axis, masked):
    volume = random_field((5, 6, 7), seed=4)
    mask = np.random.default_rng(5).random((5, 6, 7)) > 0.3 if masked else None
    slices = np.moveaxis(volume, axis, 0)
    masks = None if mask is None else np.moveaxis(mask, axis, 0)
    options = dict(axis=axis, mask=mask, periodic=False)
    pooled = as_numpy(slice_descriptors(volume, list(DESCRIPTORS), LIMITS, **options))
    assert_descriptors_close(pooled, ref.descriptors(slices, LIMITS, channel_pairs(3), masks, pooled=True,
                                                     periodic=False))
    each = as_numpy(slice_descriptors(volume, list(DESCRIPTORS), LIMITS, per_slice=True, **options))
    for i in range(len(slices)):
        assert_descriptors_close({name: value[i] for name, value in each.items()},
                                 ref.descriptors(slices[i], LIMITS, channel_pairs(3),
                                                 None if masks is None else masks[i], periodic=False))


def test_nonperiodic_window_needs_the_lag_inside_the_map():
    field = random_field((5, 9))
    assert two_point_correlations(field, 5, periodic=False).shape == (6, 9, 9)  # |r| <= 4 fits 5 rows
    with pytest.raises(ShapeError, match="non-periodic"):
        two_point_correlations(field, 6, periodic=False)
    with pytest.raises(ShapeError, match="periodic"):
        two_point_correlations(field, 4, periodic=True)


# -- closed forms --------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(8, 9), (5, 6, 7)])
def test_constant_field_nonperiodic(shape):
    values = np.array([0.3, -1.2, 2.0])
    field = np.broadcast_to(values, shape + (3,))
    result = as_numpy(compute_descriptors(field, list(DESCRIPTORS), LIMITS, periodic=False))
    expected = np.array([values[a] * values[b] for a, b in channel_pairs(3)])
    np.testing.assert_allclose(result["correlations"],
                               np.broadcast_to(expected.reshape((-1,) + (1,) * len(shape)),
                                               result["correlations"].shape), rtol=1e-13)
    assert np.all(np.abs(result["variogram"]) < 1e-15) and np.all(np.abs(result["mean_variation"]) < 1e-15)


def test_single_straight_boundary_closed_form():
    """One channel, 1 left of column ``a`` and 0 right of it, on an ``H x W`` map. Inside the
    map ``C(ry, rx) = (a - |rx|) / (W - |rx|)`` (pairs ``j, j + rx`` both left of ``a`` over
    all pairs inside), the semivariogram at ``(0, rx)`` is ``|rx| / (2 (W - |rx|))`` and the
    mean variation ``1 / (W - 1)``; the periodic map has a second boundary at the wrap."""
    height, width, a, limit_to = 9, 12, 5, 5
    field = np.zeros((height, width, 1))
    field[:, :a] = 1.0
    lags = np.arange(-(limit_to - 1), limit_to)
    corr = two_point_correlations(field, limit_to, periodic=False).numpy()[0]
    expected = (a - np.abs(lags)) / (width - np.abs(lags))
    np.testing.assert_allclose(corr, np.broadcast_to(expected, corr.shape), rtol=1e-13)
    periodic = two_point_correlations(field, limit_to, periodic=True).numpy()[0]
    np.testing.assert_allclose(periodic[limit_to - 1], (a - np.abs(lags)) / width, rtol=1e-13)
    gamma = hybrid_variogram(field, limit_to, periodic=False).numpy()[0]
    rows = [i for i, r in enumerate(variogram_lags(2, limit_to)) if r[0] == 0]
    rx = variogram_lags(2, limit_to)[rows, 1]
    np.testing.assert_allclose(np.diag(gamma)[rows], rx / (2.0 * (width - rx)), rtol=1e-13)
    np.testing.assert_allclose(mean_variation(field, periodic=False).numpy(), [1.0 / (width - 1)], rtol=1e-13)
    np.testing.assert_allclose(mean_variation(field).numpy(), [2.0 / width], rtol=1e-13)


# -- maps and characterizations that know whether they are periodic --------------------------------
def test_maps_say_whether_they_are_periodic(tmp_path):
    voronoi = synthetic.voronoi((20, 18), 5, seed=1)
    assert voronoi.periodic and voronoi.replace(step=2.0).periodic and voronoi.reduce().periodic
    crop = voronoi.crop((2, 15), None)
    assert not crop.periodic and crop.shape == (13, 18)
    np.testing.assert_array_equal(crop.quaternions, voronoi.quaternions[2:15])
    assert not OrientationMap(voronoi.quaternions, "m-3m").periodic
    assert OrientationMap.load(voronoi.save(tmp_path / "v.npz")).periodic
    # A map file written before maps knew it reads as non-periodic.
    with np.load(tmp_path / "v.npz") as data:
        meta = json.loads(str(data["metadata"]))
        arrays = {key: data[key] for key in ("quaternions", "indexed")}
    del meta["periodic"]
    np.savez(tmp_path / "old.npz", metadata=np.array(json.dumps(meta)), **arrays)
    assert not OrientationMap.load(tmp_path / "old.npz").periodic
    with pytest.raises(InputError, match="empty"):
        voronoi.crop((5, 5), None)


def test_characterize_follows_the_map_and_records_it(tmp_path):
    omap = synthetic.voronoi((20, 22), 6, seed=4)
    mask = np.random.default_rng(1).random(omap.shape) > 0.2
    basis = SHSHBasis("m-3m")
    limits = {"correlations": 4, "variogram": 2}
    crop = omap.replace(indexed=mask).crop(None, (0, 21))
    result = characterize(crop, tuple(DESCRIPTORS), limit_to=limits, unindexed="exclude")
    assert result.periodic is False
    expected = ref.descriptors(basis(crop.quaternions), limits, channel_pairs(9), crop.indexed, periodic=False)
    assert_descriptors_close(result.descriptors, expected)
    forced = characterize(crop, tuple(DESCRIPTORS), limit_to=limits, unindexed="exclude", periodic=True)
    assert forced.periodic is True
    assert_descriptors_close(forced.descriptors, ref.descriptors(basis(crop.quaternions), limits, channel_pairs(9),
                                                                 crop.indexed))
    assert characterize(omap, limit_to=limits).periodic is True
    loaded = load_characterization(result.save(tmp_path / "c.npz"))
    assert loaded.periodic is False
    # A characterization written before they recorded it reads as periodic (all statistics were).
    with np.load(tmp_path / "c.npz") as data:
        meta = json.loads(str(data["metadata"]))
        arrays = {name: data[name] for name in meta["descriptors"]}
    del meta["periodic"]
    np.savez(tmp_path / "old.npz", metadata=np.array(json.dumps(meta)), **arrays)
    assert load_characterization(tmp_path / "old.npz").periodic is True


def test_characterize_volume_slices_nonperiodic():
    volume = synthetic.voronoi((8, 9, 10), 6, seed=5).crop(None, None, (0, 9))
    basis = SHSHBasis("m-3m", n_terms=3)
    limits = {"correlations": 3, "variogram": 2}
    field = basis(volume.quaternions)
    sliced = characterize(volume, ["correlations", "mean_variation"], limits, basis=basis, slice_axis=1)
    slices = np.moveaxis(field, 1, 0)
    np.testing.assert_allclose(sliced["correlations"],
                               ref.correlations(slices, 3, channel_pairs(3), pooled=True, periodic=False), atol=1e-12)
    np.testing.assert_allclose(sliced["mean_variation"],
                               ref.mean_variation(slices, pooled=True, periodic=False), atol=1e-12)


# -- the window chosen from the map ---------------------------------------------------------------
def test_correlation_length_of_an_exponential_profile():
    assert correlation_length(np.exp(-np.arange(30) / 5.0)) == pytest.approx(5.0, abs=0.05)
    assert correlation_length(np.ones(10)) == np.inf
    assert correlation_length(np.zeros(10)) == 0.0


def test_covariance_profile_of_stripes():
    """Stripes of width ``w`` across x with independent random channel values: ``rho(ry, rx)``
    is the share of pairs in the same stripe, ``1 - |rx| / w``; the profile averages it over
    the lags whose length rounds to ``r`` (shell 1: the 8 neighbours, 6 of them with
    ``rx != 0``)."""
    rng = np.random.default_rng(0)
    width, n_stripes = 6, 400
    values = rng.normal(size=(n_stripes, 4))
    values -= values.mean(axis=0)
    field = np.repeat(values, width, axis=0)[None].repeat(3, axis=0)  # (3, 2400, 4)
    profile = covariance_profile(field, 2, periodic=True)
    assert profile[0] == pytest.approx(1.0)
    assert profile[1] == pytest.approx((6 * (1 - 1 / width) + 2) / 8, abs=0.01)  # noise of 400 stripes


def test_window_grows_with_the_grains_and_is_capped():
    fine = synthetic.voronoi((96, 96), 200, seed=1)
    coarse = synthetic.voronoi((96, 96), 12, seed=1)
    w_fine, l_fine = window_and_length(fine)
    w_coarse, l_coarse = window_and_length(coarse)
    assert l_coarse > 2 * l_fine
    assert w_fine == MIN_WINDOW and MIN_WINDOW < w_coarse <= 48  # half the map at most
    assert choose_window(coarse, max_window=10) == 10
    assert choose_window(coarse.crop((0, 30), None)) <= 15
    uniform = OrientationMap(np.tile([1.0, 0, 0, 0], (40, 40, 1)), "m-3m")
    assert choose_window(uniform) == MIN_WINDOW
    assert characterize(coarse, ["correlations"]).limit_to["correlations"] == w_coarse


def test_largest_window_fits_domain_and_memory():
    names, limits = ("correlations", "variogram"), {"variogram": 4}
    assert largest_window((40, 64), 9, names, limits, 45, sliced=False) == 20  # 2 * 20 - 1 <= 40
    small = estimate_bytes((64, 64), 9, names, {**limits, "correlations": 10}, 45, sliced=False)
    assert largest_window((64, 64), 9, names, limits, 45, sliced=False, limit=small) == 10
    sliced = estimate_bytes((64, 64, 64), 9, names, {**limits, "correlations": 32}, 45, sliced=True)
    flat = estimate_bytes((64, 64, 64), 9, names, {**limits, "correlations": 4}, 45, sliced=True)
    assert sliced > flat  # per-slice windows cost memory


@pytest.mark.parametrize("shape, window", [((32, 32), 16), ((40, 24), 12), ((128, 128), 48), ((20, 20, 20), 10)])
def test_multigrid_levels_stay_sane_with_chosen_windows(shape, window):
    limits = {"correlations": window, "variogram": 4}
    levels = multigrid.plan(shape, ("correlations", "variogram"), limits, 100)
    for level in levels:
        coarse = level.limits["correlations"]
        assert coarse >= multigrid.MIN_COARSE_WINDOW or level.pool == 1
        assert 2 * coarse - 1 <= min(level.shape)
        two_point_correlations(np.zeros(level.shape + (1,)), coarse)  # no check_window error
