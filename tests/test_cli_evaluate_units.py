"""``evaluate_poly.py REF.ang CAND.npy``: the step-less candidate is measured in the reference's
unit, and the report says so (issue 12, from issue 11)."""
import json

import numpy as np

import mcrpy_poly
from mcrpy_poly import synthetic
from mcrpy_poly.cli.evaluate import main


def test_npy_candidate_takes_the_reference_step(tmp_path):
    omap = synthetic.voronoi((24, 24), 8, seed=6, step=0.5)
    ang = mcrpy_poly.save_ang(tmp_path / "ref.ang", omap)
    npy = tmp_path / "cand.npy"
    np.save(npy, omap.quaternions)  # the same map, without its step
    out = tmp_path / "report"
    assert main([str(ang), str(npy), "--symmetry", "m-3m", "--out", str(out), "--limit-to", "4",
                 "--periodic", "both"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["length_unit"] == "um"
    assert metrics["candidates"][0]["step"] == metrics["reference"]["step"] == [0.5, 0.5]
    # Identical maps in the same unit: no distance between the grain-size distributions (in
    # pixels against um the sizes would differ by the factor 0.25).
    assert metrics["metrics"]["grain_size_w1"] == 0.0
    assert "Lengths in um" in (out / "report.html").read_text()


def test_step_sources(tmp_path):
    """Without any step the unit is pixels; a .npy reference takes an EBSD candidate's step."""
    from mcrpy_poly.cli.evaluate import with_common_step

    flat = synthetic.voronoi((8, 8), 3, seed=1)
    maps, unit = with_common_step([flat, flat], ["a.npy", "b.npy"])
    assert unit == "pixels" and [m.step for m in maps] == [(1.0, 1.0)] * 2
    maps, unit = with_common_step([flat, flat.replace(step=0.25)], ["a.npy", "b.ang"])
    assert unit == "um" and [m.step for m in maps] == [(0.25, 0.25)] * 2
    volume = synthetic.voronoi((6, 6, 6), 3, seed=1)
    maps, _ = with_common_step([flat.replace(step=0.5), volume], ["a.ang", "v.npy"])
    assert maps[1].step == (0.5, 0.5, 0.5)
