"""Figures of the report that are not pole figures or statistics maps: IPF pictures of
maps and volumes, the IPF colour key, grain-statistics histograms and loss curves.
Every function writes one PNG atomically and returns its path."""
from __future__ import annotations

import numpy as np

from ..atomic import atomic_path
from ..orientation.symmetry import orix_point_group
from .distributions import KL_BINS, UNITS
from .ipf import ipf_rgb, save_rgb_png
from .sections import middle_sections, visible_faces

#: Laue groups whose directions are written in four-index (Miller-Bravais) notation.
POLE_BRAVAIS = {"6/mmm", "6/m", "-3m", "-3"}
#: IPF pictures are magnified by whole pixels to at least this many pixels across.
MIN_PICTURE_PIXELS = 256


def save_figure(fig, path, dpi: int = 90):
    """Write a matplotlib figure as PNG atomically and close it."""
    import matplotlib.pyplot as plt

    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png")
    plt.close(fig)
    return path


def picture_scale(shape) -> int:
    """Whole-pixel magnification that brings the larger side to :data:`MIN_PICTURE_PIXELS`."""
    return max(1, -(-MIN_PICTURE_PIXELS // max(shape)))


def save_ipf_pictures(directory, stem: str, omap, direction="z") -> dict:
    """IPF pictures of a map (``<stem>.png``) or of a volume's middle sections and visible
    faces (``<stem>_section_<plane>.png``, ``<stem>_face_<plane>.png``) plus a cube view
    (``<stem>_cube.png``).

    Returns
    -------
    dict of str to Path
        Caption -> file.
    """
    if omap.ndim == 2:
        path = directory / f"{stem}.png"
        return {stem: save_rgb_png(path, ipf_rgb(omap, direction), picture_scale(omap.shape))}
    files = {}
    for kind, planes in (("section", middle_sections(omap)), ("face", visible_faces(omap))):
        for plane, section in planes.items():
            path = directory / f"{stem}_{kind}_{plane}.png"
            files[f"{stem} {kind} {plane}"] = save_rgb_png(path, ipf_rgb(section, direction),
                                                          picture_scale(section.shape))
    files[f"{stem} cube"] = save_cube_png(directory / f"{stem}_cube.png", omap, direction)
    return files


def save_cube_png(path, omap, direction="z"):
    """Oblique view of a volume ``(H, W, D)`` = ``(y, x, z)`` showing its faces y = 0,
    x = max and z = max in IPF colours."""
    import matplotlib.pyplot as plt

    faces = {plane: ipf_rgb(section, direction) for plane, section in visible_faces(omap).items()}
    h, w, d = omap.shape
    fig = plt.figure(figsize=(4.5, 4.5))
    ax = fig.add_subplot(projection="3d")
    # Each face: grid of pixel corners in (x, y, z) and the colours of its pixels.
    x, z = np.meshgrid(np.arange(w + 1), np.arange(d + 1), indexing="ij")
    ax.plot_surface(x, np.zeros_like(x), z, facecolors=faces["xz"], shade=False, rstride=1, cstride=1)
    y, z = np.meshgrid(np.arange(h + 1), np.arange(d + 1), indexing="ij")
    ax.plot_surface(np.full_like(y, w), y, z, facecolors=faces["yz"], shade=False, rstride=1, cstride=1)
    y, x = np.meshgrid(np.arange(h + 1), np.arange(w + 1), indexing="ij")
    ax.plot_surface(x, y, np.full_like(x, d), facecolors=faces["xy"], shade=False, rstride=1, cstride=1)
    ax.set_box_aspect((w, h, d))
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_zlabel("z")
    ax.view_init(elev=25, azim=-60)
    return save_figure(fig, path)


def save_ipf_key_png(path, laue: str, size: int = 481):
    """The TSL IPF colour key of a Laue group: its fundamental sector of crystal directions
    (stereographic projection) in the colours of :func:`~mcrpy_poly.evaluate.ipf.ipf_rgb`,
    corners labelled by orix's Miller indices."""
    import matplotlib.pyplot as plt
    from orix.crystal_map import Phase
    from orix.plot import IPFColorKeyTSL
    from orix.vector import Miller, Vector3d

    group = orix_point_group(laue)
    xy = np.linspace(-1.0, 1.0, size)
    x, y = np.meshgrid(xy, xy)
    r2 = x ** 2 + y ** 2
    directions = np.stack([2 * x, 2 * y, 1.0 - r2], axis=-1) / (1.0 + r2)[..., None]  # inverse stereographic
    folded = Vector3d(directions.reshape(-1, 3)).in_fundamental_sector(group).data.reshape(directions.shape)
    inside = (r2 <= 1.0) & np.all(np.abs(folded - directions) < 1e-9, axis=-1)
    image = np.ones(directions.shape[:2] + (4,))
    image[..., 3] = 0.0
    image[inside, :3] = IPFColorKeyTSL(group).direction_color_key.direction2color(Vector3d(directions[inside]))
    image[inside, 3] = 1.0
    fig, ax = plt.subplots(figsize=(3.0, 3.0))
    ax.imshow(image, origin="lower", extent=(-1, 1, -1, 1))
    vertices = group.fundamental_sector.vertices
    if vertices.size:
        miller = Miller(xyz=vertices.unit.data, phase=Phase(point_group=group))
        miller.coordinate_format = "UVTW" if laue in POLE_BRAVAIS else "uvw"
        for v, indices in zip(vertices.unit.data, miller.round().coordinates):
            px, py = v[0] / (1.0 + v[2]), v[1] / (1.0 + v[2])
            ax.annotate("[" + " ".join(f"{int(i)}" for i in indices) + "]", (px, py), fontsize=8, ha="center",
                        xytext=(0, -10 if py <= 0.05 else 4), textcoords="offset points")
    rows, cols = np.nonzero(inside)
    pad = 0.12
    ax.set_xlim(xy[cols.min()] - pad, xy[cols.max()] + pad)
    ax.set_ylim(xy[rows.min()] - pad, xy[rows.max()] + pad)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(f"IPF key {laue}", fontsize=9)
    return save_figure(fig, path)


def save_distribution_figure(path, reference: dict, candidate: dict, metrics: dict, prefix: str = "",
                             names=("reference", "candidate"), length_unit: str = "um"):
    """Histograms of every grain statistic: reference (black outline) and candidate (red,
    pooled over an ensemble) on the :data:`~mcrpy_poly.evaluate.distributions.KL_BINS`
    bins of the KL divergence; W1 and KL from ``metrics`` in the titles; lengths labelled
    in ``length_unit``."""
    import matplotlib.pyplot as plt

    names_ = list(reference)
    cols = 4
    rows = -(-len(names_) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 2.7 * rows), squeeze=False)
    for ax, name in zip(axes.ravel(), names_):
        ref, cand = np.asarray(reference[name]), np.asarray(candidate[name])
        if len(ref) and len(cand):
            low, high = min(ref.min(), cand.min()), max(ref.max(), cand.max())
            edges = np.linspace(low, high if high > low else low + 1.0, KL_BINS + 1)
            ax.hist(cand, edges, density=True, color="tab:red", alpha=0.6, label=names[1])
            ax.hist(ref, edges, density=True, histtype="step", color="k", lw=1.2, label=names[0])
        w1, kl = metrics.get(f"{prefix}{name}_w1", np.nan), metrics.get(f"{prefix}{name}_kl", np.nan)
        unit = UNITS.get(name, "um")
        unit = length_unit if unit == "um" else unit
        ax.set_title(f"{name}{f' ({unit})' if unit else ''}\nW1 {w1:.3g}, KL {kl:.3g}", fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in axes.ravel()[len(names_):]:
        ax.axis("off")
    axes[0, 0].legend(fontsize=7)
    fig.subplots_adjust(left=0.04, right=0.98, top=0.9, bottom=0.08, hspace=0.5, wspace=0.25)
    return save_figure(fig, path)


def save_loss_png(path, loss: dict, level_starts=()):
    """Loss curves (log scale) by name, each with its best value so far (per multigrid level:
    the losses of different grids do not compare), and dashed markers where levels begin.
    Single evaluations above the best line are line-search probes, not failures."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    bounds = sorted({0, *[int(i) for i in level_starts]})
    for name, values in loss.items():
        values = np.asarray(values, dtype=float)
        x = np.arange(1, len(values) + 1)
        line, = ax.plot(x, values, lw=0.6, alpha=0.5, label=f"{name} (every evaluation)")
        ends = [*bounds[1:], len(values)]
        best = np.concatenate([np.minimum.accumulate(values[a:b]) for a, b in zip(bounds, ends) if b > a])
        ax.plot(x[:len(best)], best, color=line.get_color(), lw=1.5, label=f"{name} (best so far in its level)")
    if all(np.all(np.asarray(v) > 0) for v in loss.values()):
        ax.set_yscale("log")
    for level, start in enumerate(bounds[1:], start=2):
        ax.axvline(start + 0.5, color="0.5", ls="--", lw=0.8)
        ax.annotate(f"level {level}", (start + 0.5, 1.0), xycoords=("data", "axes fraction"), xytext=(3, -3),
                    textcoords="offset points", fontsize=7, ha="left", va="top", color="0.4")
    ax.set_xlabel("loss evaluation")
    ax.set_ylabel("loss")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, path)
