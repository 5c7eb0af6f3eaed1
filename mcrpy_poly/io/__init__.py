"""Reading and writing orientation maps (EBSD formats, quaternion arrays)."""
from .ebsd import SUPPORTED_EXTENSIONS, load_ebsd, load_quaternion_array, save_ang
from .maps import load_map

__all__ = ["SUPPORTED_EXTENSIONS", "load_ebsd", "load_map", "load_quaternion_array", "save_ang"]
