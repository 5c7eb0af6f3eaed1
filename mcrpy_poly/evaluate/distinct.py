"""Evaluate per distinct orientation: grain maps repeat few orientations many times."""
from __future__ import annotations

import numpy as np


def distinct_rows(values):
    """The distinct rows of ``values`` ``(n, c)`` and, for each row, the index of its
    distinct row, when rows repeat often; otherwise ``values`` itself and ``slice(None)``.

    Sorting rows costs more than it saves when (nearly) all differ, as in a reconstruction;
    the first column's distinct count decides cheaply.

    Returns
    -------
    distinct : numpy.ndarray, shape (m, c)
    inverse : numpy.ndarray of int, shape (n,), or slice
        ``distinct[inverse] == values`` (a slice gives a view, no copy).
    """
    values = np.asarray(values)
    if len(np.unique(values[:, 0])) > len(values) // 4:
        return values, slice(None)
    distinct, inverse = np.unique(values, axis=0, return_inverse=True)
    return distinct, inverse.ravel()
