#!/usr/bin/env bash
# The explorer of an earlier commit against this checkout's, over HTTP, alternated in the
# same minutes (BENCHMARKS.md, "Metrics explorer at 20M rows"):
#
#   bench/explorer_ab.sh BASE_COMMIT BASE_DATABASE DATABASE [ROUNDS] [explorer.py options]
#   e.g. bench/explorer_ab.sh 6f3798c bench_star_20m_before bench_star_20m 2 --workers 2
#
# BASE_DATABASE holds the same data at the schema BASE_COMMIT expects (a copy made with
# `createdb -T DATABASE BASE_DATABASE`, then `analytics migrate --revision R --downgrade`).
# The earlier code is exported (git archive) to a scratch directory and served from this
# venv with PYTHONPATH pointing at it; result cache and rate limits off (every answer made).
set -euo pipefail
cd "$(dirname "$0")/.."
BASE=$1; BASE_DB=$2; DB=$3; ROUNDS=${4:-2}; shift 4 || shift $#
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT
git archive "$BASE" | tar -x -C "$SCRATCH"
export RATE_LIMITS_ENABLED=false CACHE_ENABLED=false
for round in $(seq "$ROUNDS"); do
  for variant in base head; do
    if [ "$variant" = base ]; then database=$BASE_DB; export PYTHONPATH=$SCRATCH/src
    else database=$DB; unset PYTHONPATH; fi
    echo "== round $round, $variant ($database)"
    .venv/bin/python bench/explorer.py --database "$database" --tenant big "$@" 2>&1 \
      | grep '^  {'
  done
done
