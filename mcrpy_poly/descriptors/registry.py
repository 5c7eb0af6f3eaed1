"""The descriptor set by name: evaluate several descriptors of one field, or of its 2D slices.

Both entry points are traceable inside ``tf.function`` (index arrays are built with NumPy
once, at trace time; the evaluation itself is pure TensorFlow).
"""
from __future__ import annotations

from ..errors import InputError
from ._grid import as_batch, slice_batch
from .boundaries import batch_boundaries
from .correlations import batch_correlations, two_point_correlations
from .texture import batch_texture, texture
from .variation import batch_mean_variation, mean_variation
from .variogram import batch_variogram, hybrid_variogram

#: Public descriptor functions ``f(field, limit_to, *, mask=None, periodic=True) -> tf.Tensor`` by name.
DESCRIPTORS = {
    "correlations": two_point_correlations,
    "variogram": hybrid_variogram,
    "mean_variation": mean_variation,
    "texture": texture,
}

#: Default lag windows (``|r_i| < limit_to``) of the descriptors that have one.
DEFAULT_LIMIT_TO = {"correlations": 16, "variogram": 4}

#: Every descriptor name: :data:`DESCRIPTORS` and the grain-boundary descriptor
#: (:mod:`.boundaries`; it needs the distance scale of the basis, ``t_max``).
NAMES = (*DESCRIPTORS, "boundaries")

_BATCHED = {
    "correlations": batch_correlations,
    "variogram": batch_variogram,
    "mean_variation": batch_mean_variation,
    "texture": batch_texture,
    "boundaries": batch_boundaries,
}


def resolve_limits(names, limit_to=None) -> dict:
    """Lag window per descriptor name that has one.

    Parameters
    ----------
    names : sequence of str
    limit_to : int or dict or None
        One window for all, or ``{name: int}`` overriding :data:`DEFAULT_LIMIT_TO`.

    Returns
    -------
    dict
        ``{name: int}`` for the names among ``names`` that use a window.
    """
    unknown = [name for name in names if name not in NAMES]
    if unknown:
        raise InputError(f"unknown descriptor(s) {unknown}; choose from {sorted(NAMES)}")
    if isinstance(limit_to, dict):
        extra = set(limit_to) - set(DEFAULT_LIMIT_TO)
        if extra:
            raise InputError(f"limit_to given for {sorted(extra)}, which have no lag window "
                             f"(only {sorted(DEFAULT_LIMIT_TO)} do)")
        limits = {**DEFAULT_LIMIT_TO, **limit_to}
    elif limit_to is None:
        limits = dict(DEFAULT_LIMIT_TO)
    else:
        limits = dict.fromkeys(DEFAULT_LIMIT_TO, limit_to)
    return {name: int(limits[name]) for name in names if name in limits}


def _evaluate(batch, mask, names, limit_to, pairs, per_element=False, periodic=True, t_max=None,
              spacings=(1,)) -> dict:
    limits = resolve_limits(names, limit_to)
    if "boundaries" in names and t_max is None:
        raise InputError("the boundaries descriptor needs t_max (boundaries.distance_scale of the basis)")
    options = {"correlations": {"pairs": pairs}, "boundaries": {"t_max": t_max, "spacings": tuple(spacings)}}
    return {name: _BATCHED[name](batch, mask, limits.get(name), per_element=per_element, periodic=bool(periodic),
                                 **options.get(name, {}))
            for name in names}


def compute_descriptors(field, names=tuple(DESCRIPTORS), limit_to=None, mask=None, pairs=None,
                        periodic: bool = True, t_max=None, spacings=(1,)) -> dict:
    """Several descriptors of one SHSH field (2D map or native 3D volume).

    Parameters
    ----------
    field : array_like or tf.Tensor, shape (H, W, K) or (H, W, D, K)
    names : sequence of str
        Among :data:`NAMES`.
    limit_to : int or dict, optional
        See :func:`resolve_limits`.
    mask : array_like of bool, shape (H, W[, D]), optional
        Indexed pixels; masked statistics as documented per descriptor.
    pairs : sequence of (int, int), optional
        Channel pairs of the correlations (default all ``a <= b``).
    periodic : bool
        Shifts wrap around the grid (a reconstruction domain); ``False``: every mean runs over
        the pixel pairs (triples) inside the field only (a measured map).
    t_max : float, optional
        Distance scale of the ``boundaries`` descriptor (:func:`.boundaries.distance_scale`).
    spacings : sequence of int
        Pixel spacings of the ``boundaries`` descriptor.

    Returns
    -------
    dict of str to tf.Tensor (float64)
    """
    return _evaluate(*as_batch(field, mask), names, limit_to, pairs, periodic=periodic, t_max=t_max,
                     spacings=spacings)


def slice_descriptors(volume, names=tuple(DESCRIPTORS), limit_to=None, axis: int = 0, mask=None, pairs=None,
                      per_slice: bool = False, periodic: bool = True, t_max=None, spacings=(1,)) -> dict:
    """2D descriptors averaged over all slices of a volume normal to ``axis`` (or of each slice).

    Slice ``i`` normal to axis 0 is ``volume[i]`` with in-plane axes (1, 2); normal to axis
    1 it is ``volume[:, i]`` with axes (0, 2); normal to axis 2, ``volume[:, :, i]`` with axes
    (0, 1). The average is pooled (sums over all slices divided by the summed number of
    terms), which equals the plain mean over slices when there is no mask. Used for the
    2D -> 3D loss (paper 004, Eq. 5): compare with the descriptors of the 2D section that
    plays the role of those slices.

    Parameters
    ----------
    volume : array_like or tf.Tensor, shape (H, W, D, K)
    names, limit_to, mask, pairs, periodic, t_max, spacings
        As in :func:`compute_descriptors` (``mask`` shape ``(H, W, D)``; ``periodic`` applies to
        the two in-plane axes).
    axis : int
        0, 1 or 2.
    per_slice : bool
        Return the descriptors of every slice, with a leading axis ``n_slices`` (for a loss
        that sums per-slice residuals); all slices are computed as one batch, much faster
        than ``tf.vectorized_map`` over :func:`compute_descriptors`.

    Returns
    -------
    dict of str to tf.Tensor, each shaped as the 2D descriptor (``(n_slices, ...)`` per slice)
    """
    return _evaluate(*slice_batch(volume, axis, mask), names, limit_to, pairs, per_slice, periodic, t_max, spacings)
