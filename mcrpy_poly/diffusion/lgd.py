"""Local-Global Decomposition sampling (paper 000; notes_000_lgd_rogsh.md s. 5).

The **global** part is a Gaussian random field with the reference's one- and two-point
statistics (:mod:`mcrpy_poly.grf`); the **local** part is the diffusion model, run from a
truncated timestep ``t0`` (default 300 of 1000) with the GRF sample as its start:

- ``start="literal"`` (the paper's words, the default): ``x_{t0}`` is the scaled GRF sample
  itself. Its channels have unit variance, as ``x_t`` has at every ``t``, but no noise;
- ``start="sdedit"``: the GRF sample is noised to ``t0`` as the forward process would,
  ``x_{t0} = sqrt(ab_t0) m + sqrt(1 - ab_t0) z`` (SDEdit), so the model sees the state it was
  trained on.

At every step :func:`mean_correction` pulls the channel means of the predicted clean field to
the reference's (the one-point conditioning of the paper's Eq. 6, in the epsilon form of the
notes: ``eps <- eps + w sqrt(ab_t) / sqrt(1 - ab_t) (mean(x0_hat) - target)``; ``w = 1`` makes
``mean(x0_hat)`` equal the target exactly).

Arrays are numpy float32 in the model's scaled units; nothing here needs TensorFlow.
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from .schedules import NoiseSchedule

#: How the GRF sample becomes the state at ``t0``.
START_MODES = ("literal", "sdedit")


def truncated_start(global_fields, schedule: NoiseSchedule, t0: int, start: str = "literal", rng=None) -> np.ndarray:
    """The state at ``t0`` from scaled GRF samples ``(B, H, W, K)`` (module notes)."""
    if start not in START_MODES:
        raise InputError(f"unknown start {start!r}; use one of {', '.join(START_MODES)}")
    if not 0 <= int(t0) < schedule.n_steps:
        raise InputError(f"t0 must be in [0, {schedule.n_steps}), got {t0}")
    x = np.asarray(global_fields, dtype=np.float32)
    if start == "literal":
        return x
    ab = schedule.alpha_bars[int(t0)]
    noise = np.random.default_rng(rng).standard_normal(x.shape, dtype=np.float32)
    return (np.sqrt(ab) * x + np.sqrt(1 - ab) * noise).astype(np.float32)


def x0_correction(displacements, schedule: NoiseSchedule):
    """``correction(x_t, eps, t) -> eps`` for :func:`~.samplers.sample` that moves the predicted
    clean field ``x0_hat = (x_t - sqrt(1 - ab) eps) / sqrt(ab)`` by the sum of
    ``displacement(x0_hat)`` over ``displacements`` (changing ``eps`` by
    ``-sqrt(ab) / sqrt(1 - ab) d`` changes ``x0_hat`` by ``d``)."""

    def correct(x, eps, t):
        ab = schedule.alpha_bars[t]
        x0 = (x - np.sqrt(1 - ab) * eps) / np.sqrt(ab)
        return eps - np.sqrt(ab) / np.sqrt(1 - ab) * sum(d(x0) for d in displacements)

    return correct


def mean_displacement(target_mean, weight: float = 1.0):
    """``x0 -> d``: ``weight`` times the way from the channel means of ``x0 (B, H, W, K)`` to
    ``target_mean (K,)`` (1 sets them; paper 000's one-point conditioning)."""
    target = np.asarray(target_mean, dtype=np.float32)

    def displacement(x0):
        return -weight * (x0.mean(axis=tuple(range(1, x0.ndim - 1)), keepdims=True) - target)

    return displacement


def mean_correction(target_mean, schedule: NoiseSchedule, weight: float = 1.0):
    """The per-step correction of the channel means (module notes): :func:`x0_correction` of
    :func:`mean_displacement`."""
    return x0_correction([mean_displacement(target_mean, weight)], schedule)


def lgd_sample(model, global_fields, target_mean, t0: int = 300, start: str = "literal", sampler: str = "ddpm",
               steps: int | None = None, eta: float | None = None, mean_weight: float = 1.0, guidance=None,
               seed=None, batch: int = 8, clip=None, progress: bool = False, **model_kwargs) -> np.ndarray:
    """Run the truncated reverse chain from GRF samples.

    Parameters
    ----------
    model : DiffusionModel
    global_fields : array_like, shape (n, H, W, K)
        GRF samples in the model's scaled units.
    target_mean : array_like, shape (K,)
        The reference's channel means, scaled.
    t0 : int
        Start timestep (paper 000: 300 of T = 1000).
    start : {"literal", "sdedit"}
    sampler, steps, eta
        As :meth:`DiffusionModel.sample`; ``steps`` defaults to every timestep from ``t0``.
    mean_weight : float
        ``w`` of :func:`mean_correction`; 0 switches the correction off.
    guidance : callable, optional
        A further displacement ``x0 -> d`` of the predicted clean field at every step, e.g.
        :func:`~.descriptor_guidance.correlation_guidance` (TensorFlow).
    seed : int or sequence, optional
    batch : int
        Maps per network call.
    clip, progress, model_kwargs
        Passed on to :meth:`DiffusionModel.sample` (e.g. ``labels``, ``guidance_scale``).

    Returns
    -------
    numpy.ndarray, shape (n, H, W, K), float32 (scaled)
    """
    global_fields = np.asarray(global_fields, dtype=np.float32)
    displacements = ([mean_displacement(target_mean, mean_weight)] if mean_weight else []) \
        + ([guidance] if guidance is not None else [])
    correction = x0_correction(displacements, model.schedule) if displacements else None
    out = []
    for first in range(0, len(global_fields), batch):
        chunk = global_fields[first:first + batch]
        x_start = truncated_start(chunk, model.schedule, t0, start, rng=[*np.atleast_1d(seed or 0), first, 7])
        out.append(model.sample(chunk.shape, sampler, steps, eta, seed=[*np.atleast_1d(seed or 0), first],
                                x_start=x_start, t_start=t0, correction=correction, clip=clip, progress=progress,
                                **model_kwargs))
    return np.concatenate(out)
