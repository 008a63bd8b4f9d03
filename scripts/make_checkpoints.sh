#!/usr/bin/env bash
# Reproduce the bundled checkpoints (`make checkpoints`): for each preset, train it from scratch
# with the project's own CLI, measure it with `playground eval --json`, and write its model card
# (checkpoints/<name>.md) from those measurements.
#
#   scripts/make_checkpoints.sh                 # all five
#   scripts/make_checkpoints.sh ring8 grid25    # only these
#
# The recipe of each is its preset in playground/presets.py; the only flags added here are the seed
# and one torch thread: on the CPU a run is bit-identical for the same config, seed and thread
# count (a GAN turns the different summation order of another thread count into a different
# model), so one thread reproduces the bundled files wherever the torch build is the same.
# Run it on a quiet machine: the cards record the wall time and the load average around it.
# Exits non-zero if a checkpoint misses one of its bars (the card still gets written).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
NAMES=("$@")
[ ${#NAMES[@]} -eq 0 ] && NAMES=(ring8 grid25 mnist-mlp mnist-dcgan mnist-cgan)

seed_for() {  # the seed each bundled checkpoint was trained with (the preset's own default: 0)
  case "$1" in
    *) echo 0 ;;
  esac
}

loadavg() { cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?"; }

status=0
metrics=$(mktemp)
trap 'rm -f "$metrics"' EXIT
for name in "${NAMES[@]}"; do
  out="checkpoints/$name.safetensors"
  seed=$(seed_for "$name")
  command="python -m playground train --preset $name --seed $seed --threads 1 --slim --out $out"
  echo "== $name: $command"
  before=$(loadavg)
  start=$(date +%s.%N)
  "$PY" -m playground train --preset "$name" --seed "$seed" --threads 1 --slim --out "$out" --quiet
  end=$(date +%s.%N)
  after=$(loadavg)
  "$PY" -m playground eval --checkpoint "$out" --json > "$metrics"
  wall=$("$PY" -c "print(round($end - $start, 1))")
  "$PY" scripts/checkpoint_card.py --name "$name" --metrics "$metrics" --wall-s "$wall" \
    --load-before "$before" --load-after "$after" --command "$command" || status=1
  size=$(stat -c %s "$out")
  if [ "$size" -gt 5000000 ]; then
    echo "$out is $size bytes: over the 5 MB limit for bundled checkpoints" >&2
    status=1
  fi
done
exit $status
