"""MCRpy stays at the edge: the core imports and works with ``mcrpy`` unimportable, and never
loads the MCRpy bridge on its own."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = r'''
import importlib.abc, sys

class BlockMCRpy(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "mcrpy" or name.startswith("mcrpy."):
            raise ImportError(f"{name} blocked by the test")

sys.meta_path.insert(0, BlockMCRpy())
import numpy as np
import mcrpy_poly
from mcrpy_poly import synthetic
from mcrpy_poly.evaluate.grain_metrics import grain_metrics
from mcrpy_poly.grains import segment_grains
from mcrpy_poly.io.abaqus import save_abaqus
from mcrpy_poly.io.export import save_vti

omap = synthetic.voronoi((16, 16), 5, seed=1)
c = mcrpy_poly.characterize(omap, limit_to=4)
back = mcrpy_poly.load_characterization(c.save(sys.argv[1] + "/c.npz"))
assert np.allclose(back["correlations"], c["correlations"])
assert grain_metrics(omap, periodic=True)["n_grains"] == 5
g = segment_grains(omap)
save_abaqus(sys.argv[1] + "/rve.inp", g.labels, g.orientations, "m-3m", 1.0)
save_vti(sys.argv[1] + "/v.vti", synthetic.voronoi((4, 4, 4), 2))
try:
    import mcrpy_poly.mcrpy_bridge
except ImportError:
    pass
else:
    raise AssertionError("the bridge imported without MCRpy")
loaded = sorted(m for m in sys.modules if m == "mcrpy" or m.startswith(("mcrpy.", "mcrpy_poly.mcrpy_bridge")))
print("MCRPY_MODULES", loaded)
'''


def test_core_works_without_mcrpy(tmp_path):
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "MCRPY_MODULES []" in done.stdout


def test_only_the_edges_import_the_bridge():
    """The core's modules name neither the bridge nor MCRpy's characterization code; the
    package's public API, the commands and the MCRpy route of the reconstruction may."""
    import ast

    edges = {"__init__.py", "mcrpy_bridge.py", "reconstruction/mcrpy_route.py"}
    offenders = []
    for path in sorted((ROOT / "mcrpy_poly").rglob("*.py")):
        relative = path.relative_to(ROOT / "mcrpy_poly").as_posix()
        if relative in edges or relative.startswith("cli/"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [alias.name for alias in node.names]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            if any(name.split(".")[-1] == "mcrpy_bridge" for name in names):
                offenders.append(relative)
    assert offenders == []
