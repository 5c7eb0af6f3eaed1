"""Planar sections of 3D orientation volumes: middle sections and faces."""
from __future__ import annotations

import numpy as np

#: Names of the section planes normal to axes 0, 1, 2 of a volume (H, W, D) = (y, x, z).
PLANE_NAMES = ("xz", "yz", "xy")


def map_section(omap, axis: int = 0, index=None):
    """The 2D :class:`OrientationMap` of a volume's section normal to ``axis``.

    Parameters
    ----------
    omap : OrientationMap
        3D volume ``(H, W, D)``.
    axis : int
        Axis the section is normal to.
    index : int, optional
        Position along ``axis`` (default: the middle, ``size // 2``; ``0`` is a face).

    Returns
    -------
    OrientationMap
        Shape of the two remaining axes, in their order.
    """
    index = omap.shape[axis] // 2 if index is None else index
    steps = tuple(s for a, s in enumerate(omap.step) if a != axis)
    return omap.replace(quaternions=np.take(omap.quaternions, index, axis=axis),
                        indexed=np.take(omap.indexed, index, axis=axis), step=steps)


def middle_sections(omap) -> dict:
    """The middle sections normal to each axis of a volume, by plane name (:data:`PLANE_NAMES`)."""
    return {name: map_section(omap, axis) for axis, name in enumerate(PLANE_NAMES)}


def visible_faces(omap) -> dict:
    """The three faces of a volume seen in :func:`~mcrpy_poly.evaluate.report.save_cube_png`
    (y = 0, x = max, z = max), by plane name."""
    index = (0, omap.shape[1] - 1, omap.shape[2] - 1)
    return {name: map_section(omap, axis, index[axis]) for axis, name in enumerate(PLANE_NAMES)}
