"""Installation-level checks: import, NumPy shim, plugin package location, example data."""
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def test_import_applies_numpy_shim_for_mcrpy():
    code = ("import numpy as np; import mcrpy_poly; "
            "assert np.product is np.prod and np.bool8 is np.bool_; import mcrpy; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("ok")


def test_import_is_light():
    """The base package must not pull in TensorFlow (the diffusion add-on runs without it)."""
    code = "import sys, mcrpy_poly; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.stdout.strip() == "False", out.stderr[-2000:]


def test_plugins_install_inside_the_package():
    import mcrpy_poly.plugins
    assert Path(mcrpy_poly.plugins.__file__).resolve().parent == ROOT / "plugins"
    import importlib.metadata
    assert importlib.metadata.distribution("mcrpy-poly").read_text("top_level.txt").split() == ["mcrpy_poly"]


def test_example_data_matches_its_generator(tmp_path):
    """example_data/*.ang are what example_data/make_examples.py writes (same orientations)."""
    import importlib.util
    import warnings

    from mcrpy_poly import load_ebsd
    from mcrpy_poly.synthetic import voronoi
    spec = importlib.util.spec_from_file_location("make_examples", ROOT / "example_data" / "make_examples.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, settings in module.EXAMPLES.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            shipped = load_ebsd(ROOT / "example_data" / name)
        fresh = voronoi(**settings)
        assert shipped.shape == fresh.shape
        dots = np.abs(np.sum(shipped.quaternions * fresh.quaternions, axis=-1))
        assert dots.min() > 1 - 1e-9


def test_ipf_pictures_work_without_tensorflow(tmp_path):
    """The diffusion commands save IPF pictures on machines without TensorFlow (GPU device under JAX)."""
    code = ("import sys; sys.modules['tensorflow'] = None\n"
            "from mcrpy_poly.synthetic import voronoi\n"
            "from mcrpy_poly.evaluate.ipf import save_ipf_png\n"
            f"save_ipf_png({str(tmp_path / 'ipf.png')!r}, voronoi((8, 8), 3))\n"
            "print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert (tmp_path / "ipf.png").stat().st_size > 100
