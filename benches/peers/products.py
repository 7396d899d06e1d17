"""numpy's BLAS on the dense product shapes of `cargo bench --bench products`.

GFLOP/s, best of 20 after 3 warm-up products, on the BLAS's default
thread count, plus one large square product (4096^3) as the machine's
dense-product limit.

Run:    VENV/bin/python benches/peers/products.py
"""

import time

import numpy as np


def best_gflops(m, k, n, repeats=20):
    rng = np.random.default_rng(0)
    a, b = rng.random((m, k)), rng.random((k, n))
    for _ in range(3):
        a @ b
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * m * k * n / best / 1e9


def main():
    shapes = [
        ("layer W z", 256, 256, 1024),
        ("weight gradient abar z^T", 256, 1024, 256),
        ("input layer W1 x (d = 100)", 256, 100, 1024),
        ("square", 4096, 4096, 4096),
    ]
    for name, m, k, n in shapes:
        repeats = 3 if m == 4096 else 20
        print(f"{name:28} {m} x {k} x {n}: numpy {best_gflops(m, k, n, repeats):.1f}")


if __name__ == "__main__":
    main()
