"""The trainable diffusion model: U-Net, noise schedule, optimiser with EMA, guidance, files.

Training is backend-agnostic: a small Keras "trainer" model maps ``(x0, noise, t[, label])``
to the predicted noise (the forward process is a layer inside it), compiled with the MSE
loss of Ho et al., so ``train_on_batch`` computes gradients with whichever Keras backend
is active (TensorFlow, JAX, torch). The exponential moving average of the weights is the
optimiser's own (``use_ema``); sampling uses a copy of the U-Net holding the averages.

Files of a model directory:

- ``config.json``: model settings (U-Net, schedule, optimiser) and any metadata the caller
  adds (data scaling, training maps; see :mod:`mcrpy_poly.cli.train_ddpm`);
- ``trainer.keras``: U-Net and optimiser state (moments, EMA, step count), to resume;
- ``unet_ema.keras``: the averaged U-Net alone, for sampling.
"""
from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
from keras import layers

from ..atomic import atomic_path, save_json
from ..errors import InputError
from .samplers import sample, sampler_timesteps
from .schedules import NoiseSchedule
from .unet import UNetConfig, build_unet

CONFIG_FILE = "config.json"
TRAINER_FILE = "trainer.keras"
EMA_FILE = "unet_ema.keras"


@keras.saving.register_keras_serializable(package="mcrpy_poly")
class ForwardDiffusion(layers.Layer):
    """``x_t = sqrt(ab_t) x0 + sqrt(1 - ab_t) noise`` (:meth:`NoiseSchedule.q_sample`)."""

    def __init__(self, betas, schedule_name: str = "custom", **kwargs):
        super().__init__(**kwargs)
        self.schedule = NoiseSchedule(betas, schedule_name)

    def call(self, x0, noise, t):
        return self.schedule.q_sample(x0, t, noise)

    def compute_output_shape(self, x0_shape, noise_shape, t_shape):
        return x0_shape

    def get_config(self):
        return {**super().get_config(), "betas": self.schedule.betas.tolist(), "schedule_name": self.schedule.name}


