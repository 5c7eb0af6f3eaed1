"""Local-Global Decomposition sampling (mcrpy_poly.diffusion.lgd) with closed-form denoisers."""
import numpy as np
import pytest

from mcrpy_poly.diffusion.lgd import mean_correction, truncated_start
from mcrpy_poly.diffusion.samplers import sample, sampler_timesteps
from mcrpy_poly.diffusion.schedules import NoiseSchedule
from mcrpy_poly.errors import InputError

SCHEDULE = NoiseSchedule.linear(1000)


def test_correction_sets_the_predicted_clean_means():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 8, 8, 3)).astype(np.float32)
    eps = rng.standard_normal((2, 8, 8, 3)).astype(np.float32)
    target = np.array([0.5, -1.0, 2.0])
    t = 300
    ab = np.prod(1 - np.linspace(1e-4, 0.02, 1000)[: t + 1])  # Ho et al.'s linear schedule, by hand
    corrected = mean_correction(target, SCHEDULE)(x, eps, t)
    x0 = (x - np.sqrt(1 - ab) * corrected) / np.sqrt(ab)
    np.testing.assert_allclose(x0.mean(axis=(1, 2)), np.broadcast_to(target, (2, 3)), atol=1e-4)
    # Only the means move: the predicted field keeps its pattern.
    x0_plain = (x - np.sqrt(1 - ab) * eps) / np.sqrt(ab)
    centred = x0 - x0.mean(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(centred, x0_plain - x0_plain.mean(axis=(1, 2), keepdims=True), atol=1e-4)
    half = mean_correction(target, SCHEDULE, weight=0.5)(x, eps, t)
    x0_half = (x - np.sqrt(1 - ab) * half) / np.sqrt(ab)
    np.testing.assert_allclose(x0_half.mean(axis=(1, 2)), 0.5 * (x0_plain.mean(axis=(1, 2)) + target), atol=1e-4)


def test_truncated_chain_ends_on_the_target_means():
    """A denoiser that predicts pure noise leaves the start pattern; the correction still brings
    every channel mean of the result to the target."""
    rng = np.random.default_rng(1)
    start = rng.standard_normal((3, 16, 16, 2)).astype(np.float32)
    target = np.array([0.25, -0.75])
    timesteps, eta = sampler_timesteps(SCHEDULE, "ddpm", t_start=300)
    out = sample(lambda x, t: np.zeros_like(x), SCHEDULE, start.shape, timesteps, eta, rng=2,
                 x_start=truncated_start(start, SCHEDULE, 300), correction=mean_correction(target, SCHEDULE))
    np.testing.assert_allclose(out.mean(axis=(1, 2)), np.broadcast_to(target, (3, 2)), atol=1e-4)


def test_sdedit_start_is_the_forward_process():
    m = np.full((4, 64, 64, 2), 2.0, np.float32)
    x = truncated_start(m, SCHEDULE, 300, "sdedit", rng=3)
    ab = SCHEDULE.alpha_bars[300]
    assert abs(x.mean() - 2.0 * np.sqrt(ab)) < 0.02
    assert abs(x.std() - np.sqrt(1 - ab)) < 0.02
    np.testing.assert_array_equal(truncated_start(m, SCHEDULE, 300), m)  # literal: the GRF sample itself
    with pytest.raises(InputError):
        truncated_start(m, SCHEDULE, 1000)
    with pytest.raises(InputError):
        truncated_start(m, SCHEDULE, 300, "noised")


def numpy_correlations(field, window):
    """Periodic ``f_r^{ab}``, all pairs, ``|r_i| < window``, by numpy FFTs."""
    spectra = np.fft.fft2(field, axes=(0, 1))
    cross = np.real(np.fft.ifft2(np.conj(spectra)[..., :, None] * spectra[..., None, :], axes=(0, 1)))
    lags = np.arange(-window + 1, window) % field.shape[0]
    return cross[np.ix_(lags, lags)] / (field.shape[0] * field.shape[1])


def test_correlation_guidance_moves_fields_towards_the_reference_correlations():
    from mcrpy_poly.diffusion.descriptor_guidance import correlation_guidance

    rng = np.random.default_rng(4)
    y = np.arange(32)[:, None] * np.ones((1, 32))
    reference = np.stack([np.cos(2 * np.pi * y / 8), np.sin(2 * np.pi * y.T / 16)], axis=-1)
    x0 = rng.standard_normal((2, 32, 32, 2)).astype(np.float32)
    guide = correlation_guidance(reference, weight=0.5, limit_to=6)

    def error(field):
        target = numpy_correlations(reference, 6)
        return np.linalg.norm(numpy_correlations(field, 6) - target) / np.linalg.norm(target)

    before = [error(x) for x in x0]
    for _ in range(15):
        x0 = x0 + guide(x0)
    after = [error(x) for x in x0]
    assert all(a < 0.2 * b for a, b in zip(after, before)), (before, after)
