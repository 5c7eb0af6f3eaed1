"""Synthetic polycrystals: periodic Voronoi tessellations with chosen textures.

Used for example data, tests with known grains, and hexagonal or 3D cases that no shipped
EBSD map covers.
"""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from .errors import InputError
from .orientation.orientation_map import OrientationMap
from .orientation.quaternion import from_axis_angle, multiply, normalize, random_uniform
from .orientation.symmetry import reduce_to_fundamental_zone

#: Radius of an average Laguerre cell's weight, in mean seed spacings (:func:`voronoi_labels`): at 0.5
#: a lognormal radius spread up to about 2 leaves few seeds without a cell.
LAGUERRE_RADIUS = 0.5


def voronoi(shape, n_grains: int, symmetry="m-3m", texture=None, spread: float = 10.0, aspect=None,
            seed: int = 0, step: float = 1.0, return_labels: bool = False):
    """Periodic Voronoi polycrystal, 2D or 3D, one orientation per grain.

    Parameters
    ----------
    shape : tuple of int
        ``(H, W)`` or ``(H, W, D)`` pixels.
    n_grains : int
        Number of Voronoi seeds (grains).
    symmetry : str or orix Symmetry
        Crystal point group of the phase.
    texture : None, "cube" or ("fibre", crystal_direction, sample_direction)
        ``None``: uniformly random orientations. ``"cube"``: the cube orientation
        (identity) with Gaussian scatter of ``spread`` degrees about random axes.
        ``("fibre", (h, k, l), (x, y, z))``: the crystal direction parallel to the sample
        direction, uniformly random rotation about it, plus the same scatter.
    spread : float
        Scatter of textured orientations in degrees (standard deviation of the angle).
    aspect : tuple of float, optional
        Grain elongation per axis (``(1, 3)`` makes grains 3x longer along axis 1).
    seed : int
        Everything is deterministic for a seed.
    step : float
        Pixel spacing in micrometres, stored in the map.
    return_labels : bool
        Also return the grain id of every pixel, ``(H, W[, D])`` int.

    Returns
    -------
    OrientationMap, or (OrientationMap, numpy.ndarray)
        The map says it is periodic (:meth:`OrientationMap.crop` cuts a non-periodic window).
    """
    shape = tuple(int(s) for s in shape)
    if len(shape) not in (2, 3) or min(shape) < 1:
        raise InputError(f"shape must be (H, W) or (H, W, D) with positive sizes, got {shape}")
    if n_grains < 1:
        raise InputError(f"n_grains must be at least 1, got {n_grains}")
    aspect = np.ones(len(shape)) if aspect is None else np.asarray(aspect, dtype=float)
    if aspect.shape != (len(shape),) or np.any(aspect <= 0):
        raise InputError(f"aspect must give one positive factor per axis, got {aspect.tolist()}")
    rng = np.random.default_rng(seed)
    labels = voronoi_labels(shape, n_grains, aspect, rng)
    grain_q = textured_orientations(n_grains, texture, spread, rng)
    grain_q = reduce_to_fundamental_zone(grain_q, symmetry)
    omap = OrientationMap(grain_q[labels], symmetry, phase_name="synthetic", step=step,
                          source=f"voronoi(shape={shape}, n_grains={n_grains}, seed={seed})", periodic=True)
    return (omap, labels) if return_labels else omap


