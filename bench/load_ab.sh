#!/usr/bin/env bash
# Web chat under load, several servers one after the other in one run (ratios side by side):
# each variant is LABEL:SRC:CONCURRENCY — the poleqa source folder to serve (another checkout's
# src/ to compare with an older version) and `poleqa serve --concurrency`.
#
#   bash bench/load_ab.sh before:/tmp/old/src:4 after:src:4 after:src:8
#
# Each server serves the shipped corpus with the default reader on port 7870, is asked one
# question until it answers (its models are then loaded), then bench/bench_load.py runs its 20
# clients for DURATION seconds (default 60). Run it with nothing else busy.
set -euo pipefail
PY=${PYTHON:-python}
DURATION=${DURATION:-60}
PORT=7870
for variant in "$@"; do
  IFS=: read -r label src concurrency <<<"$variant"
  PYTHONPATH="$src" POLEQA_CONCURRENCY="$concurrency" GRADIO_ANALYTICS_ENABLED=False \
    $PY app.py --port "$PORT" >"/tmp/load_ab_$label.log" 2>&1 &
  server=$!
  trap 'kill $server 2>/dev/null || true' EXIT
  for _ in $(seq 1 180); do  # up to 6 min: a first start may prepare the model and index
    if $PY bench/bench_load.py --url "http://127.0.0.1:$PORT/" --clients 1 --duration 1 \
      >/dev/null 2>&1; then break; fi
    sleep 2
  done
  echo "## $label (src $src, concurrency $concurrency)"
  $PY bench/bench_load.py --url "http://127.0.0.1:$PORT/" --duration "$DURATION"
  kill "$server"
  wait "$server" 2>/dev/null || true
done
