#!/usr/bin/env bash
# Deep network (mlp) Adam epochs: pdec against JAX on the same machine, in
# alternating rounds, for two network sizes.
#
#   Each round runs one pdec process,
#     pdec solve examples/poisson2d_mlp.pde --train adam --lr 1e-3 --epochs E
#          --width W --depth D --json --quiet
#   (seconds per epoch = train_seconds / iterations, so start-up and JIT
#   compilation are excluded), then one JAX process,
#     mlp_adam.py --width W --depth D --epochs E --repeats 1
#   (compilation and 20 warm-up epochs excluded). Both under
#   /usr/bin/time, whose maximum resident set size is the peak memory of
#   the whole process. Sizes: 32 x 3 (the issue's problem) and 128 x 4.
#   Prints per size the medians, the ratio of the medians
#   (jax / pdec seconds per epoch: above 1 means pdec is faster) and the
#   median of the rounds' ratios.
#
# Run:  PEER_PYTHON=VENV/bin/python benches/peers/mlp_compare.sh
#
# Environment:
#   PEER_PYTHON   Python with jax (default python3)
#   ROUNDS        rounds per size (default 3)
#   EPOCHS        epochs timed per run for 32 x 3 (default 500)
#   EPOCHS_LARGE  epochs timed per run for 128 x 4 (default 100)
#   CARGO_TARGET_DIR respected by the build; pdec is $CARGO_TARGET_DIR/release/pdec
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

python="${PEER_PYTHON:-python3}"
rounds="${ROUNDS:-3}"
epochs_small="${EPOCHS:-500}"
epochs_large="${EPOCHS_LARGE:-100}"

if ! "$python" -c 'import jax' 2>/dev/null; then
    echo "error: '$python' cannot import jax; set PEER_PYTHON." >&2
    exit 1
fi
if [[ ! -x /usr/bin/time ]]; then
    echo "error: /usr/bin/time (GNU time) is needed for the peak memory." >&2
    exit 1
fi

cargo build --release
pdec="${CARGO_TARGET_DIR:-target}/release/pdec"

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

for size in "32 3 $epochs_small" "128 4 $epochs_large"; do
    read -r width depth epochs <<< "$size"
    for round in $(seq "$rounds"); do
        echo "== mlp ${width}x${depth}, round $round of $rounds ($epochs epochs): pdec, then jax" >&2
        /usr/bin/time -f '%M' -o "$out/rss" "$pdec" solve examples/poisson2d_mlp.pde \
            --train adam --lr 1e-3 --epochs "$epochs" --width "$width" --depth "$depth" \
            --json --quiet > "$out/pdec.json"
        echo "pdec $width $depth $(tail -n 1 "$out/rss") $(tr -d '\n' < "$out/pdec.json")" >> "$out/runs"
        (cd benches/peers && /usr/bin/time -f '%M' -o "$out/rss" "$python" mlp_adam.py \
            --width "$width" --depth "$depth" --epochs "$epochs" --repeats 1) > "$out/jax.log"
        echo "jax $width $depth $(tail -n 1 "$out/rss") $(grep '^{' "$out/jax.log")" >> "$out/runs"
        tail -n 2 "$out/runs" | cut -c1-160 >&2
    done
done

"$python" - "$out/runs" <<'PY'
import json, statistics, sys

rows = {}
for line in open(sys.argv[1]):
    peer, width, depth, rss, data = line.split(" ", 4)
    d = json.loads(data)
    if peer == "pdec":
        per_epoch = d["train_seconds"] / d["iterations"]
        error = d["errors"][0]["relative_l2"]
    else:
        per_epoch = d["seconds_per_epoch"]
        error = d["relative_l2"]
    rows.setdefault((int(width), int(depth)), {}).setdefault(peer, []).append(
        (per_epoch, int(rss) / 1024, error))

print("| mlp | pdec ms/epoch (median) | JAX ms/epoch (median) | ratio of medians | median of round ratios | pdec peak MiB | JAX peak MiB |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
for (width, depth), r in sorted(rows.items()):
    p = [x[0] for x in r["pdec"]]
    j = [x[0] for x in r["jax"]]
    ratios = [b / a for a, b in zip(p, j)]
    print(f"| {width} x {depth} | {statistics.median(p) * 1e3:.2f} | {statistics.median(j) * 1e3:.2f} | "
          f"{statistics.median(j) / statistics.median(p):.2f} | {statistics.median(ratios):.2f} | "
          f"{max(x[1] for x in r['pdec']):.0f} | {max(x[1] for x in r['jax']):.0f} |")
    print(f"  rounds: pdec {[round(x * 1e3, 2) for x in p]} ms, jax {[round(x * 1e3, 2) for x in j]} ms")
PY
