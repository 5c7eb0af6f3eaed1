"""Reading and writing orientation maps (EBSD formats, quaternion arrays)."""
from .ebsd import SUPPORTED_EXTENSIONS, load_ebsd, load_quaternion_array, save_ang

__all__ = ["load_ebsd", "save_ang", "load_quaternion_array", "SUPPORTED_EXTENSIONS"]
