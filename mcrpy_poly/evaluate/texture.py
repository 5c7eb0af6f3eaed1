"""Texture: ODF comparison through SHSH coefficients.

The spatial mean of each SHSH function over a map is, up to the basis normalisation, the
ODF coefficient of that function (paper 004, Eq. 17); comparing the coefficient vectors up
to a degree compares the ODFs at that resolution. Pole figures are in
:mod:`~mcrpy_poly.evaluate.pole_figures`.
"""
from __future__ import annotations

import numpy as np

from ..orientation.shsh import SHSHBasis
from .distinct import distinct_rows

#: Default highest SHSH principal index of the ODF comparison.
ODF_DEGREE = 12


def odf_basis(symmetry, degree: int = ODF_DEGREE) -> SHSHBasis:
    """All SHSH of principal index ``2 .. degree`` of a symmetry."""
    return SHSHBasis(symmetry, degrees=range(2, int(degree) + 1, 2))


def shsh_field(omap, basis: SHSHBasis) -> np.ndarray:
    """SHSH channels of every pixel, shape ``(H, W[, D], K)``; repeated orientations (a
    grain map has few distinct ones) are evaluated once."""
    distinct, inverse = distinct_rows(omap.quaternions.reshape(-1, 4))
    return basis(distinct)[inverse].reshape(omap.shape + (basis.n_terms,))


def odf_coefficients(field, indexed) -> np.ndarray:
    """ODF coefficients: the mean SHSH vector ``(K,)`` of a field ``(..., K)`` over its
    indexed pixels ``(...)``."""
    weights = np.asarray(indexed, float).ravel()
    return weights @ field.reshape(weights.size, -1) / weights.sum()
