"""SHSH descriptors: TensorFlow kernels against direct-sum NumPy references, analytic cases,
symmetry invariance on real and hexagonal maps, gradients against finite differences."""
import dataclasses

import numpy as np
import pytest
import reference_descriptors as ref
import tensorflow as tf
from reference_descriptors import as_numpy, assert_descriptors_close, random_field
from scipy import ndimage

from mcrpy_poly import OrientationMap, SHSHBasis, load_ebsd, synthetic
from mcrpy_poly.descriptors import (
    DESCRIPTORS,
    Characterization,
    channel_pairs,
    characterize,
    compute_descriptors,
    hybrid_variogram,
    load_characterization,
    mean_variation,
    relative_error,
    slice_descriptors,
    texture,
    two_point_correlations,
    variogram_lags,
)
from mcrpy_poly.errors import InputError, MemoryBudgetError, ShapeError
from mcrpy_poly.orientation.quaternion import multiply

LIMITS = {"correlations": 3, "variogram": 2}
SHAPES = [(7, 9), (8, 10), (5, 7, 9), (6, 8, 6)]  # odd and even, 2D and 3D


# -- against the direct-sum references ---------------------------------------------------------
@pytest.mark.parametrize("shape", SHAPES)
def test_descriptors_match_direct_sums(shape):
    field = random_field(shape)
    pairs = channel_pairs(3)
    actual = as_numpy(compute_descriptors(field, list(DESCRIPTORS), LIMITS))
    assert_descriptors_close(actual, ref.descriptors(field, LIMITS, pairs))


@pytest.mark.parametrize("shape", [(7, 9), (5, 6, 7)])
def test_masked_descriptors_match_direct_sums(shape):
    field = random_field(shape, seed=1)
    mask = np.random.default_rng(2).random(shape) > 0.3
    actual = as_numpy(compute_descriptors(field, list(DESCRIPTORS), LIMITS, mask=mask))
    assert_descriptors_close(actual, ref.descriptors(field, LIMITS, channel_pairs(3), mask))


def test_public_functions_match_references_with_subset_of_pairs():
    field = random_field((8, 9), channels=4, seed=3)
    pairs = [(2, 0), (1, 3), (3, 3)]
    np.testing.assert_allclose(two_point_correlations(field, 4, pairs=pairs).numpy(),
                               ref.correlations(field, 4, pairs), atol=1e-10)
    np.testing.assert_allclose(hybrid_variogram(field, 3).numpy(), ref.variogram(field, 3), atol=1e-10)
    np.testing.assert_allclose(mean_variation(field).numpy(), ref.mean_variation(field), atol=1e-10)
    np.testing.assert_allclose(texture(field).numpy(), ref.texture(field), atol=1e-10)


@pytest.mark.parametrize("masked", [False, True])
def test_variogram_in_channel_groups_matches_reference(monkeypatch, masked):
    from mcrpy_poly.descriptors import variogram

    field = random_field((7, 8), seed=11)
    mask = np.random.default_rng(3).random((7, 8)) > 0.3 if masked else None
    weights = np.random.default_rng(4).normal(size=(3, 12, 12))

    def value_and_gradient():
        x = tf.constant(field)
        with tf.GradientTape() as tape:
            tape.watch(x)
            value = hybrid_variogram(x, 3, mask=mask)
            loss = tf.reduce_sum(value * weights)
        return value.numpy(), tape.gradient(loss, x).numpy()

    together, gradient_together = value_and_gradient()
    monkeypatch.setattr(variogram, "_STACK_ELEMENTS", 1)  # one channel at a time, as for large maps
    grouped, gradient_grouped = value_and_gradient()
    np.testing.assert_allclose(grouped, ref.variogram(field, 3, mask), atol=1e-10)
    np.testing.assert_allclose(together, grouped, atol=1e-14)
    np.testing.assert_allclose(gradient_grouped, gradient_together, atol=1e-14)


def test_variogram_refuses_huge_stacks():
    with pytest.raises(MemoryBudgetError, match="GiB per channel"):
        hybrid_variogram(tf.zeros((128, 128, 128, 1), tf.float64), 5)


