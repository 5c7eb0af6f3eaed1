"""Shared fixtures: paths to the real EBSD maps beside the checkout, a private SHSH cache."""
import os
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SDSS_ANG = SHARED / "ebsd" / "sdss_ferrite_austenite.ang"
MCRPY_NPY = SHARED / "ebsd" / "mcrpy_ebsd_128x128_cubic_quaternions.npy"
CUBIC_TABLE = SHARED / "reference" / "cubic_shsh_table_N8_N12.json"


def _need(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(f"{path} not found (the shared data folder sits beside the checkout)")
    return path


@pytest.fixture(scope="session")
def sdss_path():
    return _need(SDSS_ANG)


@pytest.fixture(scope="session")
def mcrpy_npy_path():
    return _need(MCRPY_NPY)


@pytest.fixture(scope="session")
def cubic_table_path():
    return _need(CUBIC_TABLE)


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory):
    """Tests build SHSH coefficients into a fresh cache, never the user's."""
    old = os.environ.get("MCRPY_POLY_CACHE")
    os.environ["MCRPY_POLY_CACHE"] = str(tmp_path_factory.mktemp("shsh_cache"))
    yield
    if old is None:
        os.environ.pop("MCRPY_POLY_CACHE", None)
    else:
        os.environ["MCRPY_POLY_CACHE"] = old