def voronoi_labels(shape, n_seeds: int, aspect, rng, size_spread: float = 0.0) -> np.ndarray:
    """Cell of every voxel centre in a periodic Voronoi or Laguerre tessellation of uniformly random seeds.

    With ``size_spread > 0`` the cells form a Laguerre (power) tessellation, the classic model of
    polycrystals with a grain-size distribution: voxel ``x`` belongs to the seed ``i`` with the least
    power distance ``|x - s_i|^2 - w_i``, with weights ``w_i = (LAGUERRE_RADIUS r_i l)^2``, radii
    ``r_i`` lognormal with log standard deviation ``size_spread`` (root mean square 1) and ``l`` the
    mean seed spacing ``(box volume / n_seeds)^(1/ndim)``. The power distance is a Euclidean one after
    lifting each seed by ``sqrt(max(w) - w_i)`` into one more dimension, so one k-d tree answers both.

    Parameters
    ----------
    shape : tuple of int
        ``(H, W)`` or ``(H, W, D)`` voxels.
    n_seeds : int
    aspect : array_like of float, shape (ndim,)
        Cell elongation per axis (distances along axis ``i`` are divided by ``aspect[i]``).
    rng : numpy.random.Generator
        Draws the seeds (``n_seeds x ndim`` uniforms), then, with a size spread, ``n_seeds`` normals.
    size_spread : float
        Log standard deviation of the cell radii; 0 is a Voronoi tessellation.

    Returns
    -------
    numpy.ndarray of int, shape ``shape``
        Seed index ``0 .. n_seeds - 1`` (a seed that owns no voxel centre leaves its index unused).
    """
    shape = tuple(int(s) for s in shape)
    aspect = np.asarray(aspect, dtype=float)
    box = np.asarray(shape, dtype=float) / aspect
    seeds = rng.uniform(0.0, 1.0, size=(int(n_seeds), len(shape))) * box
    centres = [np.arange(s) + 0.5 for s in shape]
    grid = np.stack(np.meshgrid(*centres, indexing="ij"), axis=-1) / aspect
    grid = grid.reshape(-1, len(shape)) % box
    if size_spread > 0:
        radii = np.exp(size_spread * rng.standard_normal(int(n_seeds)))
        spacing = (np.prod(box) / int(n_seeds)) ** (1 / len(shape))
        weights = (LAGUERRE_RADIUS * spacing * radii / np.sqrt(np.mean(radii ** 2))) ** 2
        lift = np.sqrt(weights.max() - weights)
        seeds, grid = np.c_[seeds, lift], np.c_[grid, np.zeros(len(grid))]
        box = np.r_[box, 2 * lift.max() + 1]  # no wrap-around in the lifted dimension
    return cKDTree(seeds, boxsize=box).query(grid)[1].reshape(shape)


def textured_orientations(n: int, texture=None, spread: float = 10.0, rng=None) -> np.ndarray:
    """``n`` orientations (orix convention, ``(n, 4)``) drawn from a simple texture model.

    See :func:`voronoi` for ``texture`` and ``spread``.
    """
    rng = np.random.default_rng(rng)
    if texture is None:
        return random_uniform(n, rng)
    if texture == "cube":
        base = np.tile([1.0, 0.0, 0.0, 0.0], (n, 1))
    elif isinstance(texture, (tuple, list)) and len(texture) == 3 and texture[0] in ("fibre", "fiber"):
        crystal_dir = np.asarray(texture[1], float) / np.linalg.norm(texture[1])
        sample_dir = np.asarray(texture[2], float) / np.linalg.norm(texture[2])
        # Passive orientation o maps sample vectors to crystal vectors: o * sample_dir = crystal_dir.
        axis = np.cross(sample_dir, crystal_dir)
        angle = np.arccos(np.clip(sample_dir @ crystal_dir, -1.0, 1.0))
        align = from_axis_angle(axis if np.linalg.norm(axis) > 1e-12 else [1.0, 0.0, 0.0], angle)
        spin = from_axis_angle(np.tile(sample_dir, (n, 1)), rng.uniform(0, 2 * np.pi, n))
        base = multiply(align, spin)
    else:
        raise InputError(f"unknown texture {texture!r}; use None, 'cube' or ('fibre', hkl, sample_direction)")
    axes = rng.standard_normal((n, 3))
    scatter = from_axis_angle(axes, np.radians(spread) * np.abs(rng.standard_normal(n)))
    return normalize(multiply(scatter, base))