@pytest.mark.parametrize("ndim, limit_to", [(2, 1), (2, 4), (3, 2), (3, 3)])
def test_variogram_lags_are_one_of_each_pair(ndim, limit_to):
    lags = variogram_lags(ndim, limit_to)
    assert lags.shape == (((2 * limit_to - 1) ** ndim - 1) // 2, ndim)
    assert [tuple(r) for r in lags] == ref.variogram_lags(ndim, limit_to)


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_slice_descriptors_are_means_over_slices(axis):
    volume = random_field((6, 7, 8), seed=4)
    actual = as_numpy(slice_descriptors(volume, list(DESCRIPTORS), LIMITS, axis=axis))
    slices = [np.take(volume, i, axis=axis) for i in range(volume.shape[axis])]
    per_slice = [ref.descriptors(s, LIMITS, channel_pairs(3)) for s in slices]
    expected = {name: np.mean([d[name] for d in per_slice], axis=0) for name in DESCRIPTORS}
    assert_descriptors_close(actual, expected)
    each = as_numpy(slice_descriptors(volume, list(DESCRIPTORS), LIMITS, axis=axis, per_slice=True))
    assert_descriptors_close(each, {name: np.stack([d[name] for d in per_slice]) for name in DESCRIPTORS})


@pytest.mark.parametrize("axis", [0, 2])
def test_masked_slice_descriptors_pooled_and_per_slice(axis):
    volume = random_field((5, 6, 7), seed=12)
    mask = np.random.default_rng(5).random((5, 6, 7)) > 0.3
    slices = np.moveaxis(volume, axis, 0)
    masks = np.moveaxis(mask, axis, 0)
    pooled = as_numpy(slice_descriptors(volume, list(DESCRIPTORS), LIMITS, axis=axis, mask=mask))
    assert_descriptors_close(pooled, ref.descriptors(slices, LIMITS, channel_pairs(3), masks, pooled=True))
    each = as_numpy(slice_descriptors(volume, list(DESCRIPTORS), LIMITS, axis=axis, mask=mask, per_slice=True))
    for i in range(len(slices)):
        assert_descriptors_close({name: value[i] for name, value in each.items()},
                                 ref.descriptors(slices[i], LIMITS, channel_pairs(3), masks[i]))


def test_descriptors_trace_inside_tf_function():
    field = random_field((8, 10), seed=5)
    traced = tf.function(lambda x: compute_descriptors(x, list(DESCRIPTORS), LIMITS))
    concrete = traced.get_concrete_function(tf.TensorSpec((8, 10, 3), tf.float64))
    assert not any(op.type == "PyFunc" for op in concrete.graph.get_operations())
    assert_descriptors_close(as_numpy(traced(tf.constant(field))), ref.descriptors(field, LIMITS, channel_pairs(3)))


# -- analytic cases ------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(9, 8), (5, 6, 7)])
def test_zero_lag_autocorrelation_is_mean_square(shape):
    field = random_field(shape, seed=6)
    corr = two_point_correlations(field, 3, pairs=[(a, a) for a in range(3)]).numpy()
    centre = (slice(None),) + (2,) * len(shape)
    np.testing.assert_allclose(corr[centre], np.mean(field ** 2, axis=tuple(range(len(shape)))), rtol=1e-13)


@pytest.mark.parametrize("shape", [(8, 9), (5, 6, 7)])
def test_constant_field_has_no_variation(shape):
    field = np.broadcast_to(np.array([0.3, -1.2, 2.0]), shape + (3,))
    values = as_numpy(compute_descriptors(field, ["variogram", "mean_variation", "texture"], LIMITS))
    assert np.all(values["variogram"] == 0) and np.all(values["mean_variation"] == 0)
    np.testing.assert_allclose(values["texture"], [0.3, -1.2, 2.0], rtol=1e-14)


@pytest.mark.parametrize("shape", [(8, 9), (5, 6, 7)])
def test_periodic_shift_leaves_descriptors_unchanged(shape):
    field = random_field(shape, seed=7)
    moved = np.roll(field, (3, -2, 1)[:len(shape)], axis=tuple(range(len(shape))))
    assert_descriptors_close(as_numpy(compute_descriptors(moved, list(DESCRIPTORS), LIMITS)),
                             as_numpy(compute_descriptors(field, list(DESCRIPTORS), LIMITS)), atol=1e-13)


@pytest.mark.parametrize("shape", [(8, 9), (5, 6, 7)])
def test_cross_correlation_reverses_with_the_lag(shape):
    field = random_field(shape, seed=8)
    ab, ba = two_point_correlations(field, 3, pairs=[(0, 2), (2, 0)]).numpy()
    np.testing.assert_allclose(ab, np.flip(ba), atol=1e-14)  # f_r^{ab} = f_{-r}^{ba}


# -- symmetry invariance -----------------------------------------------------------------------
def _equivalent_map(omap, seed):
    """Every pixel replaced by a random symmetry-equivalent orientation, sign flipped at random."""
    rng = np.random.default_rng(seed)
    ops = omap.symmetry.quaternions[rng.integers(omap.symmetry.order, size=omap.shape)]
    signs = rng.choice([-1.0, 1.0], size=omap.shape + (1,))
    return omap.replace(quaternions=signs * multiply(ops, omap.quaternions))


def _assert_invariant(omap, **options):
    twin = _equivalent_map(omap, seed=9)
    assert np.max(np.abs(twin.quaternions - omap.quaternions)) > 0.5  # really changed
    original, equivalent = characterize(omap, **options), characterize(twin, **options)
    assert_descriptors_close(equivalent.descriptors, original.descriptors)
    assert np.max(np.abs(original["correlations"])) > 1e-3  # not trivially zero


@pytest.mark.parametrize("unindexed", ["fill", "exclude"])
def test_sdss_austenite_descriptors_are_symmetry_invariant(sdss_path, unindexed):
    with pytest.warns(UserWarning, match="not indexed"):
        omap = load_ebsd(sdss_path, phase="austenite")
    assert omap.n_indexed < omap.indexed.size  # the ferrite pixels are not indexed as austenite
    _assert_invariant(omap, unindexed=unindexed)


def test_hexagonal_descriptors_are_symmetry_invariant():
    omap = synthetic.voronoi((48, 40), 15, symmetry="6/mmm", seed=3)
    _assert_invariant(omap, limit_to={"correlations": 8, "variogram": 3})


# -- gradients -----------------------------------------------------------------------------
@pytest.mark.parametrize("shape, periodic, masked", [((6, 7), True, False), ((4, 5, 5), True, False),
                                                     ((6, 7), False, False), ((5, 6), False, True),
                                                     ((4, 5, 3), False, False)])
def test_gradients_match_finite_differences(shape, periodic, masked):
    rng = np.random.default_rng(10)
    field = rng.normal(size=shape + (2,))
    names = list(DESCRIPTORS)
    limits = {"correlations": 2, "variogram": 2}
    options = dict(mask=rng.random(shape) > 0.2 if masked else None, periodic=periodic)
    weights = {name: rng.normal(size=value.shape)
               for name, value in as_numpy(compute_descriptors(field, names, limits, **options)).items()}

    def loss(x):
        values = compute_descriptors(x, names, limits, **options)
        return sum(tf.reduce_sum(weights[name] * values[name]) for name in names)

    x = tf.constant(field)
    with tf.GradientTape() as tape:
        tape.watch(x)
        value = loss(x)
    gradient = tape.gradient(value, x).numpy()
    h = 1e-6
    for index in [tuple(rng.integers(n) for n in field.shape) for _ in range(8)]:
        step = np.zeros_like(field)
        step[index] = h
        numeric = (loss(field + step).numpy() - loss(field - step).numpy()) / (2 * h)
        np.testing.assert_allclose(gradient[index], numeric, rtol=1e-6, atol=1e-8)


# -- characterize ----------------------------------------------------------------------------
def test_characterization_round_trip(tmp_path):
    omap = synthetic.voronoi((32, 30), 8, seed=2)
    omap = omap.replace(indexed=np.random.default_rng(0).random(omap.shape) > 0.1, source="voronoi.ang")
    result = characterize(omap, limit_to={"correlations": 5, "variogram": 2}, unindexed="exclude")
    path = result.save(tmp_path / "c.npz")
    loaded = load_characterization(path)
    assert isinstance(loaded, Characterization)
    assert_descriptors_close(loaded.descriptors, result.descriptors, atol=0)
    assert loaded.basis.labels == result.basis.labels and loaded.symmetry.name == "432"
    assert loaded.limit_to == {"correlations": 5, "variogram": 2} and loaded.shape == (32, 30)
    assert loaded.unindexed == "exclude" and loaded.source == "voronoi.ang" and loaded.version
    assert loaded.pairs == channel_pairs(9) and loaded.variogram_lags.shape == (4, 2)
    assert abs(loaded.indexed_fraction - omap.indexed_fraction) < 1e-15
    assert loaded.grain_sizes == result.grain_sizes and loaded.grain_density == result.grain_density


def test_grain_sizes_measure_the_grains_of_a_voronoi_map():
    omap, labels = synthetic.voronoi((64, 48), 20, seed=3, return_labels=True)
    areas = np.bincount(labels.ravel())
    cells = np.sum(areas >= 5)  # periodic Voronoi cells are convex: one grain each
    sizes = characterize(omap, descriptors=("texture",)).grain_sizes
    assert sizes["density"] == cells / labels.size
    assert sizes["diameter"] == pytest.approx(np.mean(2 * np.sqrt(areas[areas >= 5] / np.pi)))
    # a periodic mean chord is the length of the lines over the runs in them: 1 / boundary fraction
    np.testing.assert_allclose(sizes["chords"], [1 / np.mean(labels != np.roll(labels, -1, a)) for a in (0, 1)])
    cut = sum(np.sum(np.bincount(ndimage.label(labels == cell)[0].ravel())[1:] >= 5) for cell in np.unique(labels))
    # measured without wrapping round, a cell cut by the map's edge is one grain per piece
    assert characterize(omap, descriptors=("texture",), periodic=False).grain_density == cut / labels.size
    volume = synthetic.voronoi((8, 8, 8), 3, seed=4)
    assert characterize(volume, slice_axis=0, descriptors=("texture",)).grain_density is None


def test_grain_density_takes_the_count_of_grains_given_at_its_settings():
    from mcrpy_poly.grains import segment_grains

    omap = synthetic.voronoi((48, 48), 30, seed=5)
    grains = segment_grains(omap)
    given = characterize(omap, descriptors=("texture",), grains=grains)
    assert given.grain_density == characterize(omap, descriptors=("texture",)).grain_density
    # counted as given: a count of other grains shows where they are taken
    fewer = dataclasses.replace(grains, labels=np.minimum(grains.labels, 2))
    assert characterize(omap, descriptors=("texture",), grains=fewer).grain_density == 3 / omap.indexed.size
    # grains of other settings are not the count: the map is segmented again
    for other in (segment_grains(omap, min_size=1), segment_grains(omap, periodic=False),
                  segment_grains(omap, threshold=2.0)):
        other = dataclasses.replace(other, labels=np.minimum(other.labels, 2))
        assert characterize(omap, descriptors=("texture",), grains=other).grain_density == given.grain_density


def test_characterization_of_an_older_hexagonal_function_order_is_refused(tmp_path):
    # Version 1 ordered the functions of N = 12 otherwise: the same labels named other functions.
    import json

    hexagonal = characterize(synthetic.voronoi((16, 16), 4, symmetry="6/mmm", seed=1),
                             descriptors=("texture",))
    cubic = characterize(synthetic.voronoi((16, 16), 4, seed=1), descriptors=("texture",))
    for name, result in (("hex", hexagonal), ("cubic", cubic)):
        meta = result.metadata()
        meta.pop("shsh_version")
        np.savez(tmp_path / f"{name}.npz", metadata=np.array(json.dumps(meta)), **result.descriptors)
    with pytest.raises(InputError, match="characterize the map again"):
        load_characterization(tmp_path / "hex.npz")
    assert load_characterization(tmp_path / "cubic.npz").basis.labels == cubic.basis.labels  # cubic unchanged


def test_exclude_uses_masked_statistics_and_fill_the_filled_map():
    omap = synthetic.voronoi((20, 22), 6, seed=4)
    mask = np.random.default_rng(1).random(omap.shape) > 0.2
    omap = omap.replace(indexed=mask)
    basis = SHSHBasis("m-3m")
    limits = {"correlations": 4, "variogram": 2}
    excluded = characterize(omap, tuple(DESCRIPTORS), limit_to=limits, unindexed="exclude")
    expected = ref.descriptors(basis(omap.quaternions), limits, channel_pairs(9), mask)
    assert_descriptors_close(excluded.descriptors, expected)
    filled = characterize(omap, tuple(DESCRIPTORS), limit_to=limits, unindexed="fill")
    expected = ref.descriptors(basis(omap.fill_unindexed().quaternions), limits, channel_pairs(9))
    assert_descriptors_close(filled.descriptors, expected)


def test_characterize_volume_native_and_slices():
    omap = synthetic.voronoi((8, 9, 10), 6, seed=5)
    basis = SHSHBasis("m-3m", n_terms=4)
    limits = {"correlations": 2, "variogram": 2}
    field = basis(omap.quaternions)
    native = characterize(omap, ["correlations", "texture"], limits, basis=basis)
    assert_descriptors_close(native.descriptors, {"correlations": ref.correlations(field, 2, channel_pairs(4)),
                                                  "texture": ref.texture(field)})
    sliced = characterize(omap, ["mean_variation"], limits, basis=basis, slice_axis=2)
    expected = np.mean([ref.mean_variation(field[:, :, i]) for i in range(10)], axis=0)
    np.testing.assert_allclose(sliced["mean_variation"], expected, atol=1e-12)
    assert sliced.ndim == 2


def test_relative_error():
    assert relative_error([3.0, 4.0], [3.0, 4.0]) == 0.0
    assert relative_error([0.0, 0.0], [3.0, 4.0]) == pytest.approx(1.0)
    with pytest.raises(InputError):
        relative_error(np.zeros(3), np.zeros(4))


def test_bad_input_is_reported():
    field = random_field((8, 9))
    with pytest.raises(ShapeError, match="limit_to=5"):
        two_point_correlations(field, 5)
    with pytest.raises(InputError, match="unknown descriptor"):
        compute_descriptors(field, ["entropy"])
    with pytest.raises(InputError, match="channel indices"):
        two_point_correlations(field, 2, pairs=[(0, 3)])
    with pytest.raises(ShapeError):
        compute_descriptors(np.zeros((8, 9)), ["texture"])
    omap = OrientationMap(np.tile([1.0, 0, 0, 0], (8, 8, 1)), "m-3m")
    with pytest.raises(InputError, match="unindexed"):
        characterize(omap, unindexed="ignore")
