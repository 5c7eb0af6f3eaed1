"""Descriptor benchmarks (issue 3): characterize a 512 x 512 map, loss + gradient at 128 x 128,
and the two-point correlations against MCRpy 0.2.0's own ``FFTCorrelations``.

Run: ``python benchmarks/bench_descriptors.py`` (2 CPU cores in CI-like machines). Prints a
Markdown table of wall times: the first call (what a user waits for after import) and the best
of ``--repeat`` further calls; the load average is printed too, because other processes on a
2-core machine change every figure.

- ``characterize``: cubic Voronoi map 512 x 512, 9 SHSH (N = 8), correlations ``limit_to=16``
  (45 pairs), variogram ``limit_to=4`` (24 lags), mean variation, texture; periodic (the
  statistics of before issue 15, same code path), non-periodic (the default for a measured map:
  zero-padded, masked) and non-periodic with the correlation window chosen from the map.
- loss + gradient: ``sum_d ||D_d(x) - D_d^target||^2`` over that descriptor set for a 128 x 128
  state, inside one ``tf.function`` (``autograph=False``); first call = graph construction.
  Two states: the SHSH field itself (K = 9 channels), and 4-vectors per pixel through the
  SHSH basis (what the reconstruction optimises); the latter also with a correlation window of
  32 (a window chosen from a coarse map). The loss stays periodic.
- MCRpy ratio: MCRpy's ``FFTCorrelations`` on 9 phase channels (its multiphase wrapper,
  single grid) against ``two_point_correlations`` with the same 9 auto-correlations, and with
  all 45 auto- and cross-correlations; forward and loss + gradient, same run, same threads.
"""
from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
import warnings

import numpy as np


def timed(fn, repeat):
    """(first call, best of ``repeat`` further calls, CPU time of that call) in seconds.

    The CPU time (all threads of this process) does not grow when other processes compete
    for the cores; divided by the number of cores it bounds the wall time on an idle machine.
    """
    t = time.perf_counter()
    fn()
    first = time.perf_counter() - t
    best = (float("inf"), 0.0)
    for _ in range(repeat):
        t, cpu = time.perf_counter(), time.process_time()
        fn()
        best = min(best, (time.perf_counter() - t, time.process_time() - cpu))
    return (first, *best)


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            return next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown"


