"""NumPy 2 compatibility shim for MCRpy 0.2.0 (it still calls ``np.product`` and ``np.bool8``)."""
import numpy as np


def apply_numpy_shim() -> None:
    """Restore the two aliases NumPy 2 removed, if they are missing. Idempotent."""
    if not hasattr(np, "product"):
        np.product = np.prod
    if not hasattr(np, "bool8"):
        np.bool8 = np.bool_
