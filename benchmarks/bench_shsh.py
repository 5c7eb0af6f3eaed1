"""SHSH basis benchmarks (issue 2): evaluation speed, construction time, inverse-map recovery.

Run: ``python benchmarks/bench_shsh.py [--inverse-only]`` (2 CPU cores in CI-like machines). Prints
Markdown tables.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time

import numpy as np


def best_of(fn, repeat=7):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def baseline_nearest_orientation(basis, values, resolution=3.0, refine_steps=8):
    """The inverse map before issue 13 (the baseline): orix ``get_sample_fundamental`` grid,
    k-d tree, then 8 full Gauss-Newton steps with central differences on every point."""
    from orix.sampling import get_sample_fundamental
    from scipy.spatial import cKDTree

    from mcrpy_poly.orientation.quaternion import from_axis_angle, multiply, normalize
    from mcrpy_poly.orientation.symmetry import reduce_to_fundamental_zone

    step = 1e-5
    grid = normalize(np.asarray(get_sample_fundamental(resolution=resolution,
                                                       point_group=basis.symmetry.to_orix()).data, dtype=float))
    target = np.asarray(values, dtype=float).reshape(-1, basis.n_terms)
    q = grid[cKDTree(basis(grid)).query(target)[1]]
    residual = basis(q) - target
    cost = np.sum(residual ** 2, axis=-1)
    eye = np.eye(3)
    steps = [from_axis_angle(eye[i], step) for i in range(3)] + [from_axis_angle(eye[i], -step) for i in range(3)]
    for _ in range(refine_steps):
        f = [basis(multiply(q, d)) for d in steps]
        jac = np.stack([(f[i] - f[i + 3]) / (2 * step) for i in range(3)], axis=-1)
        jtj = np.einsum("pki,pkj->pij", jac, jac)
        jtr = np.einsum("pki,pk->pi", jac, residual)
        damping = 1e-9 + 1e-6 * np.trace(jtj, axis1=1, axis2=2)[:, None, None]
        delta = -np.linalg.solve(jtj + damping * eye, jtr[..., None])[..., 0]
        angle = np.linalg.norm(delta, axis=-1)
        trial = normalize(multiply(q, from_axis_angle(np.where(angle[:, None] > 0, delta, eye[0]), angle)))
        trial_residual = basis(trial) - target
        trial_cost = np.sum(trial_residual ** 2, axis=-1)
        better = trial_cost < cost
        q = np.where(better[:, None], trial, q)
        residual = np.where(better[:, None], trial_residual, residual)
        cost = np.where(better, trial_cost, cost)
    return reduce_to_fundamental_zone(q, basis.symmetry).reshape(np.shape(values)[:-1] + (4,))


COLD_RUN = """
import sys, time
import numpy as np
sys.path[:0] = [{root!r}, {bench!r}]
from bench_shsh import baseline_nearest_orientation
from mcrpy_poly import SHSHBasis
from mcrpy_poly.orientation.quaternion import random_uniform
basis = SHSHBasis("432", n_terms=9)
values = basis(random_uniform((32, 32), rng=2))  # fits the rotated form outside the timing
t, c = time.perf_counter(), time.process_time()
basis.to_quaternion(values) if sys.argv[1] == "new" else baseline_nearest_orientation(basis, values)
print(time.perf_counter() - t, time.process_time() - c)
"""


def inverse_speed(misorientation_angle, random_uniform, SHSHBasis):
    """Inverse map, cubic K = 9, both methods: one 32 x 32 map of random orientations in a fresh
    interpreter (the search set and tree are built in the call, as a sampling run meets it; best
    of 3 processes, the first of which writes the point set, its values and the tangent
    generators to the empty disk cache), a 256 x 256 map of random orientations in this process
    with the search set already built (every vector distinct), a 256 x 256 Voronoi map of 200
    grains (200 distinct vectors), and the values of a 128 x 128 Gaussian random
    field of a Voronoi map (as generated fields are: off the image of the basis; accuracy as
    the mean squared SHSH residual, in the median column)."""
    import subprocess
    import sys
    from pathlib import Path

    bench = Path(__file__).resolve().parent
    code = COLD_RUN.format(root=str(bench.parent), bench=str(bench))
    methods = (("baseline (orix grid, 8 Gauss-Newton steps)", "old"),
               ("to_quaternion (R3 point set, Levenberg-Marquardt)", "new"))
    rows = []
    for name, which in methods:
        runs = [[float(x) for x in subprocess.run([sys.executable, "-c", code, which], capture_output=True,
                                                  text=True, check=True).stdout.split()[-2:]] for _ in range(3)]
        best = min(runs)
        rows.append(("32x32, fresh process", f"{name}; first process {runs[0][0]:.3f} s", best[0], best[1],
                     None, None))
    truth = random_uniform((256, 256), rng=2)
    basis = SHSHBasis("432", n_terms=9)
    values = basis(truth)
    for name, which in methods:
        if which == "new":
            basis.to_quaternion(values[:1, :1])  # the search set, built once per basis
        t, c = time.perf_counter(), time.process_time()
        back = basis.to_quaternion(values) if which == "new" else baseline_nearest_orientation(basis, values)
        dt, cpu = time.perf_counter() - t, time.process_time() - c
        err = np.degrees(misorientation_angle(truth, back, basis.symmetry.quaternions))
        rows.append(("256x256, set built", name, dt, cpu, np.mean(err < 1), np.median(err)))
    from mcrpy_poly import synthetic
    from mcrpy_poly.grf import GaussianRandomField

    grains = synthetic.voronoi((256, 256), 200, seed=0).quaternions
    values = basis(grains)
    for name, which in methods:
        t, c = time.perf_counter(), time.process_time()
        back = basis.to_quaternion(values) if which == "new" else baseline_nearest_orientation(basis, values)
        dt, cpu = time.perf_counter() - t, time.process_time() - c
        err = np.degrees(misorientation_angle(grains, back, basis.symmetry.quaternions))
        rows.append(("256x256 Voronoi map, 200 grains", name, dt, cpu, np.mean(err < 1), np.median(err)))
    field = basis(synthetic.voronoi((128, 128), 200, seed=0).quaternions)
    values = GaussianRandomField.from_fields(field).sample(1, rng=0)[0]
    for name, which in methods:
        t, c = time.perf_counter(), time.process_time()
        back = basis.to_quaternion(values) if which == "new" else baseline_nearest_orientation(basis, values)
        dt, cpu = time.perf_counter() - t, time.process_time() - c
        rows.append(("128x128 GRF values", name, dt, cpu, None,
                     float(np.mean(np.sum((basis(back) - values) ** 2, -1)))))
    return rows


def evaluation_speed(tf, SHSHBasis, shsh, random_uniform):
    """Basis construction and evaluation times (printed as a table)."""
    rows = []
    t = time.perf_counter()
    basis22 = SHSHBasis("432", n_terms=22)
    basis22(np.array([1.0, 0.0, 0.0, 0.0]))  # builds the coefficients and fits the rotated form
    rows.append(("432 basis construction, N = 8 and 12 (cold cache, incl. rotated-form fit)",
                 time.perf_counter() - t, "<= 2 s"))
    shsh.coefficients.cache_clear()
    t = time.perf_counter()
    SHSHBasis("432", n_terms=22).coefficients(12)
    rows.append(("432 basis from the disk cache", time.perf_counter() - t, "<= 50 ms"))

    q = random_uniform((256, 256), rng=0)
    for k in (9, 22):
        b = SHSHBasis("432", n_terms=k)
        b(q)
        fast = best_of(lambda: b(q))
        reference = best_of(lambda: b.hsh_form(q), repeat=3)
        rows.append((f"numpy evaluation 256x256, K = {k}", fast, "<= 100 ms"))
        rows.append((f"  baseline: HSH-sum form (SHSHBasis.hsh_form), K = {k}", reference,
                     f"rotated form is {reference / fast:.1f}x faster"))
        qt = tf.constant(q)

        @tf.function
        def fwd_bwd(x, b=b):
            with tf.GradientTape() as tape:
                tape.watch(x)
                loss = tf.reduce_sum(b.tf(x) ** 2)
            return tape.gradient(loss, x)

        fwd_bwd(qt)
        rows.append((f"TF forward+backward 256x256, K = {k} (tf.function)", best_of(lambda: fwd_bwd(qt).numpy()),
                     "<= 100 ms"))

    print("\n| what | time | target |\n|---|---|---|")
    for name, sec, target in rows:
        print(f"| {name} | {sec * 1e3:.1f} ms | {target} |")


def main():
    os.environ["MCRPY_POLY_CACHE"] = tempfile.mkdtemp(prefix="shsh_bench_")
    t = time.perf_counter()
    import tensorflow as tf

    from mcrpy_poly import SHSHBasis, resolve_symmetry
    from mcrpy_poly.orientation import shsh
    from mcrpy_poly.orientation.quaternion import misorientation_angle, random_uniform
    print(f"imports (TensorFlow, orix): {time.perf_counter() - t:.2f} s; load average {os.getloadavg()}")
    resolve_symmetry("432")

    if "--inverse-only" not in sys.argv:
        evaluation_speed(tf, SHSHBasis, shsh, random_uniform)

    print("\n| map | method | time | CPU time | within 1 deg | median error (deg) |\n|---|---|---|---|---|---|")
    for shape, name, sec, cpu, within, median in inverse_speed(misorientation_angle, random_uniform, SHSHBasis):
        accuracy = f"| | {median:.5f} |" if within is None and median is not None else \
            "| | |" if within is None else f"| {within:.4f} | {median:.2e} |"
        print(f"| {shape} | {name} | {sec:.3f} s | {cpu:.3f} s {accuracy}")

    print(f"load average {os.getloadavg()}")
    print("\n| symmetry | K | degrees | within 1 deg | within 5 deg | median error (deg) | time for 2000 | CPU |")
    print("|---|---|---|---|---|---|---|---|")
    truth = random_uniform(2000, rng=1)
    for sym, k in (("432", 9), ("432", 22), ("622", 5), ("622", 14), ("622", None), ("622", 40), ("4", None),
                   ("6", None)):
        b = SHSHBasis(sym, n_terms=k)  # None: the default basis
        label = f"{b.n_terms} (default)" if k is None else k
        values = b(truth)
        t, c = time.perf_counter(), time.process_time()
        back = b.to_quaternion(values)
        dt, cpu = time.perf_counter() - t, time.process_time() - c
        err = np.degrees(misorientation_angle(truth, back, b.symmetry.quaternions))
        print(f"| {sym} | {label} | {b.degrees} | {np.mean(err < 1):.3f} | {np.mean(err < 5):.3f} | "
              f"{np.median(err):.2f} | {dt:.2f} s | {cpu:.2f} s |")
    print(f"load average {os.getloadavg()}")
    shutil.rmtree(os.environ["MCRPY_POLY_CACHE"], ignore_errors=True)


if __name__ == "__main__":
    main()
