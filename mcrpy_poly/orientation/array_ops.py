"""The few array operations SHSH evaluation needs, for numpy, TensorFlow and keras.ops.

One evaluation routine (:meth:`SHSHBasis.evaluate`) serves all three libraries; this
module maps their differing names (``concat`` / ``concatenate``, ``cast`` / ``asarray``)
onto one namespace. TensorFlow and Keras are imported only when asked for.
"""
from __future__ import annotations

from functools import cache
from types import SimpleNamespace

import numpy as np


@cache
def array_ops(library: str) -> SimpleNamespace:
    """Namespace with ``sqrt, sum, reshape, stack, matmul, concatenate, cast, convert`` for
    ``library`` in ``{"numpy", "tensorflow", "keras"}``."""
    if library == "numpy":
        return SimpleNamespace(sqrt=np.sqrt, sum=np.sum, reshape=np.reshape, stack=np.stack,
                               matmul=np.matmul, concatenate=np.concatenate,
                               cast=lambda x, dtype: np.asarray(x, dtype=dtype),
                               convert=lambda x: np.asarray(x, dtype=np.float64))
    if library == "tensorflow":
        import tensorflow as tf

        return SimpleNamespace(sqrt=tf.sqrt, sum=tf.reduce_sum, reshape=tf.reshape, stack=tf.stack,
                               matmul=tf.linalg.matmul, concatenate=tf.concat, cast=tf.cast,
                               convert=tf.convert_to_tensor)
    if library == "keras":
        from keras import ops

        return SimpleNamespace(sqrt=ops.sqrt, sum=ops.sum, reshape=ops.reshape, stack=ops.stack,
                               matmul=ops.matmul, concatenate=ops.concatenate, cast=ops.cast,
                               convert=ops.convert_to_tensor)
    raise ValueError(f"unknown array library {library!r}")
