#!/usr/bin/env bash
# The loader of an earlier commit against this checkout's, on the same data, one after the
# other, each into a fresh bench_star_ab_* database (migrated, tenant `big`):
#
#   bench/loader_ab.sh BASE_COMMIT DATA_DIR...     # e.g. 3415761 bench/out/data-1m-b
#
# The earlier code is exported (git archive) to a scratch directory and run from this venv
# with PYTHONPATH pointing at it. Prints each load's phases, wall and CPU time, peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
BASE=$1; shift
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT
git archive "$BASE" | tar -x -C "$SCRATCH"
PG=postgresql+psycopg://postgres@127.0.0.1:5432
for data in "$@"; do
  for variant in base head; do
    db=bench_star_ab_${variant}
    psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
    export DATABASE_URL=$PG/$db
    if [ "$variant" = base ]; then export PYTHONPATH=$SCRATCH/src; else unset PYTHONPATH; fi
    .venv/bin/python -m analytics migrate >/dev/null
    .venv/bin/python -m analytics tenants create big >/dev/null
    echo "== $variant ($data) load average before: $(cat /proc/loadavg)"
    /usr/bin/time -f "wall %e s, user %U s, sys %S s, maxrss %M KB" \
      .venv/bin/python -m analytics load "$data" --tenant big 2>&1 | grep -E "took|published '|wall"
    psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE $db"
  done
done
