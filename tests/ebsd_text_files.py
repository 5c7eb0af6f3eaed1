"""EDAX ``.ang`` and Oxford ``.ctf`` texts written here, independently of the package's writer,
so that the readers can be checked against grids whose every row is known."""
import numpy as np


def random_euler(shape, seed=0, n_grains=4):
    """Bunge Euler angles (radians) of a map of ``n_grains`` vertical bands, shape (H, W, 3)."""
    rng = np.random.default_rng(seed)
    grains = rng.uniform([0, 0, 0], [2 * np.pi, np.pi, 2 * np.pi], (n_grains, 3))
    band = (np.arange(shape[1]) * n_grains) // shape[1]
    return np.broadcast_to(grains[band][None], (shape[0], shape[1], 3)).copy()


def reference_quaternions(euler, degrees=False):
    """orix quaternions (H, W, 4) of Euler angles (H, W, 3): the independent reference."""
    from orix.quaternion import Rotation

    return Rotation.from_euler(euler.reshape(-1, 3), degrees=degrees).data.reshape(euler.shape[:-1] + (4,))


def ang_text(euler, step=(1.0, 1.0), header=None, grid="SqrGrid", symmetry="43", order=None, comma=False):
    """An ``.ang`` text: rows ``phi1 Phi phi2 x y iq ci phase signal fit``.

    ``header`` overrides the declared ``(rows, columns, dy, dx)``; ``order`` permutes the rows;
    ``comma`` writes decimal commas."""
    h, w = euler.shape[:2]
    rows, cols, dy, dx = header or (h, w, *step)
    lines = ["# TEM_PIXperUM          1.000000", "# Phase 1", "# MaterialName  iron", "# Formula     Fe",
             f"# Symmetry              {symmetry}", "# LatticeConstants      2.870 2.870 2.870  90.000  90.000  90.000",
             f"# GRID: {grid}", f"# XSTEP: {dx:.6f}", f"# YSTEP: {dy:.6f}", f"# NCOLS_ODD: {cols}",
             f"# NCOLS_EVEN: {cols}", f"# NROWS: {rows}", "#"]
    data = [f"{e[0]:.5f} {e[1]:.5f} {e[2]:.5f} {c * step[1]:.5f} {r * step[0]:.5f} 50.0 0.800 1 0 0.5"
            for (r, c), e in zip(np.ndindex(h, w), euler.reshape(-1, 3))]
    return _assemble(lines, data, order, comma)


def ctf_text(euler_deg, step=(1.0, 1.0), header=None, laue=11, order=None, comma=False):
    """An Oxford ``.ctf`` text: rows ``Phase X Y Bands Error Euler1 Euler2 Euler3 MAD BC BS``."""
    h, w = euler_deg.shape[:2]
    rows, cols, dy, dx = header or (h, w, *step)
    lines = ["Channel Text File", "Prj\ttest", "Author\t", "JobMode\tGrid", f"XCells\t{cols}", f"YCells\t{rows}",
             f"XStep\t{dx:.4f}", f"YStep\t{dy:.4f}", "AcqE1\t0", "AcqE2\t0", "AcqE3\t0",
             "Euler angles refer to Sample Coordinate system (CS0)!", "Phases\t1",
             f"2.870;2.870;2.870\t90.000;90.000;90.000\tIron bcc\t{laue}\t229",
             "Phase\tX\tY\tBands\tError\tEuler1\tEuler2\tEuler3\tMAD\tBC\tBS"]
    data = [f"1\t{c * step[1]:.4f}\t{r * step[0]:.4f}\t8\t0\t{e[0]:.4f}\t{e[1]:.4f}\t{e[2]:.4f}\t0.5000\t120\t130"
            for (r, c), e in zip(np.ndindex(h, w), euler_deg.reshape(-1, 3))]
    return _assemble(lines, data, order, comma)


def _assemble(header, data, order, comma):
    if order is not None:
        data = [data[i] for i in order]
    if comma:
        data = [row.replace(".", ",") for row in data]
        header = [line.replace(".", ",") if "Step" in line or ";" in line or "STEP" in line else line
                  for line in header]
    return "\n".join(header + data) + "\n"
