"""The pandas baseline, run as a child of ingest.py: read_csv + DataFrame.to_sql.

    python bench/pandas_load.py METRICS_CSV DATABASE_URL --rows N --chunksize 5000 --method multi

Reads the first N rows (the whole file if smaller) with pandas' default type inference and
writes them with `to_sql` into a new table `metrics_pandas` (no index column). Prints one
JSON line: rows, read seconds, write seconds.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd
from sqlalchemy import create_engine


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("metrics_csv", type=Path)
    parser.add_argument("database_url")
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--chunksize", type=int, default=5000)
    parser.add_argument("--method", choices=["multi", "default"], default="multi")
    args = parser.parse_args()

    started = time.perf_counter()
    frame = pd.read_csv(args.metrics_csv, nrows=args.rows)
    read_s = time.perf_counter() - started

    engine = create_engine(args.database_url)
    started = time.perf_counter()
    frame.to_sql(
        "metrics_pandas",
        engine,
        if_exists="replace",
        index=False,
        chunksize=args.chunksize,
        method="multi" if args.method == "multi" else None,
    )
    write_s = time.perf_counter() - started
    engine.dispose()
    print(json.dumps({"rows": len(frame), "read_s": read_s, "write_s": write_s}))


if __name__ == "__main__":
    main()
