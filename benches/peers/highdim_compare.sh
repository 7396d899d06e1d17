#!/usr/bin/env bash
# High-dimensional Poisson problem (the Stein-smoothing paper's): Adam
# epochs of pdec against JAX on the same machine, in alternating rounds,
# for each dimension d and each diff mode.
#
#   Problem: lap(u) = -sin(sum(x)) on [0, 1]^d, u = sin(sum(x))/d on the
#   boundary (weight 100), mlp width 256, depth 4, tanh, 100 interior and
#   100 boundary points (fixed), Adam lr 1e-3. Diff modes: ad (pdec: the
#   collapsed forward-Laplacian jet; JAX: jvp of grad along each unit
#   vector), fd (the 2d + 1 point stencil, h = 1e-3, in both), stein
#   (antithetic, sigma 1e-2, SAMPLES samples per point and epoch, in both;
#   both smooth the boundary rows too).
#
#   Each round runs one pdec process on a generated .pde file,
#     pdec solve FILE --json --quiet
#   (seconds per epoch = train_seconds / iterations: start-up and JIT
#   compilation are excluded, the first epoch's buffer allocation is not),
#   then one JAX process,
#     highdim_adam.py --dim D --diff MODE --epochs E
#   (compilation and 2 warm-up epochs excluded). Both under /usr/bin/time,
#   whose maximum resident set size is the peak memory of the process.
#   Prints per (d, mode) the medians, the ratio of the medians (JAX / pdec
#   seconds per epoch: above 1 means pdec is faster), the median of the
#   rounds' ratios and both peak memories.
#
# Run:  PEER_PYTHON=VENV/bin/python benches/peers/highdim_compare.sh
#
# Environment:
#   PEER_PYTHON   Python with jax (default python3)
#   ROUNDS        rounds per case (default 3)
#   DIMS          dimensions (default "10 100 250")
#   DIFFS         diff modes (default "ad fd stein")
#   EPOCHS        epochs timed per run for ad and fd (default 5)
#   EPOCHS_STEIN  epochs timed per run for stein (default 2)
#   SAMPLES       Stein samples per point (default 128)
#   WIDTH, DEPTH, POINTS  network and point counts (default 256, 4, 100)
#   CARGO_TARGET_DIR respected by the build; pdec is $CARGO_TARGET_DIR/release/pdec
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

python="${PEER_PYTHON:-python3}"
rounds="${ROUNDS:-3}"
dims="${DIMS:-10 100 250}"
diffs="${DIFFS:-ad fd stein}"
epochs="${EPOCHS:-5}"
epochs_stein="${EPOCHS_STEIN:-2}"
samples="${SAMPLES:-128}"
width="${WIDTH:-256}"
depth="${DEPTH:-4}"
points="${POINTS:-100}"

if ! "$python" -c 'import jax' 2>/dev/null; then
    echo "error: '$python' cannot import jax; set PEER_PYTHON." >&2
    exit 1
fi
if [[ ! -x /usr/bin/time ]]; then
    echo "error: /usr/bin/time (GNU time) is needed for the peak memory." >&2
    exit 1
fi

cargo build --release
pdec="$(cd "${CARGO_TARGET_DIR:-target}" && pwd)/release/pdec"

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

# The problem for pdec at dimension $1, diff mode $2, $3 epochs.
write_problem() {
    local diff
    case "$2" in
        ad) diff="ad" ;;
        fd) diff="fd(h = 1e-3, order = 2)" ;;
        stein) diff="stein(sigma = 1e-2, samples = $samples, estimator = antithetic, eval_samples = 2, seed = 0)" ;;
        *) echo "error: unknown diff mode $2" >&2; exit 1 ;;
    esac
    cat <<EOF
problem "Poisson on [0, 1]^$1 (speed against JAX)"
const    n = $1
domain   x in [0, 1]^n
unknown  u
equation lap(u) = -sin(sum(x))
bc       u = sin(sum(x))/n on boundary weight 100
ansatz   mlp(width = $width, depth = $depth, activation = tanh, seed = 0)
sample   interior = random($points), boundary = random($points)
diff     $diff
train    adam(lr = 1e-3, epochs = $3)
EOF
}

for d in $dims; do
    for mode in $diffs; do
        e="$epochs"
        [[ "$mode" == stein ]] && e="$epochs_stein"
        write_problem "$d" "$mode" "$e" > "$out/problem.pde"
        for round in $(seq "$rounds"); do
            echo "== d = $d, $mode, round $round of $rounds ($e epochs): pdec, then jax" >&2
            /usr/bin/time -f '%M' -o "$out/rss" "$pdec" solve "$out/problem.pde" \
                --json --quiet > "$out/pdec.json"
            echo "pdec $d $mode $(tail -n 1 "$out/rss") $(tr -d '\n' < "$out/pdec.json")" >> "$out/runs"
            (cd benches/peers && /usr/bin/time -f '%M' -o "$out/rss" "$python" highdim_adam.py \
                --dim "$d" --diff "$mode" --epochs "$e" --samples "$samples" \
                --width "$width" --depth "$depth" --points "$points") > "$out/jax.log"
            echo "jax $d $mode $(tail -n 1 "$out/rss") $(grep '^{' "$out/jax.log")" >> "$out/runs"
            tail -n 2 "$out/runs" | cut -c1-160 >&2
        done
    done
done

"$python" - "$out/runs" <<'PY'
import json, statistics, sys

rows = {}
for line in open(sys.argv[1]):
    peer, d, mode, rss, data = line.split(" ", 4)
    data = json.loads(data)
    if peer == "pdec":
        per_epoch = data["train_seconds"] / data["iterations"]
    else:
        per_epoch = data["seconds_per_epoch"]
    rows.setdefault((mode, int(d)), {}).setdefault(peer, []).append((per_epoch, int(rss) / 1024))

print("| diff | d | pdec s/epoch (median) | JAX s/epoch (median) | ratio of medians | median of round ratios | pdec peak MiB | JAX peak MiB |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for (mode, d), r in sorted(rows.items()):
    p = [x[0] for x in r["pdec"]]
    j = [x[0] for x in r["jax"]]
    ratios = [b / a for a, b in zip(p, j)]
    print(f"| {mode} | {d} | {statistics.median(p):.4f} | {statistics.median(j):.4f} | "
          f"{statistics.median(j) / statistics.median(p):.2f} | {statistics.median(ratios):.2f} | "
          f"{max(x[1] for x in r['pdec']):.0f} | {max(x[1] for x in r['jax']):.0f} |")
    print(f"  rounds: pdec {[round(x, 4) for x in p]} s, jax {[round(x, 4) for x in j]} s")
PY
