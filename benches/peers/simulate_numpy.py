#!/usr/bin/env python3
"""The explicit and FED schemes of `pdec simulate` in NumPy, vectorized,
and the driver that times both in alternating rounds.

Problem: examples/simulate/perona_malik.pde on a cell-centred grid of n
values (reflecting ends), Phi(s) = s / (1 + s^2/lambda^2), lambda = 2,
u0 = tanh(40 (x - 0.5)) + 0.1 sin(60 pi x), m = 1:

    s = (u[i+1] - u[i]) / h              (K, n - 1 values)
    f = Phi(s)                            (the activation)
    u[i] -= tau (f[i-1] - f[i]) / h       (K^T with zero flux at the walls)

and the Euclidean norm after every step (explicit) or cycle (FED), as pdec
records it. FED: `cycles` cycles of n steps, tau_i from the FED formula on
the bound tau_bound, in the Leja order pdec uses, with the diffusivity
g = Phi(s)/s frozen at each cycle's start.

Run alone:   simulate_numpy.py --grid 100000 --steps 500
Compare:     simulate_numpy.py --pdec target/release/pdec --rounds 5 [--fed-scale 100]
             (per grid: one pdec run, one NumPy run, alternating; pdec's
             time is the `seconds` of its JSON report, the time loop only.)
"""

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time

# One core, as pdec's time loop: np.dot (the norm) is a BLAS call, whose
# threads must not spread over the other core.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import numpy as np  # noqa: E402  (after the thread limits)

LAMBDA2 = 4.0
EXAMPLE = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "simulate", "perona_malik.pde"
)


def initial(n):
    h = 1.0 / n
    x = (np.arange(n) + 0.5) * h
    return np.tanh(40.0 * (x - 0.5)) + 0.1 * np.sin(60.0 * math.pi * x), h


def tau_max(n):
    """2 / (L ||K||^2), L = 1, ||K||^2 = (4/h^2) sin^2(pi (n-1)/(2n))."""
    h = 1.0 / n
    norm2 = 4.0 / (h * h) * math.sin(math.pi * (n - 1) / (2 * n)) ** 2
    return 2.0 / norm2


def explicit(u, h, tau, steps):
    n = u.size
    s = np.empty(n - 1)
    t = np.empty(n - 1)
    d = np.empty(n)
    norms = np.empty(steps)
    c = tau / h
    for k in range(steps):
        np.subtract(u[1:], u[:-1], out=s)
        s *= 1.0 / h
        np.multiply(s, s, out=t)
        t *= 1.0 / LAMBDA2
        t += 1.0
        np.divide(s, t, out=s)  # f = Phi(s)
        d[0] = -s[0]
        np.subtract(s[:-1], s[1:], out=d[1:-1])
        d[-1] = s[-1]
        d *= c
        u -= d
        norms[k] = math.sqrt(np.dot(u, u))
    return u, norms


def fed_steps(n, bound):
    taus = [bound / (2.0 * math.cos(math.pi * (2 * i + 1) / (4 * n + 2)) ** 2) for i in range(n)]
    roots = [1.0 / t for t in taus]
    taken = [False] * n
    score = [0.0] * n
    order = []
    nxt = max(range(n), key=lambda i: abs(roots[i]))
    for _ in range(n):
        taken[nxt] = True
        order.append(taus[nxt])
        for j in range(n):
            if not taken[j]:
                score[j] += math.log(abs(roots[j] - roots[nxt]))
        rest = [j for j in range(n) if not taken[j]]
        if rest:
            nxt = max(rest, key=lambda j: score[j])
    return order


def fed_plan(length, tmax):
    target = 3.0 * length / tmax
    n = max(1, math.ceil((math.sqrt(1.0 + 4.0 * target) - 1.0) / 2.0))
    while n > 1 and (n - 1) * n >= target:
        n -= 1
    while n * (n + 1) < target:
        n += 1
    bound = 3.0 * length / (n * (n + 1))
    return fed_steps(n, bound)


