"""Epsilon-prediction U-Net (improved-diffusion layout) as a functional Keras model.

Layout (Nichol & Dhariwal 2021, ``../shared/papers/notes_003_conditional_ddpm.md`` s. 3):
an input convolution; per resolution level ``num_res_blocks`` residual blocks (group
norm, SiLU, 3x3 conv; the time (and label) embedding modulates the second norm as
``(1 + scale) * h + shift``; dropout; a zero-initialised 3x3 conv), self-attention at the
chosen resolutions, a strided-conv downsampling between levels; a middle
res-attention-res block (no attention there when ``attention_resolutions`` is empty); a mirrored decoder
with ``num_res_blocks + 1`` blocks per level on
concatenated skips and nearest-neighbour upsampling; group norm, SiLU and a
zero-initialised output convolution. Spatial sizes are free (multiples of
``2^(levels - 1)``), so a model trained on 64 x 64 patches samples 128 x 128 maps.

Presets (:data:`PRESETS`):

- ``"tiny"``: 16/32 channels, one block per level; CPU tests, seconds per hundred steps.
- ``"small"``: widths 32/64/64, 2 blocks per level, attention at the lowest level (16 x 16
  for 64 x 64 patches); 1.75 M parameters for 9 SHSH channels, for CPU training (issue 13).
- ``"lgd"``: widths 64/128/128 (paper 000, case study 1), 4 blocks per level, attention at
  the lowest level (16 x 16 for 64 x 64 patches); 11.4 M parameters for 9 SHSH channels,
  near the paper's 12 M (its block count is not given; 3 blocks give 9.2 M).
- ``"improved-256"``: the paper 003 configuration, improved-diffusion defaults for 256 x 256
  (128 channels, multipliers 1,1,2,2,4,4, 3 blocks, attention at 16 and 8, 4 heads); about
  165 M parameters with 3 input channels, learned variance (6 outputs) and 1000 classes.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import keras
from keras import layers

from ..errors import InputError
from .layers import CircularPad2D, ScaleShift, SpatialSelfAttention, TimestepEmbedding


@dataclass(frozen=True)
class UNetConfig:
    """Hyper-parameters of :func:`build_unet`.

    Attributes
    ----------
    channels : int
        Width of the first level.
    channel_mult : tuple of int
        Width multiplier per level (the number of levels is its length).
    num_res_blocks : int
        Residual blocks per level in the encoder (the decoder has one more).
    attention_resolutions : tuple of int
        Spatial sizes, at ``image_size`` input, whose levels get self-attention.
    image_size : int
        The input size ``attention_resolutions`` refer to: they fix the levels (downsampling
        factors ``image_size // resolution``) that get attention at any input size.
    dropout : float
    num_heads : int
    norm_groups : int
        Groups of every group norm (must divide every width).
    circular : bool
        Periodic padding in all 3x3 convolutions (for periodic structures).
    num_classes : int
        0 for an unconditional model; otherwise labels ``0 .. num_classes - 1`` plus the
        "no label" index ``num_classes`` used for classifier-free guidance.
    """

    channels: int = 64
    channel_mult: tuple = (1, 2, 2)
    num_res_blocks: int = 3
    attention_resolutions: tuple = (16,)
    image_size: int = 64
    dropout: float = 0.1
    num_heads: int = 4
    norm_groups: int = 32
    circular: bool = False
    num_classes: int = 0

    def replace(self, **changes) -> UNetConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> UNetConfig:
        d = dict(d)
        for key in ("channel_mult", "attention_resolutions"):
            d[key] = tuple(d[key])
        return cls(**d)

    @property
    def divisor(self) -> int:
        """Spatial sizes must be multiples of this."""
        return 2 ** (len(self.channel_mult) - 1)


#: Named configurations; ``image_size`` is overridden by the training patch size.
PRESETS = {
    "tiny": UNetConfig(channels=16, channel_mult=(1, 2), num_res_blocks=1, attention_resolutions=(),
                       image_size=16, dropout=0.0, num_heads=2, norm_groups=8),
    "small": UNetConfig(channels=32, channel_mult=(1, 2, 2), num_res_blocks=2, attention_resolutions=(16,),
                        image_size=64, dropout=0.1, num_heads=2, norm_groups=8),
    "lgd": UNetConfig(channels=64, channel_mult=(1, 2, 2), num_res_blocks=4, attention_resolutions=(16,),
                      image_size=64, dropout=0.1),
    "improved-256": UNetConfig(channels=128, channel_mult=(1, 1, 2, 2, 4, 4), num_res_blocks=3,
                               attention_resolutions=(16, 8), image_size=256, dropout=0.0),
}


def preset(name: str, **changes) -> UNetConfig:
    """A copy of ``PRESETS[name]`` with some fields changed."""
    if name not in PRESETS:
        raise InputError(f"unknown U-Net preset {name!r}; use one of {', '.join(PRESETS)}")
    return PRESETS[name].replace(**changes)


def _conv(config: UNetConfig, filters: int, kernel: int = 3, strides: int = 1, zero: bool = False, name=None):
    """A conv layer (as a callable) with zero or periodic padding per ``config.circular``."""
    conv = layers.Conv2D(filters, kernel, strides=strides, name=name,
                         padding="valid" if config.circular and kernel > 1 else "same",
                         kernel_initializer="zeros" if zero else "glorot_uniform")
    if not (config.circular and kernel > 1):
        return conv
    pad = CircularPad2D(kernel // 2)
    return lambda x: conv(pad(x))


def _norm_act(config: UNetConfig, x):
    return layers.Activation("silu")(layers.GroupNormalization(config.norm_groups, epsilon=1e-5)(x))


def _res_block(config: UNetConfig, x, emb, filters: int):
    h = _conv(config, filters)(_norm_act(config, x))
    modulation = layers.Dense(2 * filters)(layers.Activation("silu")(emb))
    h = ScaleShift()(layers.GroupNormalization(config.norm_groups, epsilon=1e-5)(h), modulation)
    h = layers.Dropout(config.dropout)(layers.Activation("silu")(h))
    h = _conv(config, filters, zero=True)(h)
    skip = x if x.shape[-1] == filters else layers.Conv2D(filters, 1)(x)
    return layers.Add()([skip, h])


def build_unet(config: UNetConfig, in_channels: int, out_channels: int | None = None,
               timestep_scale: float = 1.0, name: str = "unet") -> keras.Model:
    """The epsilon-prediction network.

    Parameters
    ----------
    config : UNetConfig
    in_channels : int
        Channels of the field (K SHSH functions).
    out_channels : int, optional
        Default ``in_channels`` (2x for a learned-variance head).
    timestep_scale : float
        ``1000 / T``: the embedding sees timesteps on a 0..1000 scale whatever T is.

    Returns
    -------
    keras.Model
        Inputs ``[x (B, H, W, K) float32, t (B,) float32]`` plus ``label (B,) int32`` when
        ``config.num_classes > 0``; output ``(B, H, W, out_channels)``.
    """
    for width in {config.channels * m for m in config.channel_mult}:
        if width % config.norm_groups or (config.attention_resolutions and width % config.num_heads):
            raise InputError(f"width {width} is not divisible by norm_groups={config.norm_groups} "
                             f"and num_heads={config.num_heads}")
    x_in = keras.Input((None, None, in_channels), name="x")
    t_in = keras.Input((), name="t")
    inputs = [x_in, t_in]
    emb_dim = 4 * config.channels
    emb = TimestepEmbedding(config.channels, scale=timestep_scale)(t_in)
    emb = layers.Dense(emb_dim)(layers.Activation("silu")(layers.Dense(emb_dim)(emb)))
    if config.num_classes:
        label_in = keras.Input((), dtype="int32", name="label")
        inputs.append(label_in)
        label_emb = layers.Flatten()(layers.Embedding(config.num_classes + 1, emb_dim)(label_in))
        emb = layers.Add()([emb, label_emb])
    attention_factors = {config.image_size // r for r in config.attention_resolutions}

    def attend(h, factor):
        if factor in attention_factors:
            return SpatialSelfAttention(config.num_heads, config.norm_groups)(h)
        return h

    h = _conv(config, config.channels)(x_in)
    skips, factor = [h], 1
    for level, mult in enumerate(config.channel_mult):
        for _ in range(config.num_res_blocks):
            h = attend(_res_block(config, h, emb, config.channels * mult), factor)
            skips.append(h)
        if level < len(config.channel_mult) - 1:
            h = _conv(config, h.shape[-1], strides=2)(h)
            skips.append(h)
            factor *= 2
    h = _res_block(config, h, emb, h.shape[-1])
    h = SpatialSelfAttention(config.num_heads, config.norm_groups)(h) if config.attention_resolutions else h
    h = _res_block(config, h, emb, h.shape[-1])
    for level, mult in reversed(list(enumerate(config.channel_mult))):
        for block in range(config.num_res_blocks + 1):
            h = layers.Concatenate()([h, skips.pop()])
            h = attend(_res_block(config, h, emb, config.channels * mult), factor)
            if level and block == config.num_res_blocks:
                h = _conv(config, h.shape[-1])(layers.UpSampling2D(2, interpolation="nearest")(h))
                factor //= 2
    out = _conv(config, out_channels or in_channels, zero=True, name="eps")(_norm_act(config, h))
    return keras.Model(inputs, out, name=name)
