"""Differentiable SHSH descriptors (paper 004, section 2.3, Eqs. 19-23).

All descriptor functions take float64 SHSH channel fields ``(H, W, K)`` (2D) or
``(H, W, D, K)`` (3D) and return float64 TensorFlow tensors; they are differentiable and
traceable inside ``tf.function``. ``periodic=True`` (their default, a reconstruction domain)
wraps shifts around the grid; ``periodic=False`` (a measured map) averages each lag over the
pixel pairs inside the field.

- :func:`two_point_correlations` ``(n_pairs, 2L-1, 2L-1[, 2L-1])``, lags centred
  (index ``L-1`` is ``r = 0``), pairs from :func:`channel_pairs`;
- :func:`hybrid_variogram` ``(K, n_lags, n_lags)``, lags from :func:`variogram_lags`;
- :func:`mean_variation` ``(K,)`` and :func:`texture` ``(K,)``;
- :data:`DESCRIPTORS` (``f(field, limit_to, *, mask=None)`` by name), :data:`DEFAULT_LIMIT_TO`,
  :func:`compute_descriptors` (one field) and :func:`slice_descriptors` (2D slices of a
  volume, averaged or ``per_slice``, for the 2D -> 3D loss);
- ``mask`` (indexed pixels) everywhere gives masked statistics: each mean runs only over the
  terms whose pixels are all indexed;
- :func:`characterize` an :class:`~mcrpy_poly.OrientationMap` into a
  :class:`Characterization` (``.save`` / :func:`load_characterization`, npz + JSON),
  periodic as the map says, the correlation window chosen from the map (:mod:`.window`);
- :func:`relative_error` (NumPy) to compare descriptors.
"""
from .characterization import Characterization, characterize, load_characterization, relative_error
from .correlations import channel_pairs, two_point_correlations
from .registry import DEFAULT_LIMIT_TO, DESCRIPTORS, compute_descriptors, resolve_limits, slice_descriptors
from .texture import texture
from .variation import mean_variation
from .variogram import hybrid_variogram, variogram_lags

__all__ = [
           "DEFAULT_LIMIT_TO",
           "DESCRIPTORS",
           "Characterization",
           "channel_pairs",
           "characterize",
           "compute_descriptors",
           "hybrid_variogram",
           "load_characterization",
           "mean_variation",
           "relative_error",
           "resolve_limits",
           "slice_descriptors",
           "texture",
           "two_point_correlations",
           "variogram_lags",
]