class DiffusionModel:
    """Epsilon-prediction DDPM on fields of ``in_channels`` channels.

    Parameters
    ----------
    unet_config : UNetConfig
    in_channels : int
    schedule : NoiseSchedule
    learning_rate : float
        Adam step size.
    ema_decay : float
        Momentum of the weight average used for sampling.
    label_dropout : float
        Share of training labels replaced by the "no label" index (classifier-free
        guidance); only with ``unet_config.num_classes > 0``.
    seed : int
        Seeds the timestep, noise and label-dropout draws of training.
    jit_compile : bool or "auto"
        Passed to ``keras.Model.compile`` (XLA under TensorFlow; JAX always compiles).
        Under TensorFlow on CPU, ``False`` trains the tiny preset about twice as fast.
    """

    def __init__(self, unet_config: UNetConfig, in_channels: int, schedule: NoiseSchedule,
                 learning_rate: float = 2e-4, ema_decay: float = 0.999, label_dropout: float = 0.1, seed: int = 0,
                 jit_compile="auto", _trainer=None):
        self.unet_config = unet_config
        self.in_channels = int(in_channels)
        self.schedule = schedule
        self.learning_rate = float(learning_rate)
        self.ema_decay = float(ema_decay)
        self.label_dropout = float(label_dropout)
        self.seed = int(seed)
        self.jit_compile = jit_compile
        self.trainer = _trainer or self._build_trainer()
        self.unet = self.trainer.get_layer("unet")
        self._ema_unet = None
        self._rng = np.random.default_rng([self.seed, self.step])

    def _build_trainer(self) -> keras.Model:
        unet = build_unet(self.unet_config, self.in_channels, timestep_scale=1000.0 / self.schedule.n_steps)
        x0, noise = (keras.Input((None, None, self.in_channels), name=n) for n in ("x0", "noise"))
        t = keras.Input((), name="t")
        x_t = ForwardDiffusion(self.schedule.betas, self.schedule.name)(x0, noise, t)
        inputs = [x0, noise, t]
        unet_inputs = [x_t, t]
        if self.conditional:
            label = keras.Input((), dtype="int32", name="label")
            inputs.append(label)
            unet_inputs.append(label)
        trainer = keras.Model(inputs, unet(unet_inputs), name="trainer")
        trainer.compile(optimizer=keras.optimizers.Adam(self.learning_rate, use_ema=True,
                                                        ema_momentum=self.ema_decay), loss="mse",
                        jit_compile=self.jit_compile)
        return trainer

    # -- properties ----------------------------------------------------------------------
    @property
    def conditional(self) -> bool:
        return self.unet_config.num_classes > 0

    @property
    def step(self) -> int:
        """Optimiser steps taken so far."""
        return int(keras.ops.convert_to_numpy(self.trainer.optimizer.iterations))

    def __repr__(self):
        return (f"DiffusionModel({self.in_channels} channels, {self.schedule!r}, "
                f"{self.unet.count_params()} parameters, step {self.step})")

    # -- training ------------------------------------------------------------------------
    def train_step(self, x0, labels=None) -> float:
        """One optimiser step on a batch of clean fields ``x0 (B, H, W, K)``; returns the loss.

        Timesteps are uniform on ``[0, T)``, the noise standard normal; with labels, a share
        ``label_dropout`` of them becomes the "no label" index.
        """
        x0 = np.asarray(x0, dtype=np.float32)
        batch = len(x0)
        noise = self._rng.standard_normal(x0.shape, dtype=np.float32)
        t = self._rng.integers(0, self.schedule.n_steps, batch).astype(np.float32)
        inputs = [x0, noise, t]
        if self.conditional:
            labels = self._labels(labels, batch)
            dropped = self._rng.random(batch) < self.label_dropout
            inputs.append(np.where(dropped, self.unet_config.num_classes, labels).astype(np.int32))
        self._ema_unet = None
        return float(np.asarray(self.trainer.train_on_batch(inputs, noise)))

    def _labels(self, labels, batch: int) -> np.ndarray:
        if labels is None:
            raise InputError("this model is class-conditional: give labels")
        labels = np.broadcast_to(np.asarray(labels, dtype=np.int32), (batch,))
        if np.any(labels < 0) or np.any(labels > self.unet_config.num_classes):
            raise InputError(f"labels must be in [0, {self.unet_config.num_classes}] "
                             f"({self.unet_config.num_classes} = no label)")
        return labels

    # -- prediction ----------------------------------------------------------------------
    @property
    def ema_unet(self) -> keras.Model:
        """A copy of the U-Net holding the weight averages (rebuilt after training steps)."""
        if self._ema_unet is None:
            optimizer = self.trainer.optimizer
            current = [v.numpy() for v in self.unet.trainable_variables]
            if self.step > 0:
                optimizer.finalize_variable_values(self.unet.trainable_variables)
            ema = keras.models.clone_model(self.unet)
            ema.set_weights(self.unet.get_weights())
            for variable, value in zip(self.unet.trainable_variables, current):
                variable.assign(value)
            self._ema_unet = ema
        return self._ema_unet

    def predict_noise(self, x, t, labels=None, guidance_scale: float = 1.0, ema: bool = True) -> np.ndarray:
        """Noise prediction ``(B, H, W, K)`` for states ``x`` at timesteps ``t`` (int, ``(B,)``).

        With labels and ``guidance_scale = w``, classifier-free guidance
        ``eps = eps(no label) + w (eps(label) - eps(no label))``; ``w = 1`` is plain
        conditional prediction.
        """
        net = self.ema_unet if ema else self.unet
        x = np.asarray(x, dtype=np.float32)
        t = np.broadcast_to(np.asarray(t, dtype=np.float32), (len(x),))
        if not self.conditional:
            return np.asarray(net.predict_on_batch([x, t]))
        labels = self._labels(labels, len(x))
        if guidance_scale == 1.0:
            return np.asarray(net.predict_on_batch([x, t, labels]))
        null = np.full(len(x), self.unet_config.num_classes, np.int32)
        both = np.asarray(net.predict_on_batch([np.concatenate([x, x]), np.concatenate([t, t]),
                                                np.concatenate([labels, null])]))
        conditional, unconditional = both[: len(x)], both[len(x):]
        return unconditional + guidance_scale * (conditional - unconditional)

    def sample(self, shape, sampler: str = "ddim", steps: int | None = None, eta: float | None = None, seed=None,
               labels=None, guidance_scale: float = 1.0, x_start=None, t_start: int | None = None,
               correction=None, clip=None, progress: bool = False) -> np.ndarray:
        """Generate fields of ``shape (B, H, W, K)`` with the averaged weights.

        Parameters
        ----------
        sampler : {"ddim", "ddpm"}
            Sets the default ``eta`` (0 or 1); ``steps`` respaces either.
        steps : int, optional
            Denoising steps (default: every timestep from ``t_start``).
        x_start, t_start : optional
            Start state at a truncated timestep (see :func:`~.samplers.sample`).
        correction, clip, progress
            Passed on to :func:`~.samplers.sample`.

        Returns
        -------
        numpy.ndarray, shape ``shape``, float32 (in the model's scaled units)
        """
        shape = tuple(int(s) for s in shape)
        if len(shape) != 4 or shape[-1] != self.in_channels:
            raise InputError(f"sample shape must be (B, H, W, {self.in_channels}), got {shape}")
        divisor = self.unet_config.divisor
        if shape[1] % divisor or shape[2] % divisor:
            raise InputError(f"sample size {shape[1]} x {shape[2]} must be a multiple of {divisor} for this U-Net")
        timesteps, default_eta = sampler_timesteps(self.schedule, sampler, steps, t_start)

        def eps_fn(x, t):
            return self.predict_noise(x, t, labels, guidance_scale)

        return sample(eps_fn, self.schedule, shape, timesteps, default_eta if eta is None else eta, seed,
                      x_start, correction, clip, progress)

    # -- files ---------------------------------------------------------------------------
    def config(self) -> dict:
        return dict(unet=self.unet_config.to_dict(), in_channels=self.in_channels, schedule=self.schedule.name,
                    diffusion_steps=self.schedule.n_steps, learning_rate=self.learning_rate,
                    ema_decay=self.ema_decay, label_dropout=self.label_dropout, seed=self.seed,
                    jit_compile=self.jit_compile)

    def save(self, directory, **metadata) -> Path:
        """Write ``config.json`` (with ``metadata`` under ``"metadata"``), the trainer (for
        resuming) and the averaged U-Net, each atomically."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        for name, model in ((TRAINER_FILE, self.trainer), (EMA_FILE, self.ema_unet)):
            with atomic_path(directory / name) as tmp:
                model.save(tmp)
        save_json(directory / CONFIG_FILE, dict(model=self.config(), step=self.step, metadata=metadata))
        return directory

    @classmethod
    def load(cls, directory, jit_compile=None) -> tuple[DiffusionModel, dict]:
        """Read a model directory written by :meth:`save`; returns ``(model, metadata)``.
        ``jit_compile`` overrides the saved setting for further training."""
        directory = Path(directory)
        config_path = directory / CONFIG_FILE
        if not config_path.is_file() or not (directory / TRAINER_FILE).is_file():
            raise InputError(f"{directory}: not a diffusion model directory (no {CONFIG_FILE} / {TRAINER_FILE})")
        saved = json.loads(config_path.read_text())
        c = saved["model"]
        jit_compile = c.get("jit_compile", "auto") if jit_compile is None else jit_compile
        trainer = keras.saving.load_model(directory / TRAINER_FILE)
        trainer.compile(optimizer=trainer.optimizer, loss="mse", jit_compile=jit_compile)
        model = cls(UNetConfig.from_dict(c["unet"]), c["in_channels"],
                    NoiseSchedule.from_name(c["schedule"], c["diffusion_steps"]), c["learning_rate"],
                    c["ema_decay"], c["label_dropout"], c["seed"], jit_compile, _trainer=trainer)
        if (directory / EMA_FILE).is_file():
            model._ema_unet = keras.saving.load_model(directory / EMA_FILE)
        return model, saved.get("metadata", {})