def fed(u, h, taus, cycles):
    n = u.size
    s = np.empty(n - 1)
    g = np.empty(n - 1)
    d = np.empty(n)
    norms = np.empty(cycles)
    for c in range(cycles):
        np.subtract(u[1:], u[:-1], out=s)
        s *= 1.0 / h
        np.multiply(s, s, out=g)
        g *= 1.0 / LAMBDA2
        g += 1.0
        np.divide(1.0, g, out=g)  # Phi(s)/s, frozen for the cycle
        for tau in taus:
            np.subtract(u[1:], u[:-1], out=s)
            s *= 1.0 / h
            s *= g
            d[0] = -s[0]
            np.subtract(s[:-1], s[1:], out=d[1:-1])
            d[-1] = s[-1]
            d *= tau / h
            u -= d
        norms[c] = math.sqrt(np.dot(u, u))
    return u, norms


def t_end_of(scheme, n, explicit_steps, fed_scale):
    """explicit_steps steps at tau_max; FED runs fed_scale times as long."""
    return explicit_steps * tau_max(n) * (fed_scale if scheme == "fed" else 1)


def run_numpy(scheme, n, explicit_steps, cycles, fed_scale):
    u, h = initial(n)
    tmax = tau_max(n)
    t_end = t_end_of(scheme, n, explicit_steps, fed_scale)
    start = time.perf_counter()
    if scheme == "explicit":
        u, norms = explicit(u, h, t_end / explicit_steps, explicit_steps)
        steps = explicit_steps
    else:
        taus = fed_plan(t_end / cycles, tmax)
        start = time.perf_counter()
        u, norms = fed(u, h, taus, cycles)
        steps = len(taus) * cycles
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "steps": steps, "norm_last": float(norms[-1])}


def run_pdec(pdec, scheme, n, explicit_steps, cycles, fed_scale):
    t_end = t_end_of(scheme, n, explicit_steps, fed_scale)
    cmd = [pdec, "simulate", EXAMPLE, "--scheme", scheme, "--grid", str(n), "--t-end", repr(t_end), "--json"]
    if scheme == "fed":
        cmd += ["--cycles", str(cycles)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    r = json.loads(out)
    return {"seconds": r["seconds"], "steps": r["steps"], "norm_last": r["norm_last"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pdec", help="pdec binary: alternate pdec and NumPy rounds")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--grids", default="10000,100000,1000000")
    ap.add_argument("--steps", default="4000,400,40", help="explicit steps per grid")
    ap.add_argument("--cycles", type=int, default=4)
    ap.add_argument(
        "--fed-scale",
        type=float,
        default=1.0,
        help="FED's t_end as a multiple of the explicit run's (more steps per cycle)",
    )
    args = ap.parse_args()
    grids = [int(g) for g in args.grids.split(",")]
    steps = [int(s) for s in args.steps.split(",")]
    print(f"numpy {np.__version__}, python {sys.version.split()[0]}")
    print("scheme    grid       steps  pdec steps/s  numpy steps/s  ratio (median of rounds)  norms pdec / numpy")
    for scheme in ["explicit", "fed"]:
        for n, k in zip(grids, steps):
            ratios, pdec_rates, numpy_rates = [], [], []
            last = None
            for _ in range(args.rounds):
                if args.pdec:
                    p = run_pdec(args.pdec, scheme, n, k, args.cycles, args.fed_scale)
                    pdec_rates.append(p["steps"] / p["seconds"])
                q = run_numpy(scheme, n, k, args.cycles, args.fed_scale)
                numpy_rates.append(q["steps"] / q["seconds"])
                if args.pdec:
                    ratios.append(pdec_rates[-1] / numpy_rates[-1])
                    last = (p, q)
            if args.pdec:
                p, q = last
                assert p["steps"] == q["steps"], (p, q)
                print(
                    f"{scheme:<9} {n:<9} {q['steps']:>6}  {statistics.median(pdec_rates):>12.4g}"
                    f"  {statistics.median(numpy_rates):>13.4g}  {statistics.median(ratios):>6.2f}"
                    f" ({' '.join(f'{r:.2f}' for r in ratios)})  {p['norm_last']:.12g} / {q['norm_last']:.12g}"
                )
            else:
                print(f"{scheme:<9} {n:<9} {q['steps']:>6}  {'':>12}  {statistics.median(numpy_rates):>13.4g}")


if __name__ == "__main__":
    main()
