"""The notebooks run: their code cells are executed in order (no Jupyter needed)."""
import json
import os
import warnings
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", [
    "quickstart.ipynb",
    "diffusion.ipynb",
])
def test_notebook_code_cells_run(name, tmp_path, monkeypatch):
    notebook = json.loads((ROOT / "notebooks" / name).read_text())
    work = tmp_path / "notebooks"
    work.mkdir()
    (tmp_path / "example_data").symlink_to(ROOT / "example_data")
    monkeypatch.chdir(work)
    namespace = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for cell in notebook["cells"]:
            if cell["cell_type"] == "code":
                exec(compile("".join(cell["source"]), f"{name}:{cell['id']}", "exec"), namespace)
    if name == "quickstart.ipynb":
        assert namespace["rec"].final_loss < 1e-2 * namespace["rec"].initial_loss
        assert (tmp_path / "runs" / "notebook_report" / "report.html").is_file()
        assert os.path.getsize(tmp_path / "runs" / "notebook_report" / "metrics.json") > 100
    if name == "diffusion.ipynb":
        losses, results = namespace["losses"], namespace["results"]
        assert np.mean(losses[-20:]) < 0.7 * np.mean(losses[:20])
        # The mean correction gives the LGD maps the reference's texture far better than the GRF's projection.
        assert results["LGD"]["texture"] < results["GRF only"]["texture"]