def loss_and_gradient(tf, describe, targets):
    """A ``tf.function`` returning the MSE loss over all descriptors and its gradient."""

    @tf.function(autograph=False)
    def step(state):
        with tf.GradientTape() as tape:
            tape.watch(state)
            values = describe(state)
            loss = tf.add_n([tf.reduce_sum(tf.square(values[name] - targets[name])) for name in targets])
        return loss, tape.gradient(loss, state)

    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--size", type=int, default=512, help="side of the characterized map")
    parser.add_argument("--loss-size", type=int, default=128, help="side of the loss + gradient state")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    os.environ.setdefault("MCRPY_POLY_CACHE", tempfile.mkdtemp(prefix="descriptor_bench_"))
    t = time.perf_counter()
    import tensorflow as tf
    from mcrpy.descriptors.FFTCorrelations import FFTCorrelations

    import mcrpy_poly
    from mcrpy_poly import SHSHBasis, synthetic
    from mcrpy_poly.descriptors import DESCRIPTORS, characterize, compute_descriptors, two_point_correlations

    print(f"imports (TensorFlow, MCRpy): {time.perf_counter() - t:.2f} s")
    print(f"machine: {cpu_name()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"TensorFlow {tf.__version__}, mcrpy_poly {mcrpy_poly.__version__}")
    print(f"load average before: {os.getloadavg()[0]:.2f}\n")
    rows = []
    names = list(DESCRIPTORS)
    limits = {"correlations": 16, "variogram": 4}

    # 1. characterize
    omap = synthetic.voronoi((args.size, args.size), 400, symmetry="m-3m", seed=1)
    basis = SHSHBasis("m-3m")
    basis(omap.quaternions[:2, :2])  # coefficients from the disk cache, as after a first use
    periodic_time = timed(lambda: characterize(omap, names, limits, basis=basis, periodic=True), args.repeat)
    rows.append((f"characterize {args.size}^2, 9 SHSH, all four descriptors, periodic", *periodic_time, "<= 2 s"))
    field = tf.constant(basis(omap.quaternions))
    rows.append((f"  of which SHSH evaluation (NumPy) {args.size}^2", None,
                 *timed(lambda: basis(omap.quaternions), args.repeat)[1:], ""))
    for name in names:
        rows.append((f"  of which {name}", None,
                     *timed(lambda: compute_descriptors(field, [name], limits), args.repeat)[1:], ""))
    bounded = timed(lambda: characterize(omap, names, limits, basis=basis, periodic=False), args.repeat)
    rows.append((f"characterize {args.size}^2, non-periodic (measured map)", *bounded,
                 f"x{bounded[1] / periodic_time[1]:.2f} of periodic (CPU x{bounded[2] / periodic_time[2]:.2f}), "
                 "<= 1.5x, <= 2 s"))
    for name in names:
        rows.append((f"  of which {name}", None,
                     *timed(lambda: compute_descriptors(field, [name], limits, periodic=False), args.repeat)[1:], ""))
    chosen_window = characterize(omap, names, basis=basis, periodic=False).limit_to["correlations"]
    chosen = timed(lambda: characterize(omap, names, basis=basis, periodic=False), args.repeat)
    rows.append((f"characterize {args.size}^2, non-periodic, window chosen from the map ({chosen_window})", *chosen,
                 f"x{chosen[1] / periodic_time[1]:.2f} of periodic (CPU x{chosen[2] / periodic_time[2]:.2f})"))

    # 2. loss + gradient
    n = args.loss_size
    rng = np.random.default_rng(0)
    target_map = synthetic.voronoi((n, n), 30, symmetry="m-3m", seed=2)
    targets = {k: v for k, v in compute_descriptors(basis(target_map.quaternions), names, limits).items()}
    on_field = loss_and_gradient(tf, lambda x: compute_descriptors(x, names, limits), targets)
    state = tf.constant(rng.normal(size=(n, n, basis.n_terms)) * 0.1)
    rows.append((f"loss + gradient {n}^2, SHSH field state (first = graph)",
                 *timed(lambda: on_field(state), 3 * args.repeat), "<= 60 ms, graph <= 5 s"))
    on_quaternions = loss_and_gradient(tf, lambda q: compute_descriptors(basis.tf(q), names, limits), targets)
    quaternions = tf.constant(rng.normal(size=(n, n, 4)))
    loss_16 = timed(lambda: on_quaternions(quaternions), 3 * args.repeat)
    rows.append((f"loss + gradient {n}^2, 4-vector state via basis.tf (first = graph)", *loss_16, ""))
    wide = {**limits, "correlations": 32}
    wide_targets = compute_descriptors(basis(target_map.quaternions), names, wide)
    on_wide = loss_and_gradient(tf, lambda q: compute_descriptors(basis.tf(q), names, wide), wide_targets)
    loss_32 = timed(lambda: on_wide(quaternions), 3 * args.repeat)
    rows.append((f"loss + gradient {n}^2, 4-vector state, correlation window 32", *loss_32,
                 f"x{loss_32[1] / loss_16[1]:.2f} of window 16 (CPU x{loss_32[2] / loss_16[2]:.2f})"))

    # 3. against MCRpy's FFTCorrelations, same channels, same run
    channels = basis.n_terms
    mcrpy_fft = FFTCorrelations.make_descriptor(desired_shape_2d=(n, n), desired_shape_extended=(1, n, n, channels),
                                                use_multigrid_descriptor=False, limit_to=16)
    x_mcrpy = tf.constant(rng.random((1, n, n, channels)))
    autos = [(k, k) for k in range(channels)]
    np.testing.assert_allclose(np.asarray(mcrpy_fft(x_mcrpy))[:, 0],  # same numbers (MCRpy flips the lag sign)
                               np.flip(two_point_correlations(x_mcrpy[0], 16, pairs=autos).numpy(), (1, 2)),
                               atol=1e-12)
    variants = {"MCRpy FFTCorrelations, 9 channels": (lambda x: {"c": mcrpy_fft(x)}, x_mcrpy),
                "two_point_correlations, 9 auto pairs": (
                    lambda x: {"c": two_point_correlations(x, 16, pairs=autos)}, x_mcrpy[0]),
                "two_point_correlations, all 45 pairs": (
                    lambda x: {"c": two_point_correlations(x, 16)}, x_mcrpy[0])}
    measured = {}
    for label, (describe, x) in variants.items():
        forward = tf.function(describe, autograph=False)
        target = {"c": forward(x)["c"] * 0.5}
        with_gradient = loss_and_gradient(tf, describe, target)
        measured[label] = (timed(lambda: forward(x), 3 * args.repeat)[1:],
                           timed(lambda: with_gradient(x), 3 * args.repeat)[1:])
    reference = measured["MCRpy FFTCorrelations, 9 channels"]
    for label, (forward_times, gradient_times) in measured.items():
        ratio = (f"x{forward_times[0] / reference[0][0]:.2f} fwd (CPU x{forward_times[1] / reference[0][1]:.2f}), "
                 f"x{gradient_times[0] / reference[1][0]:.2f} grad (CPU x{gradient_times[1] / reference[1][1]:.2f})")
        rows.append((f"{label} {n}^2 forward", None, *forward_times, ""))
        rows.append((f"{label} {n}^2 loss + gradient", None, *gradient_times, ratio))

    print("| task | first call | best of repeats | CPU time of that call | target / ratio to MCRpy |")
    print("|---|---|---|---|---|")
    for label, first, best, cpu, note in rows:
        first_text = "" if first is None else f"{first * 1000:.0f} ms"
        print(f"| {label} | {first_text} | {best * 1000:.1f} ms | {cpu * 1000:.1f} ms | {note} |")
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
