"""Multi-output Gaussian random fields (mcrpy_poly.grf): the samples carry the reference's
one- and two-point statistics. References are np.roll sums, not the module's FFTs."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mcrpy_poly import SHSHBasis, synthetic
from mcrpy_poly.grf import GaussianRandomField, cross_covariance


def rolled_correlations(fields, window):
    """``f_r^{ab} = mean_{samples, x} f_a(x) f_b(x + r)`` for ``|r_i| < window``, by np.roll;
    ``fields (..., H, W, K)`` -> ``(K, K, 2 window - 1, 2 window - 1)``."""
    fields = np.asarray(fields).reshape((-1,) + np.shape(fields)[-3:])
    lags = range(-window + 1, window)
    out = np.empty((fields.shape[-1], fields.shape[-1], len(lags), len(lags)))
    for i, dy in enumerate(lags):
        for j, dx in enumerate(lags):
            shifted = np.roll(fields, (-dy, -dx), axis=(1, 2))
            out[:, :, i, j] = np.einsum("nhwa,nhwb->ab", fields, shifted) / np.prod(fields.shape[:3])
    return out


def fft_correlations(fields, window):
    """As :func:`rolled_correlations`, by numpy FFTs (fast; checked against it below)."""
    fields = np.asarray(fields).reshape((-1,) + np.shape(fields)[-3:])
    spectra = np.fft.fft2(fields, axes=(1, 2))
    cross = np.real(np.fft.ifft2(np.einsum("nhwa,nhwb->hwab", np.conj(spectra), spectra), axes=(0, 1)))
    lags = np.arange(-window + 1, window)
    return np.moveaxis(cross[np.ix_(lags % fields.shape[1], lags % fields.shape[2])], (2, 3), (0, 1)) \
        / np.prod(fields.shape[:3])


def constructed_field(n, seed=0):
    """Three channels with known, asymmetric cross-correlations: a smooth periodic random
    field, the same shifted by 3 columns (the cross-correlation peaks at lag (0, 3)), and a
    cosine of period 16 along the rows."""
    rng = np.random.default_rng(seed)
    y, x = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    kernel = np.exp(-(np.minimum(y, n - y) ** 2 + np.minimum(x, n - x) ** 2) / 8.0)
    smooth = np.real(np.fft.ifft2(np.fft.fft2(rng.standard_normal((n, n))) * np.fft.fft2(kernel)))
    smooth /= smooth.std()
    return np.stack([smooth + 0.3, 0.5 * np.roll(smooth, 3, axis=1) - 0.2, np.cos(2 * np.pi * y / 16)], axis=-1)


def deviations(ensemble, reference):
    """Largest deviation over all pairs and lags relative to the peak, and the relative L2."""
    diff = ensemble - reference
    return np.abs(diff).max() / np.abs(reference).max(), np.linalg.norm(diff) / np.linalg.norm(reference)


def test_fixed_spectrum_samples_carry_the_correlations_exactly():
    field = constructed_field(32)
    samples = GaussianRandomField.from_fields(field).sample(3, rng=1, spectrum="fixed")
    reference = rolled_correlations(field, 6)
    assert reference[0, 1, 5, 5 + 3] > 0.9 * reference[0, 1].max()  # the shift is where the cross-term peaks
    for s in samples:
        peak, l2 = deviations(rolled_correlations(s, 6), reference)
        assert peak < 1e-6 and l2 < 1e-6
    assert not np.allclose(samples[0], samples[1])


def test_gaussian_ensemble_converges_to_the_correlations():
    field = constructed_field(32)
    grf = GaussianRandomField.from_fields(field)
    samples = grf.sample(150, rng=2)
    peak, l2 = deviations(rolled_correlations(samples, 6), rolled_correlations(field, 6))
    assert peak < 0.05 and l2 < 0.05
    np.testing.assert_allclose(samples.mean(axis=(0, 1, 2)), field.mean(axis=(0, 1)), atol=0.05)
    # One-point values are Gaussian: the fourth standardised moment is 3.
    u = (samples[..., 0] - samples[..., 0].mean()) / samples[..., 0].std()
    assert abs(np.mean(u ** 4) - 3.0) < 0.15
    assert grf.clipped < 1e-12


@pytest.mark.slow
def test_issue_criterion_200_samples_of_64x64_voronoi_shsh():
    """Issue 13: 200 GRF samples of 64 x 64 reproduce the two-point correlations (all 45 pairs of
    the 9 cubic SHSH of a Voronoi map, lags |r| < 16) within 1 % of the peak at every lag and
    5 % in L2 (fixed spectrum); the Gaussian ensemble within its Monte-Carlo error."""
    field = SHSHBasis("432")(synthetic.voronoi((64, 64), 20, seed=2).quaternions)
    reference = rolled_correlations(field, 16)
    np.testing.assert_allclose(fft_correlations(field, 16), reference, atol=1e-12)
    grf = GaussianRandomField.from_fields(field)
    peak, l2 = deviations(fft_correlations(grf.sample(200, rng=3, spectrum="fixed"), 16), reference)
    assert peak < 0.01 and l2 < 0.05
    peak, l2 = deviations(fft_correlations(grf.sample(200, rng=3), 16), reference)
    assert peak < 0.05 and l2 < 0.1


def test_other_grids_keep_means_and_variances():
    field = constructed_field(32)
    mean, covariance = cross_covariance(field, shape=(64, 48))
    _, own = cross_covariance(field)
    np.testing.assert_allclose(mean, field.mean(axis=(0, 1)), atol=1e-12)
    # The resampled spectrum keeps the zero-lag covariance.
    np.testing.assert_allclose(covariance[:, :, 0, 0], own[:, :, 0, 0], atol=1e-12)
    samples = GaussianRandomField(mean, covariance).sample(40, rng=4)
    assert samples.shape == (40, 64, 48, 3)
    np.testing.assert_allclose(samples.var(axis=(0, 1, 2)), np.diagonal(covariance[:, :, 0, 0]), rtol=0.1)
    # Half the size: the covariance summed over the period 16 (aliasing), lag by lag.
    _, half = cross_covariance(field, shape=(16, 16))
    folded = own.reshape(3, 3, 2, 16, 2, 16).sum(axis=(2, 4))
    np.testing.assert_allclose(half, folded, atol=1e-12)


def test_three_dimensional_field():
    rng = np.random.default_rng(5)
    volume = np.stack([rng.standard_normal((12, 12, 12)), np.ones((12, 12, 12))], axis=-1)
    volume[..., 1] += np.roll(volume[..., 0], 1, axis=2)
    grf = GaussianRandomField.from_fields(volume, shape=(16, 16, 20))
    samples = grf.sample(20, rng=6)
    assert samples.shape == (20, 16, 16, 20, 2)
    np.testing.assert_allclose(samples.mean(axis=(0, 1, 2, 3)), volume.mean(axis=(0, 1, 2)), atol=0.05)
    # The second channel copies the first one voxel further along z: their cross-covariance
    # peaks at that lag in the samples too.
    u = samples - samples.mean(axis=(0, 1, 2, 3))
    lagged = [np.mean(u[..., 0] * np.roll(u[..., 1], -k, axis=3)) for k in range(-2, 3)]
    assert int(np.argmax(lagged)) - 2 == 1


def test_bad_shapes_are_input_errors():
    from mcrpy_poly.errors import InputError

    with pytest.raises(InputError):
        cross_covariance(np.zeros((8, 8, 3)), shape=(8, 8, 8))
    with pytest.raises(InputError):
        GaussianRandomField.from_fields(np.zeros((8, 8, 3))).sample(1, spectrum="uniform")


def test_grf_imports_and_runs_without_tensorflow_or_keras():
    script = ("import sys\nsys.modules['tensorflow'] = None\nsys.modules['keras'] = None\n"
              "import numpy as np\nfrom mcrpy_poly.grf import GaussianRandomField\n"
              "from mcrpy_poly import SHSHBasis, synthetic\n"
              "basis = SHSHBasis('432')\n"
              "field = basis(synthetic.voronoi((16, 16), 4, seed=1).quaternions)\n"
              "q = basis.to_quaternion(GaussianRandomField.from_fields(field).sample(1, rng=0)[0])\n"
              "assert q.shape == (16, 16, 4)\nprint('ok')\n")
    root = str(Path(__file__).resolve().parents[1])
    result = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=300,
                            env=dict(os.environ, PYTHONPATH=root))
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr[-2000:]


def two_orientation_field(n=32):
    """Two vectors of R^3 (two 'orientations') on a periodic pattern: a disc and a band of
    ``b`` in a matrix of ``a``, 27 % ``b``."""
    y, x = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    inside = ((y - 10) ** 2 + (x - 12) ** 2 < 36) | ((y + x) % n < 5)
    a, b = np.array([1.0, 0.2, -0.5]), np.array([-0.3, 0.8, 0.4])
    return np.where(inside[..., None], b, a)


def test_quotas_are_proportional_and_sum_to_the_output_size():
    from mcrpy_poly.grf import quotas

    np.testing.assert_array_equal(quotas([3, 5, 2], 10), [3, 5, 2])
    np.testing.assert_array_equal(quotas([3, 5, 2], 20), [6, 10, 4])
    assert quotas([7, 11, 13, 1], 1000).sum() == 1000
    # Equal remainders: the extra pixels go to each value equally often over draws (unbiased).
    extra = np.mean([quotas(np.ones(300, int), 400, rng=i) for i in range(200)], axis=0)
    np.testing.assert_allclose(extra.mean(), 4 / 3)
    assert np.abs(extra[:100].mean() - extra[200:].mean()) < 0.05


def test_assignment_with_quotas_recovers_a_permutation_and_fills_every_quota():
    from mcrpy_poly.grf import assign_with_quotas

    rng = np.random.default_rng(7)
    support = rng.standard_normal((500, 4))
    order = rng.permutation(500)
    np.testing.assert_array_equal(assign_with_quotas(support[order], support, np.ones(500, int)), order)
    quota = rng.integers(0, 4, 500)
    rows = assign_with_quotas(rng.standard_normal((quota.sum(), 4)), support, quota, candidates=3)
    np.testing.assert_array_equal(np.bincount(rows, minlength=500), quota)


def test_imposed_spectrum_is_a_projection():
    field = constructed_field(32)
    grf = GaussianRandomField.from_fields(field)
    # The reference itself (rank-1 spectrum on its own grid) and a fixed-spectrum sample are fixed points.
    np.testing.assert_allclose(grf.impose_spectrum(field[None])[0], field, atol=1e-6)
    fixed = grf.sample(2, rng=8, spectrum="fixed")
    np.testing.assert_allclose(grf.impose_spectrum(fixed), fixed, atol=1e-6)


def test_iaaft_keeps_the_one_point_distribution_and_approaches_the_correlations():
    """Each surrogate of a two-orientation field holds exactly the reference's pixels (equal counts
    of each vector); its periodic correlations (np.roll) are within 12 % (relative L2) of the
    reference's, and those of the mean-removed field within 40 % of a random arrangement's error
    (measured: 6-9 % and 19-35 %); the misfit halves at least (measured 1.15 -> 0.40-0.48: the
    binary field's spectrum is approached, not reached)."""
    from mcrpy_poly.grf import AmplitudeAdjustedField

    field = two_orientation_field()
    iaaft, first_pixel = AmplitudeAdjustedField.from_fields(field)
    assert len(iaaft.support) == 2
    np.testing.assert_array_equal(iaaft.support, field.reshape(-1, 3)[first_pixel])
    rows, misfit = iaaft.sample(3, rng=9, iterations=40)
    reference = rolled_correlations(field, 8)
    flat = field.reshape(-1, 3)
    shuffled = flat[np.random.default_rng(10).permutation(len(flat))].reshape(field.shape)
    _, random_l2 = deviations(rolled_correlations(shuffled - field.mean(axis=(0, 1)), 8),
                              rolled_correlations(field - field.mean(axis=(0, 1)), 8))
    for r, m in zip(rows, misfit):
        sample = iaaft.support[r]
        np.testing.assert_array_equal(np.unique(sample.reshape(-1, 3), axis=0, return_counts=True)[1],
                                      np.unique(flat, axis=0, return_counts=True)[1])
        _, l2 = deviations(rolled_correlations(sample, 8), reference)
        _, centred_l2 = deviations(rolled_correlations(sample - field.mean(axis=(0, 1)), 8),
                                   rolled_correlations(field - field.mean(axis=(0, 1)), 8))
        assert l2 < 0.12 and centred_l2 < 0.4 * random_l2, (l2, centred_l2, random_l2)
        assert m[-1] < 0.5 * m[0] and m[-1] < 0.55, m
    assert not np.array_equal(rows[0], rows[1])


def test_consolidated_grains_take_one_of_their_own_orientations():
    """Two halves of small jitter (< 2 degrees between neighbours) about two orientations 40
    degrees apart: at 12 degrees each half becomes one grain whose orientation is one of its own
    pixels', drawn at random."""
    from mcrpy_poly import OrientationMap
    from mcrpy_poly.grf import consolidate_grains

    rng = np.random.default_rng(11)
    axis = rng.standard_normal((16, 16, 3)) * np.radians(0.4)  # small rotation vectors
    angle = np.linalg.norm(axis, axis=-1, keepdims=True)
    jitter = np.concatenate([np.cos(angle / 2), np.sin(angle / 2) * axis / angle], axis=-1)
    tilt = np.array([np.cos(np.radians(20)), np.sin(np.radians(20)), 0.0, 0.0])
    left = np.arange(16)[None, :, None] < 8
    # Left half jitter about the identity, right half about a 40 degree rotation about x.
    q = np.where(left, jitter, np.concatenate([jitter[..., :1] * tilt[0] - jitter[..., 1:2] * tilt[1],
                                                jitter[..., :1] * tilt[1] + jitter[..., 1:2] * tilt[0],
                                                jitter[..., 2:3] * tilt[0] - jitter[..., 3:] * tilt[1],
                                                jitter[..., 3:] * tilt[0] + jitter[..., 2:3] * tilt[1]], axis=-1))
    omap = OrientationMap(q, "1")
    out = consolidate_grains(omap, 12.0, rng=0)
    for half in (left[..., 0], ~left[..., 0]):
        values = np.unique(out[np.broadcast_to(half, (16, 16))], axis=0)
        assert len(values) == 1
        assert (np.abs(omap.quaternions[np.broadcast_to(half, (16, 16))] - values[0]).max(axis=1) == 0).any()
    assert not np.array_equal(out, consolidate_grains(omap, 12.0, rng=1))
