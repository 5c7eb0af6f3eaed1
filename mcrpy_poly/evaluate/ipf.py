"""Inverse-pole-figure (IPF) colouring of orientation maps with orix's TSL colour key.

The colour of a pixel shows which crystal direction is parallel to a chosen sample
direction (``"x"`` along the columns, axis 1; ``"y"`` along the rows, axis 0; ``"z"``
normal to the map, or axis 2 of a volume), keyed on the Laue group of the phase.
Non-indexed pixels are black.
"""
from __future__ import annotations

import numpy as np

from ..atomic import atomic_path
from ..errors import InputError
from ..orientation.symmetry import orix_point_group
from .distinct import distinct_rows
from .sections import map_section

#: Sample directions by name.
SAMPLE_DIRECTIONS = {"x": (1.0, 0.0, 0.0), "y": (0.0, 1.0, 0.0), "z": (0.0, 0.0, 1.0)}


def sample_direction(direction) -> np.ndarray:
    """Unit 3-vector of ``"x"``, ``"y"``, ``"z"`` or any non-zero 3-vector."""
    if isinstance(direction, str):
        if direction.lower() not in SAMPLE_DIRECTIONS:
            raise InputError(f"unknown sample direction {direction!r}; use x, y, z or a 3-vector")
        return np.array(SAMPLE_DIRECTIONS[direction.lower()])
    vector = np.asarray(direction, dtype=float)
    if vector.shape != (3,) or not np.linalg.norm(vector) > 0:
        raise InputError(f"sample direction must be x, y, z or a non-zero 3-vector, got {direction!r}")
    return vector / np.linalg.norm(vector)


def ipf_rgb(omap, direction="z") -> np.ndarray:
    """IPF colours of every pixel of a map or volume.

    Parameters
    ----------
    omap : OrientationMap
        2D map ``(H, W)`` or 3D volume ``(H, W, D)``.
    direction : str or array_like, shape (3,)
        Sample direction (see :func:`sample_direction`).

    Returns
    -------
    numpy.ndarray, shape (H, W[, D], 3)
        RGB in ``[0, 1]``, float64; non-indexed pixels are ``(0, 0, 0)``.
    """
    from orix.plot import IPFColorKeyTSL
    from orix.quaternion import Orientation
    from orix.vector import Vector3d

    laue = orix_point_group(omap.symmetry.laue)
    key = IPFColorKeyTSL(laue, direction=Vector3d(sample_direction(direction)))
    distinct, inverse = distinct_rows(omap.quaternions.reshape(-1, 4))
    colours = np.asarray(key.orientation2color(Orientation(distinct, symmetry=laue)), dtype=float)
    rgb = colours[inverse].reshape(omap.shape + (3,))
    rgb[~omap.indexed] = 0.0
    return rgb


def save_rgb_png(path, rgb, scale: int = 1):
    """Write an RGB image ``(H, W, 3)`` in ``[0, 1]`` as a PNG of ``(H*scale, W*scale)``
    pixels (each pixel repeated ``scale`` times per axis), atomically."""
    from PIL import Image

    rgb = np.clip(np.asarray(rgb, dtype=float), 0.0, 1.0)
    if scale > 1:
        rgb = np.repeat(np.repeat(rgb, scale, axis=0), scale, axis=1)
    with atomic_path(path) as tmp:
        Image.fromarray((rgb * 255).round().astype(np.uint8), mode="RGB").save(tmp, format="png")
    return path


def save_ipf_png(path, omap, direction="z", scale: int = 1):
    """IPF map as a PNG, one image pixel per map pixel (times ``scale``), written atomically.

    For a 3D volume the middle section normal to axis 0 is drawn.

    Parameters
    ----------
    path : str or Path
    omap : OrientationMap
    direction : str or array_like, shape (3,)
    scale : int
        Integer magnification (pixel repetition).

    Returns
    -------
    path
    """
    return save_rgb_png(path, ipf_rgb(omap if omap.ndim == 2 else map_section(omap), direction), scale)
