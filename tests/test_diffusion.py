"""Diffusion core: schedules, forward process, samplers, U-Net presets, training, files."""
import numpy as np
import pytest

from mcrpy_poly import SHSHBasis, synthetic
from mcrpy_poly.diffusion import (
    DiffusionModel,
    NoiseSchedule,
    PatchDataset,
    build_unet,
    preset,
    respaced_timesteps,
    sample,
)
from mcrpy_poly.errors import InputError


# -- schedules and the forward process ------------------------------------------------------
def test_linear_schedule_is_ho_scaled_for_T():
    # Ho et al.: 1e-4 .. 0.02 at T = 1000; improved-diffusion at T = 4000: 2.5e-5 .. 0.005.
    for T, first, last in ((1000, 1e-4, 0.02), (4000, 2.5e-5, 0.005)):
        betas = NoiseSchedule.linear(T).betas
        assert betas[0] == pytest.approx(first) and betas[-1] == pytest.approx(last) and len(betas) == T
    # Known value quoted in notes_000 (T = 1000 linear): alpha_bar at Ho's t = 300 is 0.396.
    assert NoiseSchedule.linear(1000).alpha_bars[299] == pytest.approx(0.396, abs=1e-3)


def test_cosine_schedule_follows_closed_form():
    T, s = 1000, 0.008
    t = np.arange(1, T + 1)
    f = np.cos((t / T + s) / (1 + s) * np.pi / 2) ** 2 / np.cos(s / (1 + s) * np.pi / 2) ** 2
    got = NoiseSchedule.cosine(T).alpha_bars
    np.testing.assert_allclose(got[:900], f[:900], rtol=1e-10)  # beta clipping only near the end


def test_forward_process_mean_and_variance():
    """q(x_t | x_0) against the Markov chain x_t = sqrt(1 - beta_t) x_{t-1} + sqrt(beta_t) z."""
    schedule = NoiseSchedule.linear(60)
    rng = np.random.default_rng(0)
    n, t = 40000, 37
    x0 = np.tile(np.array([[1.5, -0.7, 0.2]], np.float32), (n, 1))
    chain = x0.astype(np.float64)
    for beta in schedule.betas[: t + 1]:
        chain = np.sqrt(1 - beta) * chain + np.sqrt(beta) * rng.standard_normal(chain.shape)
    marginal = np.asarray(schedule.q_sample(x0, np.full(n, t), rng.standard_normal(x0.shape).astype(np.float32)))
    expected_mean = np.prod(1 - schedule.betas[: t + 1]) ** 0.5 * x0[0]
    expected_var = 1 - np.prod(1 - schedule.betas[: t + 1])
    for draws in (chain, marginal):
        mean_tolerance = 5 * np.sqrt(expected_var / n)
        np.testing.assert_allclose(draws.mean(axis=0), expected_mean, atol=mean_tolerance)
        np.testing.assert_allclose(draws.var(axis=0), expected_var, rtol=5 * np.sqrt(2 / n))


def test_respaced_timesteps_are_distinct_and_span_the_chain():
    steps = respaced_timesteps(1000, 50)
    assert steps[0] == 999 and steps[-1] == 0 and len(np.unique(steps)) == 50 and np.all(np.diff(steps) < 0)
    assert len(respaced_timesteps(7, 7)) == 7  # every step (spacing exactly 1)
    truncated = respaced_timesteps(1000, 30, start=299)
    assert truncated[0] == 299 and len(truncated) == 30
    with pytest.raises(InputError):
        respaced_timesteps(100, 101)


# -- samplers with a closed-form denoiser ---------------------------------------------------
def gaussian_denoiser(schedule, mu, s):
    """Exact epsilon prediction for data x0 ~ N(mu, s^2), independent per pixel."""
    def eps(x, t):
        ab = schedule.alpha_bars[t].reshape(-1, 1, 1, 1)
        return np.sqrt(1 - ab) * (x - np.sqrt(ab) * mu) / (ab * s ** 2 + 1 - ab)
    return eps


@pytest.mark.parametrize("n_steps, eta", [(1000, 1.0), (200, 0.0)])
def test_samplers_reproduce_a_gaussian_data_distribution(n_steps, eta):
    """With the exact denoiser, ancestral sampling over all T = 1000 steps and DDIM over 200
    respaced steps return N(mu, s^2) up to sampling error and small discretisation bias
    (fewer steps bias the spread low: about -8 % at 50 DDIM steps)."""
    schedule = NoiseSchedule.linear(1000)
    mu, s, n = np.array([0.5, -1.0]), np.array([0.3, 1.2]), 4000
    x = sample(gaussian_denoiser(schedule, mu, s), schedule, (n, 1, 1, 2), respaced_timesteps(1000, n_steps),
               eta, rng=1).reshape(-1, 2)
    np.testing.assert_allclose(x.mean(axis=0), mu, atol=4 * s.max() / np.sqrt(n))
    np.testing.assert_allclose(x.std(axis=0), s, rtol=0.05)


def test_truncated_start_and_correction_hook():
    schedule = NoiseSchedule.linear(100)
    seen = []

    def correction(x, eps, t):
        seen.append(t)
        return eps

    steps = respaced_timesteps(100, 10, start=29)
    start = np.ones((2, 4, 4, 1), np.float32)
    x = sample(gaussian_denoiser(schedule, 0.0, 1.0), schedule, start.shape, steps, 0.0, 0, start, correction)
    assert seen == [int(t) for t in steps]
    # For N(0, 1) data eps(x_t) = sqrt(1 - ab) x_t, and a DDIM step from ab = cos^2(a) to
    # ab' = cos^2(a') multiplies x by cos(a) cos(a') + sin(a) sin(a') = cos(a - a').
    angles = np.append(np.arccos(np.sqrt(schedule.alpha_bars[steps])), 0.0)
    np.testing.assert_allclose(x, start * np.prod(np.cos(np.diff(angles))), rtol=1e-5)


