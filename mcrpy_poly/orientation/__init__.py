"""Orientation mathematics: quaternions, crystal symmetry, (S)HSH bases, orientation maps."""
from .orientation_map import OrientationMap
from .shsh import SHSHBasis, shsh_dimension
from .symmetry import PROPER_POINT_GROUPS, Symmetry, reduce_to_fundamental_zone, resolve_symmetry

__all__ = [
           "PROPER_POINT_GROUPS",
           "OrientationMap",
           "SHSHBasis",
           "Symmetry",
           "reduce_to_fundamental_zone",
           "resolve_symmetry",
           "shsh_dimension",
]
