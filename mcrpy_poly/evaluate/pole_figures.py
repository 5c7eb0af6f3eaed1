"""Pole figures: sample directions of crystal plane normals ``{hkl}`` as a pole density.

orix does the crystallography (Miller indices of the Laue group, their symmetry
equivalents, orientations acting on them). The density is a kernel estimate with a
spherical Gaussian (von Mises-Fisher) kernel of half-width ``sigma`` evaluated on a grid of
the upper hemisphere in the equal-area (Lambert/Schmidt) projection, in multiples of a
random distribution (MRD: a uniform ODF gives 1 everywhere). Plane normals ``n`` and
``-n`` are the same pole, so near the rim the density includes the poles just below it.
Axes: X to the right, Y up, Z towards the viewer.
"""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from ..orientation.symmetry import orix_point_group
from .pictures import save_figure

#: Plane families by Laue group (Miller-Bravais ``hkil`` for hexagonal and trigonal).
POLE_FAMILIES = {
    "m-3m": ((1, 0, 0), (1, 1, 0), (1, 1, 1)),
    "m-3": ((1, 0, 0), (1, 1, 0), (1, 1, 1)),
    "6/mmm": ((0, 0, 0, 1), (1, 0, -1, 0), (1, 1, -2, 0)),
    "6/m": ((0, 0, 0, 1), (1, 0, -1, 0), (1, 1, -2, 0)),
    "-3m": ((0, 0, 0, 1), (1, 0, -1, 0), (1, 1, -2, 0)),
    "-3": ((0, 0, 0, 1), (1, 0, -1, 0), (1, 1, -2, 0)),
}
#: Families for the lower symmetries.
DEFAULT_FAMILIES = ((1, 0, 0), (0, 1, 0), (0, 0, 1))
#: Pole densities use at most this many indexed pixels (a random subset, fixed seed).
MAX_POLE_PIXELS = 20000
#: Kernel half-width (degrees) and grid points across the projection disk.
POLE_SIGMA = 5.0
GRID_SIZE = 81
#: Poles in one cell of a cubic lattice of this spacing (unit-vector components, about
#: 2 degrees) are merged into their weighted centroid before the kernel sum.
POLE_MERGE = 0.035


def pole_families(laue: str):
    """The default plane families (tuples) of a Laue group (``Symmetry.laue``)."""
    return POLE_FAMILIES.get(laue, DEFAULT_FAMILIES)


def family_label(family) -> str:
    """``(1, 0, -1, 0)`` -> ``"{10-10}"``."""
    return "{" + "".join(str(int(i)) for i in family) + "}"


def sample_poles(quaternions, laue: str, family, max_pixels: int = MAX_POLE_PIXELS, seed: int = 0) -> np.ndarray:
    """Sample-frame unit vectors of all symmetry-equivalent normals of a plane family.

    Parameters
    ----------
    quaternions : numpy.ndarray, shape (n, 4)
        Orientations (orix convention), e.g. the indexed pixels of a map.
    laue : str
        Laue group name (``Symmetry.laue``).
    family : tuple of int
        ``(h, k, l)`` or Miller-Bravais ``(h, k, i, l)``.
    max_pixels : int
        Orientations used at most (a random subset drawn with ``seed`` beyond that).

    Returns
    -------
    numpy.ndarray, shape (n_pixels * n_equivalent, 3)
        Both ``n`` and ``-n`` of every normal.
    """
    from orix.crystal_map import Phase
    from orix.quaternion import Orientation
    from orix.vector import Miller, Vector3d

    laue = orix_point_group(laue)
    if len(quaternions) > max_pixels:
        quaternions = quaternions[np.random.default_rng(seed).choice(len(quaternions), max_pixels, replace=False)]
    key = "hkil" if len(family) == 4 else "hkl"
    normals = Miller(**{key: family}, phase=Phase(point_group=laue)).symmetrise(unique=True).unit
    normals = np.unique(np.round(np.concatenate([normals.data, -normals.data]), 12), axis=0)
    # Passive orientations map sample to crystal vectors; the inverse brings normals to the sample.
    poles = (~Orientation(quaternions, symmetry=laue)).outer(Vector3d(normals))
    return np.asarray(poles.unit.data).reshape(-1, 3)


def projection_grid(size: int = GRID_SIZE):
    """Upper-hemisphere directions on a square grid of the equal-area projection.

    Returns
    -------
    xy : numpy.ndarray, shape (size,)
        Grid coordinates along X and Y, in ``[-1, 1]`` (1 = the equator).
    directions : numpy.ndarray, shape (size, size, 3)
        Unit vectors at the grid points, indexed ``[iy, ix]``; NaN outside the disk.
    """
    xy = np.linspace(-1.0, 1.0, size)
    x, y = np.meshgrid(xy, xy)
    r2 = x ** 2 + y ** 2  # r = sqrt(2) sin(theta / 2), theta the angle from Z
    with np.errstate(invalid="ignore"):
        directions = np.stack([x * np.sqrt(2.0 - r2), y * np.sqrt(2.0 - r2), 1.0 - r2], axis=-1)
    directions[r2 > 1.0] = np.nan
    return xy, directions