# -- networks ------------------------------------------------------------------------------
def test_improved_256_parameter_count():
    """Paper 003 configuration: 164.8 M parameters (3 channels in, 6 out, 1000 classes)."""
    unet = build_unet(preset("improved-256", num_classes=1000), in_channels=3, out_channels=6)
    assert unet.count_params() == pytest.approx(164.8e6, rel=0.005)


def test_small_preset_is_between_1_and_2_million_parameters():
    assert 1e6 <= build_unet(preset("small"), 9).count_params() <= 2e6


def test_lgd_preset_is_about_12_million_parameters():
    assert build_unet(preset("lgd"), 9).count_params() == pytest.approx(12e6, rel=0.1)


def test_circular_padding_makes_the_unet_shift_equivariant():
    unet = build_unet(preset("tiny", circular=True), 3)
    rng = np.random.default_rng(0)
    unet.set_weights([rng.normal(0, 0.2, w.shape).astype(np.float32) for w in unet.get_weights()])
    x = rng.standard_normal((1, 16, 16, 3)).astype(np.float32)
    t = np.array([10.0], np.float32)
    out = np.asarray(unet.predict_on_batch([x, t]))
    shifted = np.asarray(unet.predict_on_batch([np.roll(x, (4, 6), axis=(1, 2)), t]))
    assert np.abs(out).max() > 1e-3
    np.testing.assert_allclose(shifted, np.roll(out, (4, 6), axis=(1, 2)), atol=1e-4)


# -- training, sampling, files -------------------------------------------------------------
@pytest.fixture(scope="module")
def trained():
    basis = SHSHBasis("m-3m")
    data = PatchDataset([synthetic.voronoi((32, 32), 6, seed=1)], basis, 16)
    model = DiffusionModel(preset("tiny"), basis.n_terms, NoiseSchedule.linear(100), learning_rate=2e-3,
                           ema_decay=0.9, jit_compile=False)
    rng = np.random.default_rng(0)
    losses = [model.train_step(data.batch(8, rng)[0]) for _ in range(150)]
    return model, data, losses


def test_training_reduces_the_loss(trained):
    _, _, losses = trained
    assert np.mean(losses[-25:]) < 0.6 * np.mean(losses[:25])


def test_ddim_with_eta_zero_is_deterministic(trained):
    model, data, _ = trained
    shape = (2, 16, 16, 9)
    first = model.sample(shape, "ddim", steps=6, seed=3)
    assert np.array_equal(first, model.sample(shape, "ddim", steps=6, seed=3))
    assert not np.allclose(first, model.sample(shape, "ddim", steps=6, seed=4))
    start = np.random.default_rng(5).standard_normal(shape).astype(np.float32)
    # From the same start the step noise (other seeds) must not matter at eta = 0 ...
    a = model.sample(shape, "ddim", steps=6, seed=1, x_start=start)
    assert np.array_equal(a, model.sample(shape, "ddim", steps=6, seed=2, x_start=start))
    # ... but does for ancestral sampling.
    assert not np.allclose(model.sample(shape, "ddpm", steps=6, seed=1, x_start=start),
                           model.sample(shape, "ddpm", steps=6, seed=2, x_start=start))


def test_save_and_load_give_identical_predictions(trained, tmp_path):
    model, data, _ = trained
    model.save(tmp_path / "model", note="hello")
    loaded, metadata = DiffusionModel.load(tmp_path / "model")
    assert metadata == {"note": "hello"} and loaded.step == model.step == 150
    x = np.random.default_rng(2).standard_normal((3, 16, 16, 9)).astype(np.float32)
    t = np.array([0, 40, 99])
    for ema in (True, False):
        np.testing.assert_array_equal(loaded.predict_noise(x, t, ema=ema), model.predict_noise(x, t, ema=ema))
    # The EMA copy differs from the raw weights (ema_decay 0.9 over 150 steps).
    assert not np.allclose(model.predict_noise(x, t, ema=True), model.predict_noise(x, t, ema=False))
    with pytest.raises(InputError):
        DiffusionModel.load(tmp_path / "nothing")


def test_classifier_free_guidance_combines_conditional_and_unconditional():
    model = DiffusionModel(preset("tiny", num_classes=3), 2, NoiseSchedule.linear(50), jit_compile=False)
    rng = np.random.default_rng(0)
    unet = model.unet
    unet.set_weights([rng.normal(0, 0.2, w.shape).astype(np.float32) for w in unet.get_weights()])
    x = rng.standard_normal((2, 8, 8, 2)).astype(np.float32)
    t = np.array([3.0, 30.0], np.float32)
    cond = np.asarray(unet.predict_on_batch([x, t, np.array([1, 1], np.int32)]))
    uncond = np.asarray(unet.predict_on_batch([x, t, np.array([3, 3], np.int32)]))
    assert not np.allclose(cond, uncond)
    got = model.predict_noise(x, t, labels=1, guidance_scale=2.5, ema=False)
    np.testing.assert_allclose(got, uncond + 2.5 * (cond - uncond), rtol=1e-4, atol=1e-5)
    with pytest.raises(InputError):
        model.predict_noise(x, t, ema=False)
