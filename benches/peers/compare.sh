#!/usr/bin/env bash
# Runs pdec and its Python peers on the same machine and prints both.
#
#   1. Random feature least squares (examples/poisson2d.pde) against
#      NumPy's lstsq (gelsd) and SciPy's gelsy: ratio peer_total / pdec_total,
#      in rounds that alternate pdec and the peers; the ratio of the medians
#      and the median of the rounds' ratios.
#   2. Two-layer network with full-batch Adam against JAX:
#      ratio jax_seconds_per_epoch / pdec_seconds_per_epoch. pdec gets
#      --epochs, --lr 1e-3 and --weight bc=1 on the command line, the
#      settings of the JAX peer, whatever the example file says.
#
# Setup (once): python3 -m venv VENV && VENV/bin/pip install -r benches/peers/requirements.txt
# Run:          PEER_PYTHON=VENV/bin/python benches/peers/compare.sh
#
# Environment:
#   PEER_PYTHON      Python with the packages of requirements.txt (default python3)
#   SHALLOW_EXAMPLE  the Adam problem (default examples/poisson2d_shallow.pde)
#   EPOCHS           Adam epochs timed per run (default 2000)
#   REPEATS          pdec runs per comparison (default 5 for lstsq, 3 for Adam)
#   CARGO_TARGET_DIR respected by the build; pdec is $CARGO_TARGET_DIR/release/pdec
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

python="${PEER_PYTHON:-python3}"
shallow="${SHALLOW_EXAMPLE:-examples/poisson2d_shallow.pde}"
epochs="${EPOCHS:-2000}"
lstsq_repeats="${REPEATS:-5}"
adam_repeats="${REPEATS:-3}"

if ! "$python" -c 'import numpy, scipy, jax, threadpoolctl' 2>/dev/null; then
    echo "error: '$python' cannot import numpy, scipy, jax and threadpoolctl." >&2
    echo "Create a virtualenv with benches/peers/requirements.txt and set PEER_PYTHON to its python." >&2
    exit 1
fi
if [[ ! -f "$shallow" ]]; then
    echo "error: Adam problem '$shallow' not found; set SHALLOW_EXAMPLE to a .pde file." >&2
    exit 1
fi

cargo build --release
pdec="${CARGO_TARGET_DIR:-target}/release/pdec"

# The peers run with numpy's OpenBLAS at its best: this machine may set
# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE (they keep OpenBLAS off its AVX-512
# kernels, which faer uses), so they are unset for the peers' commands alone.
# rfm_lstsq.py prints the kernel threadpoolctl reports (e.g. SkylakeX).
peer=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$python")

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

# Rounds alternate pdec and the peers, so that a drift of the machine's
# speed hits both alike; each round is one pdec process and one timed
# peer run after an untimed one.
for round in $(seq "$lstsq_repeats"); do
    echo "== lstsq round $round of $lstsq_repeats: pdec, then numpy / scipy" >&2
    "$pdec" solve examples/poisson2d.pde --json --quiet >> "$out/pdec_lstsq.jsonl"
    "${peer[@]}" benches/peers/rfm_lstsq.py --repeats 1 --warmup 1 | tee -a "$out/numpy.log" >&2
done

# Adam: rounds of one pdec process and one JAX process (each JAX run times
# its epochs after compiling and warming up).
for round in $(seq "$adam_repeats"); do
    echo "== adam round $round of $adam_repeats ($epochs epochs): pdec, then jax" >&2
    "$pdec" solve "$shallow" --json --quiet --epochs "$epochs" --lr 1e-3 --weight bc=1 >> "$out/pdec_adam.jsonl"
    "${peer[@]}" benches/peers/shallow_adam.py --epochs "$epochs" --repeats 1 | tee -a "$out/jax.log" >&2
done

"$python" benches/peers/report.py "$out" "$epochs"