def pole_density(poles, directions, sigma: float = POLE_SIGMA) -> np.ndarray:
    """Kernel pole density (MRD) of ``poles`` at ``directions``.

    ``MRD(g) = 4 pi mean_p C exp(kappa (g . p - 1))`` with ``kappa = 1 / sigma^2`` (radians)
    and ``C = kappa / (2 pi (1 - exp(-2 kappa)))``, the von Mises-Fisher normalisation;
    poles further than ``3.5 sigma`` are skipped (they add below ``e^-6`` each).

    Parameters
    ----------
    poles : numpy.ndarray, shape (n, 3)
    directions : numpy.ndarray, shape (..., 3)
        NaN entries give NaN.
    sigma : float
        Kernel half-width in degrees.

    Returns
    -------
    numpy.ndarray, shape (...)
    """
    kappa = 1.0 / np.radians(sigma) ** 2
    cells = np.round(poles / POLE_MERGE).astype(np.int64)
    cell_key = np.ravel_multi_index(tuple((cells - cells.min(axis=0)).T), tuple(np.ptp(cells, axis=0) + 1))
    _, cell, weights = np.unique(cell_key, return_inverse=True, return_counts=True)
    merged = np.stack([np.bincount(cell.ravel(), poles[:, i]) for i in range(3)], axis=1)
    merged /= np.linalg.norm(merged, axis=1, keepdims=True)
    flat = directions.reshape(-1, 3)
    valid = np.all(np.isfinite(flat), axis=1)
    cutoff = 2.0 * np.sin(1.75 * np.radians(sigma))  # chord of 3.5 sigma
    pairs = cKDTree(flat[valid]).sparse_distance_matrix(cKDTree(merged), cutoff, output_type="coo_matrix")
    kernel = weights[pairs.col] * np.exp(-0.5 * kappa * pairs.data ** 2)  # g . p - 1 = -chord^2 / 2
    density = np.full(len(flat), np.nan)
    norm = kappa / (2.0 * np.pi * (1.0 - np.exp(-2.0 * kappa)))
    density[valid] = 4.0 * np.pi * norm * np.bincount(pairs.row, kernel, valid.sum()) / weights.sum()
    return density.reshape(directions.shape[:-1])


def pole_figures(quaternions, laue: str, families=None, size: int = GRID_SIZE, sigma: float = POLE_SIGMA) -> dict:
    """Pole densities (MRD) on :func:`projection_grid` by family label.

    Parameters
    ----------
    quaternions : numpy.ndarray, shape (n, 4)
    laue : str
    families : sequence of tuple of int, optional
        Default :func:`pole_families` of ``laue``.

    Returns
    -------
    dict of str to numpy.ndarray, shape (size, size)
    """
    families = pole_families(laue) if families is None else families
    directions = projection_grid(size)[1]
    return {family_label(f): pole_density(sample_poles(quaternions, laue, f), directions, sigma) for f in families}


def save_pole_figures(path, densities: dict, dpi: int = 90):
    """Pole figures side by side (one row per map, one column per family, one colour scale
    per column), written atomically as PNG.

    Parameters
    ----------
    path : str or Path
    densities : dict of str to dict of str to numpy.ndarray
        ``{row title: {family label: density on projection_grid()}}``, the same families in
        every row.
    """
    import matplotlib.pyplot as plt

    rows = list(densities)
    labels = list(densities[rows[0]])
    xy = np.linspace(-1.0, 1.0, densities[rows[0]][labels[0]].shape[0])
    fig, axes = plt.subplots(len(rows), len(labels), squeeze=False,
                             figsize=(3.3 * len(labels), 3.0 * len(rows)))
    circle = np.linspace(0.0, 2.0 * np.pi, 361)
    for col, label in enumerate(labels):
        top = max(np.nanmax(densities[row][label]) for row in rows)
        for r, row in enumerate(rows):
            ax = axes[r, col]
            mesh = ax.pcolormesh(xy, xy, densities[row][label], vmin=0.0, vmax=top, cmap="viridis", shading="nearest")
            ax.plot(np.cos(circle), np.sin(circle), color="k", lw=0.8)
            ax.text(1.04, 0.0, "X", va="center", fontsize=8)
            ax.text(0.0, 1.04, "Y", ha="center", fontsize=8)
            ax.set_aspect("equal")
            ax.set_xlim(-1.12, 1.12)
            ax.set_ylim(-1.12, 1.12)
            ax.axis("off")
            ax.set_title(f"{row} {label}", fontsize=10)
        fig.colorbar(mesh, ax=axes[:, col].tolist(), shrink=0.8, label="MRD")
    return save_figure(fig, path, dpi)
