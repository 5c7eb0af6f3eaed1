"""Evaluation of synthetic microstructures against a reference (paper 004 Figs. 11-13;
paper 000 Figs. 8-14, Table 1; paper 002 Table 1).

- :func:`compare` -> :class:`Comparison` (``.metrics``, ``.to_json``, ``.save_report``);
- :mod:`~mcrpy_poly.evaluate.ipf`: IPF colours and PNGs (:func:`ipf_rgb`, :func:`save_ipf_png`);
- :mod:`~mcrpy_poly.grains`: grain segmentation (:func:`segment_grains`);
- :mod:`~mcrpy_poly.evaluate.distributions`: grain statistics and their distances;
- :mod:`~mcrpy_poly.evaluate.texture`, :mod:`~mcrpy_poly.evaluate.pole_figures`: ODF and pole figures;
- :mod:`~mcrpy_poly.evaluate.statistics`: correlation and variogram maps, relative error maps;
- :mod:`~mcrpy_poly.evaluate.report`: the HTML report.
"""
from importlib import import_module

from ..grains import Grains, segment_grains
from .ipf import ipf_rgb, save_ipf_png


def __getattr__(name):
    # compare() needs the TensorFlow descriptors; IPF pictures and grains must not (the diffusion commands
    # use them where TensorFlow is not installed), so these names load on first use.
    if name in ("Comparison", "compare"):
        return getattr(import_module(".comparison", __name__), name)
    if name == "Settings":
        return import_module(".summary", __name__).Settings
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Comparison", "Grains", "Settings", "compare", "ipf_rgb", "save_ipf_png", "segment_grains"]
