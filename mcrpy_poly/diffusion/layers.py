"""The few Keras layers the U-Net needs beyond the stock ones, written with ``keras.ops``.

All are registered for ``.keras`` saving under the package name ``mcrpy_poly``.
"""
from __future__ import annotations

import math

import keras
from keras import layers, ops

_register = keras.saving.register_keras_serializable(package="mcrpy_poly")


@_register
class CircularPad2D(layers.Layer):
    """Periodic padding of the two spatial axes, ``(B, H, W, C) -> (B, H + 2p, W + 2p, C)``.

    For periodic microstructures: a convolution after it sees the opposite edge across
    each border instead of zeros.
    """

    def __init__(self, pad: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.pad = int(pad)

    def call(self, x):
        p = self.pad
        x = ops.concatenate([x[:, -p:], x, x[:, :p]], axis=1)
        return ops.concatenate([x[:, :, -p:], x, x[:, :, :p]], axis=2)

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        return (b, None if h is None else h + 2 * self.pad, None if w is None else w + 2 * self.pad, c)

    def get_config(self):
        return {**super().get_config(), "pad": self.pad}


@_register
class TimestepEmbedding(layers.Layer):
    """Sinusoidal features of the (possibly fractional) timestep, ``(B,) -> (B, dim)``.

    ``t * scale`` is embedded as ``[cos(t w_k), sin(t w_k)]`` with frequencies
    ``w_k = max_period^(-k / (dim/2))`` (Vaswani et al.; improved-diffusion). ``scale``
    maps a schedule of T steps onto the 0..1000 range the frequencies are made for.
    """

    def __init__(self, dim: int, scale: float = 1.0, max_period: float = 10000.0, **kwargs):
        super().__init__(**kwargs)
        self.dim = int(dim)
        self.scale = float(scale)
        self.max_period = float(max_period)

    def call(self, t):
        half = self.dim // 2
        freqs = ops.exp(-math.log(self.max_period) * ops.arange(half, dtype="float32") / half)
        args = ops.cast(ops.reshape(t, (-1, 1)), "float32") * self.scale * freqs[None, :]
        return ops.concatenate([ops.cos(args), ops.sin(args)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 2 * (self.dim // 2))

    def get_config(self):
        return {**super().get_config(), "dim": self.dim, "scale": self.scale, "max_period": self.max_period}


@_register
class ScaleShift(layers.Layer):
    """Adaptive group norm's modulation: ``h * (1 + scale) + shift`` with
    ``[scale, shift] = emb``, ``h (B, H, W, C)``, ``emb (B, 2C)``."""

    def call(self, h, emb):
        scale, shift = ops.split(emb, 2, axis=-1)
        return h * (1.0 + scale[:, None, None, :]) + shift[:, None, None, :]

    def compute_output_shape(self, h_shape, emb_shape):
        return h_shape


@_register
class SpatialSelfAttention(layers.Layer):
    """Residual multi-head self-attention over all pixels: ``x + MHA(GroupNorm(x))``.

    Same parameter count as improved-diffusion's ``AttentionBlock`` (``4 C^2 + 6 C``).
    """

    def __init__(self, num_heads: int = 4, groups: int = 32, **kwargs):
        super().__init__(**kwargs)
        self.num_heads = int(num_heads)
        self.groups = int(groups)
        self.norm = layers.GroupNormalization(groups=self.groups, epsilon=1e-5)
        self.attention = None

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels % self.num_heads:
            raise ValueError(f"{channels} channels do not split into {self.num_heads} attention heads")
        self.norm.build(input_shape)
        self.attention = layers.MultiHeadAttention(self.num_heads, channels // self.num_heads)
        self.attention.build((None, None, channels), (None, None, channels))

    def call(self, x):
        b, h, w, c = ops.shape(x)
        tokens = ops.reshape(self.norm(x), (b, h * w, c))
        return x + ops.reshape(self.attention(tokens, tokens), (b, h, w, c))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "num_heads": self.num_heads, "groups": self.groups}
