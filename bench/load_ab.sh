#!/usr/bin/env bash
# Web chat under load, several servers one after the other in one run (ratios side by side):
# each variant is LABEL:SRC:CONCURRENCY[:ENV=VALUE,…] — the poleqa source folder to serve
# (another checkout's src/ to compare with an older version), `poleqa serve --concurrency`, and
# environment settings for that server (e.g. POLEQA_READER_THREADS=1).
#
#   bash bench/load_ab.sh before:/tmp/old/src:4 after:src:4 after1:src:4:POLEQA_READER_THREADS=1
#
# Each server serves the shipped corpus with the default reader on a free port, is asked one
# question until it answers (its models are then loaded; at most 10 minutes), then
# bench/bench_load.py runs its 20 clients for DURATION seconds (default 60), every question new
# (no cache helps). Run it with nothing else busy. The variants share the working tree's index:
# compare sources that read the same index format.
set -euo pipefail
PY=${PYTHON:-python}
DURATION=${DURATION:-60}
PORT=$($PY -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
URL="http://127.0.0.1:$PORT/"
server=
trap '[ -n "$server" ] && kill "$server" 2>/dev/null || true' EXIT
for variant in "$@"; do
  IFS=: read -r label src concurrency envs <<<"$variant"
  log="/tmp/load_ab_$label.log"
  # shellcheck disable=SC2086  # the variant's settings are words for env
  env ${envs//,/ } PYTHONPATH="$src" POLEQA_CONCURRENCY="$concurrency" \
    GRADIO_ANALYTICS_ENABLED=False $PY app.py --port "$PORT" >"$log" 2>&1 &
  server=$!
  deadline=$((SECONDS + 600))
  until $PY bench/bench_load.py --url "$URL" --clients 1 --duration 1 >/dev/null 2>&1; do
    kill -0 "$server" 2>/dev/null || { echo "$label: the server stopped" >&2; tail "$log" >&2; exit 1; }
    [ "$SECONDS" -lt "$deadline" ] || { echo "$label: not ready after 10 min" >&2; exit 1; }
    sleep 2
  done
  echo "## $label (src $src, concurrency $concurrency${envs:+, $envs})"
  $PY bench/bench_load.py --url "$URL" --duration "$DURATION" --distinct || echo "(with errors)"
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  server=
done
