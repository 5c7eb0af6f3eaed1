"""The comparison report: one self-contained HTML page (figures embedded as base64 PNG),
the PNG files beside it and ``metrics.json``, every file written atomically."""
from __future__ import annotations

import base64
import html
from pathlib import Path

import numpy as np

from ..atomic import atomic_path
from .comparison import SPATIAL, metric_prefix
from .pictures import save_distribution_figure, save_ipf_key_png, save_ipf_pictures, save_loss_png
from .pole_figures import save_pole_figures
from .sections import PLANE_NAMES
from .statistics import ERROR_LEVEL, ERROR_SCALE, save_statistics_figure

#: Candidates of an ensemble drawn as IPF pictures.
MAX_CANDIDATE_PICTURES = 4
#: Metrics of the summary table at the top, where present (with any view prefix).
HEADLINE = ("odf_rel_error", "correlations_rel_error", "correlations_share_below_5pct", "variogram_rel_error",
            "variogram_share_below_5pct", "grain_density_ref", "grain_density", "grain_size_w1_norm",
            "grain_size_kl", "aspect_ratio_kl", "misorientation_kl")
#: Sample axes along the rows and columns of each statistics view.
VIEW_AXES = {"map": ("y", "x"), "xz": ("x", "z"), "yz": ("y", "z"), "xy": ("y", "x")}


