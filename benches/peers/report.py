"""Prints the comparison tables from the outputs that compare.sh collects.

Usage: report.py DIR EPOCHS, where DIR holds pdec_lstsq.jsonl and
pdec_adam.jsonl (one `pdec solve --json` object a line) and numpy.log and
jax.log (the peers' output, whose JSON lines start with '{').
"""

import json
import statistics
import sys
from pathlib import Path


def json_lines(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]


def median_run(runs, key):
    """The run whose key(run) is the median (the lower one for an even count)."""
    return sorted(runs, key=key)[(len(runs) - 1) // 2]


def main():
    out, epochs = Path(sys.argv[1]), int(sys.argv[2])

    pdec_lstsq = json_lines(out / "pdec_lstsq.jsonl")
    pdec_total = lambda r: r["assembly_seconds"] + r["train_seconds"]
    pdec = median_run(pdec_lstsq, pdec_total)
    peer_runs = {}
    for p in json_lines(out / "numpy.log"):
        peer_runs.setdefault(p["peer"], []).append(p)
    peers = {name: median_run(runs, lambda r: r["total_seconds"]) for name, runs in peer_runs.items()}

    kernels = sorted({line.split("(")[1].split(")")[0]
                      for line in (out / "numpy.log").read_text().splitlines()
                      if line.startswith("BLAS:") and "(" in line})
    print(f"\nnumpy's BLAS kernel (threadpoolctl): {', '.join(kernels) or 'unknown'}")
    if any(k.lower() == "haswell" for k in kernels):
        print("warning: OpenBLAS ran its Haswell kernels; on an AVX-512 machine the peer is not at its best")
    print(f"\nRandom feature least squares, Poisson 2-D (3840 x 1600), median of {len(pdec_lstsq)} rounds")
    print(f"{'':24}{'assembly s':>12}{'solve s':>10}{'total s':>10}{'rel. L2':>11}{'peer/pdec':>11}")
    print(f"{'pdec lstsq':24}{pdec['assembly_seconds']:12.4f}{pdec['train_seconds']:10.4f}"
          f"{pdec_total(pdec):10.4f}{pdec['errors'][0]['relative_l2']:11.2e}{'':>11}")
    for name, label in [("numpy", "numpy lstsq (gelsd)"), ("scipy-gelsy", "scipy lstsq (gelsy)")]:
        p = peers[name]
        print(f"{label:24}{p['assembly_seconds']:12.4f}{p['solve_seconds']:10.4f}{p['total_seconds']:10.4f}"
              f"{p['relative_l2']:11.2e}{p['total_seconds'] / pdec_total(pdec):11.2f}")
    # Round by round: pdec and the peer measured back to back.
    ratios = [n["total_seconds"] / pdec_total(r) for n, r in zip(peer_runs["numpy"], pdec_lstsq)]
    print(f"numpy_total / pdec_total = {peers['numpy']['total_seconds'] / pdec_total(pdec):.2f}"
          f"  (BLAS threads: {peers['numpy']['blas_threads']})")
    print(f"per round: {' '.join(f'{x:.2f}' for x in ratios)}; median {statistics.median(ratios):.2f}")

    pdec_adam = json_lines(out / "pdec_adam.jsonl")
    adam = median_run(pdec_adam, lambda r: r["train_seconds"])
    pdec_epoch = adam["train_seconds"] / epochs
    jax_runs = json_lines(out / "jax.log")
    jax_run = median_run(jax_runs, lambda r: r["seconds_per_epoch"])

    print(f"\nTwo-layer network (width 100), full-batch Adam, {epochs} epochs, median of {len(pdec_adam)} rounds")
    print(f"pdec: {adam['ansatz']}, {adam['train']}, "
          f"{adam['points']['interior']} + {adam['points']['boundary']} points")
    print(f"{'':24}{'ms/epoch':>12}{'final loss':>12}{'rel. L2':>11}")
    print(f"{'pdec':24}{pdec_epoch * 1e3:12.4f}{adam['final_loss']:12.4e}{adam['errors'][0]['relative_l2']:11.2e}")
    print(f"{'jax ' + jax_run['jax_version'] + ' (jit)':24}{jax_run['seconds_per_epoch'] * 1e3:12.4f}"
          f"{jax_run['final_loss']:12.4e}{jax_run['relative_l2']:11.2e}")
    print(f"jax_seconds_per_epoch / pdec_seconds_per_epoch = {jax_run['seconds_per_epoch'] / pdec_epoch:.2f}")
    ratios = [j["seconds_per_epoch"] / (r["train_seconds"] / epochs) for j, r in zip(jax_runs, pdec_adam)]
    print(f"per round: {' '.join(f'{x:.2f}' for x in ratios)}; median {statistics.median(ratios):.2f}")

if __name__ == "__main__":
    main()
