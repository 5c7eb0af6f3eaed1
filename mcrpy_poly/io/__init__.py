"""Reading and writing orientation maps (EBSD formats, quaternion arrays)."""
from .ebsd import SUPPORTED_EXTENSIONS, load_ebsd, load_quaternion_array, save_ang
from .maps import load_map

__all__ = ["load_ebsd", "load_map", "save_ang", "load_quaternion_array", "SUPPORTED_EXTENSIONS"]