def save_report(comparison, directory, title: str | None = None, direction="z") -> Path:
    """Write the report of a :class:`~mcrpy_poly.evaluate.comparison.Comparison`.

    Parameters
    ----------
    comparison : Comparison
    directory : str or Path
        Created if missing; existing files of the same names are replaced.
    title : str, optional
    direction : str or array_like, shape (3,)
        Sample direction of the IPF colours (``"x"``, ``"y"``, ``"z"`` or a vector).

    Returns
    -------
    Path
        ``directory / "report.html"``.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    ref_name, cand_name = comparison.names
    title = title or f"{cand_name} vs {ref_name}"
    sections = [(f"Orientation maps (IPF colours, sample direction {direction})",
                 _ipf_figures(comparison, directory, direction)),
                ("Pole figures", {"pole figures": save_pole_figures(
                    directory / "pole_figures.png",
                    {ref_name: comparison.pole_densities["reference"],
                     cand_name: comparison.pole_densities["candidate"]})}),
                ("Spatial statistics", _statistics_figures(comparison, directory)),
                ("Grain statistics", _grain_figures(comparison, directory))]
    if comparison.loss:
        sections.append(("Loss", {"loss": save_loss_png(directory / "loss.png", comparison.loss,
                                                                   comparison.level_starts)}))
    comparison.to_json(directory / "metrics.json")
    page = directory / "report.html"
    with atomic_path(page) as tmp:
        tmp.write_text(_html(comparison, title, sections), encoding="utf-8")
    return page


def _ipf_figures(comparison, directory, direction) -> dict:
    laue = comparison.reference.symmetry.laue
    files = {"IPF key": save_ipf_key_png(directory / "ipf_key.png", laue)}
    files.update(save_ipf_pictures(directory, "ipf_reference", comparison.reference, direction))
    shown = comparison.candidates[:MAX_CANDIDATE_PICTURES]
    for i, candidate in enumerate(shown, start=1):
        stem = "ipf_candidate" if len(comparison.candidates) == 1 else f"ipf_candidate_{i}"
        files.update(save_ipf_pictures(directory, stem, candidate, direction))
    return files


def _mean_candidate_statistics(comparison, view, name):
    return np.mean([s.statistics[view][name] for s in comparison.summaries["candidates"]], axis=0)


def _statistics_figures(comparison, directory) -> dict:
    """Auto-correlation and semivariogram maps of the first (up to) three channels, per view."""
    reference = comparison.summaries["reference"]
    files = {}
    for label, ref_view, cand_view in comparison.pairs["statistics"]:
        ref_stats = reference.statistics[ref_view]
        n_channels = len(ref_stats["variogram"])
        autos = [ref_stats["pairs"].index((c, c)) for c in range(n_channels)]
        for name in SPATIAL:
            ref, cand = ref_stats[name], _mean_candidate_statistics(comparison, cand_view, name)
            if name == "correlations":
                ref, cand = ref[autos], cand[autos]
            plane = "" if label == "map" else f", slices {label}"
            files[f"{name} {label}"] = save_statistics_figure(
                directory / f"{name}_{label}.png", ref, cand, list(range(min(3, n_channels))),
                title=f"{'auto-correlations' if name == 'correlations' else 'semivariograms'}{plane}",
                scale=ERROR_SCALE[name], axis_names=VIEW_AXES[label])
    return files


def _grain_figures(comparison, directory) -> dict:
    reference = comparison.summaries["reference"]
    files = {}
    for label, ref_view, cand_view in comparison.pairs["grains"]:
        pooled = {name: np.concatenate([s.grains[cand_view][name] for s in comparison.summaries["candidates"]])
                  for name in reference.grains[ref_view]}
        files[f"grains {label}"] = save_distribution_figure(
            directory / f"grains_{label}.png", reference.grains[ref_view], pooled, comparison.metrics,
            metric_prefix(label), comparison.names, comparison.settings.length_unit)
    return files


def _embed(path) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(Path(path).name)}">'


def _format(value) -> str:
    return "n/a" if value is None or not np.isfinite(value) else f"{value:.6g}"


def _table(rows) -> str:
    body = "".join(f"<tr><td>{html.escape(k)}</td><td>{_format(v)}</td></tr>" for k, v in rows)
    return f"<table><tr><th>metric</th><th>value</th></tr>{body}</table>"


def _html(comparison, title, sections) -> str:
    metrics = comparison.metrics
    views = [""] + [f"{p}_" for p in PLANE_NAMES]
    headline = [(v + k, metrics[v + k]) for k in HEADLINE for v in views if v + k in metrics]
    info = comparison.describe()
    ref = info["reference"]
    candidates = ", ".join(f"{c['source'] or 'in memory'} {tuple(c['shape'])}" for c in info["candidates"])
    parts = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p>Reference: {html.escape(str(ref['source'] or 'in memory'))} {tuple(ref['shape'])}, "
        f"point group {html.escape(ref['symmetry'])}. Candidate(s): {html.escape(candidates)}.</p>",
        f"<p>Lengths in {html.escape(info['length_unit'])}: steps (per axis) reference {tuple(ref['step'])}, "
        f"candidate(s) {', '.join(str(tuple(c['step'])) for c in info['candidates'])}.</p>",
        f"<p>Grains: misorientation threshold {comparison.settings.threshold:g}&deg;, minimum "
        f"{comparison.settings.min_size} pixels, both segmented "
        f"{'periodic' if comparison.periodic[0] else 'non-periodic'} "
        f"(as the reference); spatial statistics periodic (reference, candidate) = {comparison.periodic}. "
        f"ODF: SHSH up to N = {comparison.settings.odf_degree}. Spatial statistics: lag window "
        f"|r| &lt; {comparison.limit_to}; relative-error maps share under {100 * ERROR_LEVEL:g} %; the "
        f"variogram errors are those of semivariogram maps (not of the hybrid variogram in a reconstruction's "
        f"loss and <code>summary.json</code>). "
        f"With several candidates the numbers are ensemble means (<code>_std</code>: spread).</p>",
        "<h2>Summary</h2>", _table(headline),
    ]
    for heading, files in sections:
        figures = "".join(f"<figure>{_embed(path)}<figcaption>{html.escape(caption)}</figcaption></figure>"
                          for caption, path in files.items())
        parts += [f"<h2>{html.escape(heading)}</h2>", f'<div class="figures">{figures}</div>']
    parts += ["<h2>All metrics</h2>", _table(sorted(metrics.items()))]
    style = ("body{font-family:sans-serif;margin:1.5em;max-width:1400px}table{border-collapse:collapse}"
             "td,th{border:1px solid #bbb;padding:2px 8px;text-align:left}figure{display:inline-block;"
             "margin:0.4em;vertical-align:top}figure img{image-rendering:pixelated;max-width:100%}"
             "figcaption{font-size:small;text-align:center}")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{style}</style></head><body>{''.join(parts)}</body></html>\n")
