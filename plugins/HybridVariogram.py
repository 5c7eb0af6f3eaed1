"""MCRpy plugin ``HybridVariogram``: Hybrid three-point variogram of each SHSH channel (paper 004, Eq. 21).

Value per phase and multigrid level: ``(K, n_lags, n_lags)`` with the lags of
:func:`mcrpy_poly.descriptors.variogram_lags` ``(2, limit_to)``. The cost grows like
``limit_to**4``: MCRpy uses one ``limit_to`` for all descriptors, so keep it small (4).

Loaded by MCRpy as ``mcrpy.descriptors.HybridVariogram`` after :func:`mcrpy_poly.enable`.
"""
from mcrpy_poly.mcrpy_bridge import plugin

HybridVariogram, register = plugin("HybridVariogram")
