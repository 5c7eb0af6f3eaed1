"""MCRpy plugin ``SHSHCorrelations``: Two-point correlations of all SHSH channel pairs (paper 004, Eq. 19).

Value per phase and multigrid level: ``(n_pairs, 2*limit_to-1, 2*limit_to-1)``, pairs in
the order of :func:`mcrpy_poly.descriptors.channel_pairs`, lag ``0`` in the centre.

Loaded by MCRpy as ``mcrpy.descriptors.SHSHCorrelations`` after :func:`mcrpy_poly.enable`.
"""
from mcrpy_poly.mcrpy_bridge import plugin

SHSHCorrelations, register = plugin("SHSHCorrelations")
