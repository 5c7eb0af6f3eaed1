"""Noise schedules of the forward process ``q(x_t | x_0)``.

Notation of Ho et al. (2020): ``beta_t`` is the variance added at step ``t``,
``alpha_t = 1 - beta_t`` and ``alpha_bar_t = prod_{s <= t} alpha_s``, so that

    q(x_t | x_0) = N(sqrt(alpha_bar_t) x_0, (1 - alpha_bar_t) I).

Timesteps are counted from 0 here (``t = 0 .. T - 1``; Ho's ``t = 1 .. T``).

Example
-------
>>> schedule = NoiseSchedule.linear(1000)
>>> x_t = schedule.q_sample(x0, t, noise)      # keras.ops, any backend
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import InputError

#: The schedule kinds :meth:`NoiseSchedule.from_name` knows.
SCHEDULES = ("linear", "cosine")


def linear_betas(n_steps: int) -> np.ndarray:
    """Ho et al.'s linear schedule (``1e-4 .. 0.02`` for ``T = 1000``), scaled by ``1000 / T``
    so that other step counts give the same overall noise (improved-diffusion's rule).

    Returns
    -------
    numpy.ndarray, shape (n_steps,), float64
    """
    scale = 1000.0 / n_steps
    return np.linspace(scale * 1e-4, scale * 0.02, n_steps, dtype=np.float64)


def cosine_betas(n_steps: int, offset: float = 0.008, max_beta: float = 0.999) -> np.ndarray:
    """Nichol & Dhariwal's cosine schedule, ``alpha_bar(t) = cos^2(pi/2 (t/T + s) / (1 + s))``.

    Returns
    -------
    numpy.ndarray, shape (n_steps,), float64
    """
    def alpha_bar(t):
        return math.cos((t / n_steps + offset) / (1 + offset) * math.pi / 2) ** 2

    return np.array([min(1 - alpha_bar(t + 1) / alpha_bar(t), max_beta) for t in range(n_steps)])


class NoiseSchedule:
    """The fixed variances of a discrete diffusion process.

    Parameters
    ----------
    betas : array_like, shape (T,)
        Per-step noise variances in ``(0, 1)``.
    name : str
        How it was made (``"linear"``, ``"cosine"``), kept for saving.

    Attributes
    ----------
    betas, alphas, alpha_bars : numpy.ndarray, shape (T,), float64
    """

    def __init__(self, betas, name: str = "custom"):
        betas = np.asarray(betas, dtype=np.float64)
        if betas.ndim != 1 or len(betas) < 1 or np.any(betas <= 0) or np.any(betas >= 1):
            raise InputError("betas must be a non-empty 1D array with values in (0, 1)")
        self.name = name
        self.betas = betas
        self.alphas = 1.0 - betas
        self.alpha_bars = np.cumprod(self.alphas)

    @classmethod
    def from_name(cls, name: str, n_steps: int) -> NoiseSchedule:
        """``"linear"`` or ``"cosine"`` with ``n_steps`` (T) steps."""
        if name not in SCHEDULES:
            raise InputError(f"unknown noise schedule {name!r}; use one of {', '.join(SCHEDULES)}")
        if int(n_steps) < 2:
            raise InputError(f"the number of diffusion steps must be at least 2, got {n_steps}")
        if name == "linear" and int(n_steps) <= 20:
            raise InputError(f"the linear schedule needs more than 20 steps (its last beta is 20 / T), got {n_steps}")
        betas = linear_betas(int(n_steps)) if name == "linear" else cosine_betas(int(n_steps))
        return cls(betas, name)

    @classmethod
    def linear(cls, n_steps: int = 1000) -> NoiseSchedule:
        return cls.from_name("linear", n_steps)

    @classmethod
    def cosine(cls, n_steps: int = 1000) -> NoiseSchedule:
        return cls.from_name("cosine", n_steps)

    @property
    def n_steps(self) -> int:
        """T, the number of diffusion steps."""
        return len(self.betas)

    def __repr__(self):
        return f"NoiseSchedule({self.name!r}, n_steps={self.n_steps})"

    def q_sample(self, x0, t, noise):
        """Draw from ``q(x_t | x_0)`` given the noise: ``sqrt(ab_t) x0 + sqrt(1 - ab_t) noise``.

        Written with ``keras.ops`` (any backend; numpy arrays are accepted too).

        Parameters
        ----------
        x0, noise : tensor, shape (B, ...)
        t : int tensor, shape (B,)
            Timesteps in ``[0, T)``.

        Returns
        -------
        tensor, shape (B, ...), dtype of ``x0``
        """
        from keras import ops

        x0 = ops.convert_to_tensor(x0)
        index = ops.cast(ops.reshape(t, (-1,)), "int32")
        shape = (-1,) + (1,) * (len(x0.shape) - 1)
        signal = ops.reshape(ops.take(ops.convert_to_tensor(np.sqrt(self.alpha_bars), x0.dtype), index), shape)
        sigma = ops.reshape(ops.take(ops.convert_to_tensor(np.sqrt(1 - self.alpha_bars), x0.dtype), index), shape)
        return signal * x0 + sigma * ops.cast(noise, x0.dtype)


def respaced_timesteps(n_steps: int, n_sampling_steps: int, start: int | None = None) -> np.ndarray:
    """Evenly spaced timesteps for a shortened reverse chain, descending.

    Parameters
    ----------
    n_steps : int
        T of the schedule.
    n_sampling_steps : int
        How many denoising steps to take (``<= start + 1``).
    start : int, optional
        The first (largest) timestep; default ``T - 1``. A smaller value truncates the
        chain (it then starts from a state given at that timestep).

    Returns
    -------
    numpy.ndarray of int, shape (n,), from ``start`` down to 0 (both included when n > 1)
    """
    start = n_steps - 1 if start is None else int(start)
    if not 0 <= start < n_steps:
        raise InputError(f"start timestep must be in [0, {n_steps}), got {start}")
    count = int(n_sampling_steps)
    if not 1 <= count <= start + 1:
        raise InputError(f"the number of sampling steps must be in [1, {start + 1}], got {n_sampling_steps}")
    # Rounding half up keeps the steps distinct (spacing >= 1); round-half-even would not.
    return np.floor(np.linspace(start, 0, count) + 0.5).astype(int)
