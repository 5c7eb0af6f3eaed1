"""SHSH basis benchmarks (issue 2): evaluation speed, construction time, inverse-map recovery.

Run: ``python benchmarks/bench_shsh.py`` (2 CPU cores in CI-like machines). Prints a Markdown table.
"""
from __future__ import annotations

import os
import shutil
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


def main():
    os.environ["MCRPY_POLY_CACHE"] = tempfile.mkdtemp(prefix="shsh_bench_")
    t = time.perf_counter()
    import tensorflow as tf

    from mcrpy_poly import SHSHBasis, resolve_symmetry
    from mcrpy_poly.orientation import shsh
    from mcrpy_poly.orientation.quaternion import misorientation_angle, random_uniform
    print(f"imports (TensorFlow, orix): {time.perf_counter() - t:.2f} s")
    resolve_symmetry("432")

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

    print("\n| symmetry | K | degrees | within 1 deg | within 5 deg | median error (deg) | time for 2000 |")
    print("|---|---|---|---|---|---|---|")
    truth = random_uniform(2000, rng=1)
    for sym, k in (("432", 9), ("432", 22), ("622", 5), ("622", 14), ("622", None), ("622", 40), ("4", None),
                   ("6", None)):
        b = SHSHBasis(sym, n_terms=k)  # None: the default basis
        label = f"{b.n_terms} (default)" if k is None else k
        t = time.perf_counter()
        back = b.to_quaternion(b(truth))
        dt = time.perf_counter() - t
        err = np.degrees(misorientation_angle(truth, back, b.symmetry.quaternions))
        print(f"| {sym} | {label} | {b.degrees} | {np.mean(err < 1):.3f} | {np.mean(err < 5):.3f} | "
              f"{np.median(err):.2f} | {dt:.2f} s |")
    shutil.rmtree(os.environ["MCRPY_POLY_CACHE"], ignore_errors=True)


if __name__ == "__main__":
    main()
