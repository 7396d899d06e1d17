"""Random feature least squares for the 2-D Poisson problem, in NumPy.

Peer of `pdec solve examples/poisson2d.pde`:

    -(u_xx + u_yy) = 2 pi^2 sin(pi x) sin(pi y) on [0, 1]^2,  u = 0 on the boundary,
    u(x) = sum_k a_k tanh(w_k . x + b_k),  1600 features,  w_k, b_k ~ uniform(-3, 3),
    interior = grid(60) (3600 points), boundary = grid(60) (240 points),
    a = argmin ||A a - rhs||_2 with A of shape 3840 x 1600.

The point sets and the matrix are built exactly as pdec builds them; the random
features come from NumPy with a fixed seed, so they differ from pdec's draw.

The solve is timed twice: numpy.linalg.lstsq (LAPACK gelsd, SVD based) and
scipy.linalg.lstsq with lapack_driver="gelsy" (column-pivoted QR, closer to
pdec's rank-revealing QR, with pdec's relative rank cutoff 1e-13).

Setup:  python3 -m venv VENV && VENV/bin/pip install -r benches/peers/requirements.txt
Run:    VENV/bin/python benches/peers/rfm_lstsq.py [--repeats 5]

Prints one line per repeat, then one JSON line per solver:
{"peer": "numpy", ...} (gelsd) and {"peer": "scipy-gelsy", ...}.
"""

import argparse
import json
import statistics
import time

import numpy as np
import scipy
import scipy.linalg
import threadpoolctl

import points

FEATURES = 1600
SCALE = 3.0
GRID = 60
TEST_GRID = 101
SEED = 0
GELSY_CUTOFF = 1e-13


def source(p):
    return 2 * np.pi**2 * np.sin(np.pi * p[:, 0]) * np.sin(np.pi * p[:, 1])


def exact(p):
    return np.sin(np.pi * p[:, 0]) * np.sin(np.pi * p[:, 1])


def assemble(interior, boundary, w, b):
    """Rows -lap(phi_k)(x_i) for interior points, phi_k(x_i) for boundary points."""
    t = np.tanh(interior @ w.T + b)
    tanh_second = -2.0 * t * (1.0 - t * t)
    a_interior = -(w * w).sum(axis=1) * tanh_second
    a_boundary = np.tanh(boundary @ w.T + b)
    matrix = np.vstack([a_interior, a_boundary])
    rhs = np.concatenate([source(interior), np.zeros(len(boundary))])
    return matrix, rhs


def solve_gelsd(matrix, rhs):
    return np.linalg.lstsq(matrix, rhs, rcond=None)[0]


def solve_gelsy(matrix, rhs):
    return scipy.linalg.lstsq(matrix, rhs, cond=GELSY_CUTOFF, lapack_driver="gelsy")[0]


def relative_l2(coefficients, w, b):
    test = points.test_grid(TEST_GRID)
    u = np.tanh(test @ w.T + b) @ coefficients
    e = exact(test)
    return float(np.linalg.norm(u - e) / np.linalg.norm(e))


def run(solver, repeats, w, b, warmup):
    """Median assembly/solve/total seconds over `repeats` runs (after
    `warmup` untimed ones), and the error."""
    interior, boundary = points.interior(GRID), points.boundary(GRID)
    for _ in range(warmup):
        solver(*assemble(interior, boundary, w, b))
    assembly, solve, total = [], [], []
    for r in range(repeats):
        t0 = time.perf_counter()
        matrix, rhs = assemble(interior, boundary, w, b)
        t1 = time.perf_counter()
        coefficients = solver(matrix, rhs)
        t2 = time.perf_counter()
        assembly.append(t1 - t0)
        solve.append(t2 - t1)
        total.append(t2 - t0)
        print(f"  {solver.__name__} run {r + 1}: assembly {t1 - t0:.4f} s, solve {t2 - t1:.4f} s")
    return {
        "assembly_seconds": statistics.median(assembly),
        "solve_seconds": statistics.median(solve),
        "total_seconds": statistics.median(total),
        "relative_l2": relative_l2(coefficients, w, b),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=0,
                        help="untimed runs before the timed ones (the first run of a process "
                             "is always the slowest)")
    args = parser.parse_args()

    rng = np.random.default_rng(SEED)
    w = rng.uniform(-SCALE, SCALE, size=(FEATURES, 2))
    b = rng.uniform(-SCALE, SCALE, size=FEATURES)

    blas = [p for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"]
    for p in blas:
        print(f"BLAS: {p['internal_api']} {p['version']} ({p['architecture']}), "
              f"{p['num_threads']} threads, {p['filepath']}")
    print(f"numpy {np.__version__}, scipy {scipy.__version__}, "
          f"matrix {GRID**2 + 4 * GRID} x {FEATURES}")

    results = {
        "numpy": run(solve_gelsd, args.repeats, w, b, args.warmup),
        "scipy-gelsy": run(solve_gelsy, args.repeats, w, b, args.warmup),
    }
    threads = max(p["num_threads"] for p in blas)
    for peer, result in results.items():
        print(json.dumps({"peer": peer, **result, "blas_threads": threads}))


if __name__ == "__main__":
    main()
