"""The diffusion core (with GRF and LGD sampling) runs under the JAX backend, without TensorFlow
(skipped without JAX)."""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = """
import sys
sys.modules["tensorflow"] = None  # any TensorFlow import would fail
import numpy as np
import keras
from mcrpy_poly import SHSHBasis, synthetic
from mcrpy_poly.diffusion import DiffusionModel, NoiseSchedule, PatchDataset, preset
assert keras.backend.backend() == "jax"
basis = SHSHBasis("m-3m")
data = PatchDataset([synthetic.voronoi((32, 32), 6, seed=1)], basis, 16)
model = DiffusionModel(preset("tiny"), basis.n_terms, NoiseSchedule.linear(100), learning_rate=2e-3, ema_decay=0.9)
rng = np.random.default_rng(0)
losses = [model.train_step(data.batch(8, rng)[0]) for _ in range(200)]
assert np.mean(losses[-25:]) < 0.6 * np.mean(losses[:25]), losses
shape = (2, 16, 16, 9)
first = model.sample(shape, "ddim", steps=5, seed=3)
assert np.isfinite(first).all() and np.array_equal(first, model.sample(shape, "ddim", steps=5, seed=3))
from mcrpy_poly.diffusion.lgd import lgd_sample
from mcrpy_poly.grf import GaussianRandomField
grf = GaussianRandomField.from_fields(basis(synthetic.voronoi((32, 32), 6, seed=1).quaternions), (16, 16))
fields = lgd_sample(model, data.scaler.scale(grf.sample(2, rng=0)), data.scaler.scale(grf.mean), t0=30, steps=5,
                    seed=0)
assert fields.shape == shape and np.isfinite(fields).all()
np.testing.assert_allclose(fields.mean(axis=(1, 2)), np.broadcast_to(data.scaler.scale(grf.mean), (2, 9)), atol=1e-3)
model.save(sys.argv[1])
loaded, _ = DiffusionModel.load(sys.argv[1])
x = rng.standard_normal(shape).astype(np.float32)
np.testing.assert_array_equal(loaded.predict_noise(x, [3, 70]), model.predict_noise(x, [3, 70]))
print("jax ok")
"""


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="JAX is not installed")
def test_training_sampling_and_files_under_jax(tmp_path):
    env = dict(os.environ, KERAS_BACKEND="jax",
               PYTHONPATH=os.pathsep.join([str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")]))
    result = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "model")], env=env,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0 and "jax ok" in result.stdout, result.stderr[-3000:]
