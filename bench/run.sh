#!/usr/bin/env bash
# `make bench [SCALE=small|1m|20m]`: every step of BENCHMARKS.md at one scale, each step a
# separate command well under 10 minutes. Results in bench/out/, charts in bench/charts/.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
SCALE=${1:-small}
case "$SCALE" in
    small) ROWS=100000 ;;
    1m) ROWS=1000000 ;;
    20m) ROWS=20000000 ;;
    *) echo "SCALE must be small, 1m or 20m" >&2; exit 2 ;;
esac
DURATION=${DURATION:-10}
DATA=bench/out/data-$SCALE
TAG=$(echo "$SCALE" | tr '[:upper:]' '[:lower:]')

command -v wrk >/dev/null || { echo "wrk is needed: apt-get install -y wrk" >&2; exit 2; }
[ -f "$DATA/campaign_daily_metrics.csv" ] || "$PY" bench/generate.py "$DATA" --rows "$ROWS"

for step in floor ours-pg ours-duckdb pandas; do
    "$PY" bench/ingest.py "$DATA" --only "$step" --keep
done

KEPT=(--pg-url "postgresql+psycopg://postgres@127.0.0.1:5432/bench_ingest_ours_$TAG"
      --duckdb-file "bench/out/work/bench_ingest_$TAG.duckdb")
for targets in http-floor,db-floor ours-pg ours-duckdb,naive; do
    "$PY" bench/api.py "$DATA" "${KEPT[@]}" --only "$targets" --duration "$DURATION"
done
"$PY" bench/report.py
