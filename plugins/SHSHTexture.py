"""MCRpy plugin ``SHSHTexture``: Texture: spatial mean of each SHSH channel (ODF coefficients, paper 004, Eq. 17).

Value per phase and multigrid level: ``(K,)``.

Loaded by MCRpy as ``mcrpy.descriptors.SHSHTexture`` after :func:`mcrpy_poly.enable`.
"""
from mcrpy_poly.mcrpy_bridge import plugin

SHSHTexture, register = plugin("SHSHTexture")
