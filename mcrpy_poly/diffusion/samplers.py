"""Reverse-process samplers: DDPM ancestral sampling and DDIM, as one generalised step.

One step from ``t`` to the previous kept timestep ``s < t`` (Song et al. 2021, Eq. 12):

    x0_hat = (x_t - sqrt(1 - ab_t) eps) / sqrt(ab_t)
    sigma  = eta * sqrt((1 - ab_s) / (1 - ab_t) * (1 - ab_t / ab_s))
    x_s    = sqrt(ab_s) x0_hat + sqrt(1 - ab_s - sigma^2) eps + sigma z

with ``ab_s = 1`` after the last step (which returns ``x0_hat``). ``eta = 0`` is DDIM
(deterministic given ``x_T``); ``eta = 1`` over all T timesteps is exactly Ho et al.'s
ancestral sampler with the posterior variance ``beta_tilde_t``; ``eta = 1`` on respaced
timesteps is improved-diffusion's respaced DDPM.

Hooks for conditioned generation (paper 000's Local-Global Decomposition):

- ``x_start`` with a truncated ``t_start``: start from a given state at an intermediate
  timestep (e.g. a noised Gaussian-random-field sample) instead of pure noise;
- ``correction(x_t, eps, t) -> eps``: change the predicted noise at every step (e.g. the
  1-point mean correction).

Arrays are numpy float32; the network is called through ``eps_fn``, so any Keras backend
(or a closed-form denoiser in tests) can serve.
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from .schedules import NoiseSchedule, respaced_timesteps

#: Sampler names and their default ``eta``.
SAMPLERS = {"ddpm": 1.0, "ddim": 0.0}


def sample(eps_fn, schedule: NoiseSchedule, shape, timesteps=None, eta: float = 1.0, rng=None,
           x_start=None, correction=None, clip=None, progress: bool = False) -> np.ndarray:
    """Run the reverse chain.

    Parameters
    ----------
    eps_fn : callable
        ``eps_fn(x (B, ...) float32, t (B,) int32) -> eps (B, ...)``, the noise prediction.
    schedule : NoiseSchedule
    shape : tuple of int
        ``(B, H, W, K)`` of the samples.
    timesteps : sequence of int, optional
        Strictly descending timesteps to visit (see :func:`respaced_timesteps`); default all
        ``T - 1 .. 0``. The first one is the start timestep.
    eta : float
        0 for DDIM, 1 for ancestral (DDPM) sampling; values between interpolate.
    rng : numpy.random.Generator or int, optional
    x_start : array_like, shape ``shape``, optional
        The state at ``timesteps[0]``; default standard normal noise.
    correction : callable, optional
        ``correction(x_t, eps, t) -> eps`` applied after each network call.
    clip : (low, high), optional
        Bounds (broadcastable to ``shape``) for the predicted ``x0`` at every step; the noise
        estimate is made consistent with the clipped ``x0``.
    progress : bool
        Show a tqdm bar.

    Returns
    -------
    numpy.ndarray, shape ``shape``, float32
    """
    rng = np.random.default_rng(rng)
    timesteps = np.arange(schedule.n_steps)[::-1] if timesteps is None else np.asarray(timesteps, dtype=int)
    if timesteps.ndim != 1 or len(timesteps) == 0 or np.any(np.diff(timesteps) >= 0) \
            or timesteps[0] >= schedule.n_steps or timesteps[-1] < 0:
        raise InputError(f"timesteps must be strictly descending within [0, {schedule.n_steps})")
    if x_start is None:
        x = rng.standard_normal(shape, dtype=np.float32)
    else:
        x = np.asarray(x_start, dtype=np.float32)
        if x.shape != tuple(shape):
            raise InputError(f"x_start has shape {x.shape}, expected {tuple(shape)}")
    alpha_bars = schedule.alpha_bars
    steps = timesteps
    if progress:
        from tqdm.auto import tqdm

        steps = tqdm(timesteps, desc="sampling", unit="step", leave=False)
    for i, t in enumerate(steps):
        ab = alpha_bars[t]
        ab_prev = alpha_bars[timesteps[i + 1]] if i + 1 < len(timesteps) else 1.0
        eps = np.asarray(eps_fn(x, np.full(shape[0], t, dtype=np.int32)), dtype=np.float32)
        if correction is not None:
            eps = np.asarray(correction(x, eps, int(t)), dtype=np.float32)
        x0 = (x - np.sqrt(1 - ab) * eps) / np.sqrt(ab)
        if clip is not None:
            x0 = np.clip(x0, clip[0], clip[1])
            eps = (x - np.sqrt(ab) * x0) / np.sqrt(1 - ab)
        sigma = eta * np.sqrt((1 - ab_prev) / (1 - ab) * (1 - ab / ab_prev))
        x = np.sqrt(ab_prev) * x0 + np.sqrt(max(1 - ab_prev - sigma ** 2, 0.0)) * eps
        if sigma > 0:
            x = x + sigma * rng.standard_normal(shape, dtype=np.float32)
        x = x.astype(np.float32)
    return x


def sampler_timesteps(schedule: NoiseSchedule, sampler: str, steps: int | None = None,
                      t_start: int | None = None) -> tuple[np.ndarray, float]:
    """Timesteps and ``eta`` for a named sampler.

    Parameters
    ----------
    sampler : {"ddpm", "ddim"}
    steps : int, optional
        Number of denoising steps; default every timestep from ``t_start`` (all T for DDPM).
    t_start : int, optional
        Truncated start timestep (default ``T - 1``).
    """
    if sampler not in SAMPLERS:
        raise InputError(f"unknown sampler {sampler!r}; use one of {', '.join(SAMPLERS)}")
    start = schedule.n_steps - 1 if t_start is None else int(t_start)
    return respaced_timesteps(schedule.n_steps, start + 1 if steps is None else steps, start), SAMPLERS[sampler]
