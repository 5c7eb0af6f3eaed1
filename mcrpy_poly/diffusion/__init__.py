"""Denoising diffusion (DDPM/DDIM) on SHSH orientation fields, written for Keras 3.

Kept apart as in diffusers: noise schedules (:mod:`.schedules`), the network
(:mod:`.unet`, :mod:`.layers`), samplers (:mod:`.samplers`), the trainable model with
EMA, guidance and files (:mod:`.model`), and training data from orientation maps
(:mod:`.data`). Only ``keras`` and ``keras.ops`` are used, so everything runs under any
Keras backend (``KERAS_BACKEND=tensorflow``, the default here, or ``jax``) and imports
without TensorFlow installed.

Example
-------
>>> from mcrpy_poly import SHSHBasis, synthetic
>>> from mcrpy_poly.diffusion import DiffusionModel, NoiseSchedule, PatchDataset, preset
>>> basis = SHSHBasis("m-3m")
>>> data = PatchDataset([synthetic.voronoi((64, 64), 20)], basis, patch=32)
>>> model = DiffusionModel(preset("tiny"), basis.n_terms, NoiseSchedule.linear(1000))
>>> loss = model.train_step(data.batch(8, rng)[0])
>>> fields = model.sample((4, 64, 64, basis.n_terms), "ddim", steps=50, clip=(data.scaler.low, data.scaler.high))
"""
from .data import (
                   SAMPLE_GROUPS,
                   ChannelScaler,
                   PatchDataset,
                   fields_to_quaternions,
                   nearest_training_agreement,
                   rotate_map,
)
from .model import DiffusionModel
from .samplers import SAMPLERS, sample, sampler_timesteps
from .schedules import SCHEDULES, NoiseSchedule, cosine_betas, linear_betas, respaced_timesteps
from .unet import PRESETS, UNetConfig, build_unet, preset

__all__ = [
                   "PRESETS",
                   "SAMPLERS",
                   "SAMPLE_GROUPS",
                   "SCHEDULES",
                   "ChannelScaler",
                   "DiffusionModel",
                   "NoiseSchedule",
                   "PatchDataset",
                   "UNetConfig",
                   "build_unet",
                   "cosine_betas",
                   "fields_to_quaternions",
                   "linear_betas",
                   "nearest_training_agreement",
                   "preset",
                   "respaced_timesteps",
                   "rotate_map",
                   "sample",
                   "sampler_timesteps",
]
