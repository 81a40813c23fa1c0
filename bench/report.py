"""Charts and Markdown tables from the benchmark results, for BENCHMARKS.md.

    python bench/report.py [--out-dir bench/out] [--charts-dir bench/charts]
    python bench/report.py --smoke      # the smoke results: bench/out/smoke → …/smoke/charts

Reads every ingest-<scale>.json and api-<scale>.json of --out-dir and writes, per scale:
  ingest-<scale>.png          rows/s of each ingest path, with the floor marked
  api-<scale>-throughput.png  req/s vs connections, one panel per endpoint
  api-<scale>-p99.png         p99 latency vs connections, one panel per endpoint
then prints the Markdown tables (and the chart links) to paste into BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

sys.path.insert(0, str(Path(__file__).resolve().parent))
import api
import benchlib as lib
import ingest

STYLE = {
    "http-floor": {"color": "0.55", "linestyle": ":", "marker": "s", "label": "HTTP floor"},
    "db-floor": {"color": "0.3", "linestyle": "--", "marker": "D", "label": "DB floor (pgbench)"},
    "ours-pg": {"color": "tab:blue", "linestyle": "-", "marker": "o", "label": "ours, PostgreSQL"},
    "ours-duckdb": {
        "color": "tab:orange",
        "linestyle": "-",
        "marker": "o",
        "label": "ours, DuckDB",
    },
    "naive": {"color": "tab:red", "linestyle": "none", "marker": "X", "label": "naive (CSV)"},
}


# --------------------------------------------------------------------------- charts


def series(results: list[dict], target: str, endpoint: str, metric: str) -> tuple[list, list]:
    points = sorted(
        (r["connections"], r[metric])
        for r in results
        if r.get("ok")
        and r["target"] == target
        and r["endpoint"] == endpoint
        and r.get(metric) is not None
    )
    return [c for c, _ in points], [v for _, v in points]


def api_chart(report: dict[str, Any], metric: str, ylabel: str, path: Path) -> Path:
    results = report.get("results", [])
    endpoints = [e for e in api.ENDPOINTS if any(r["endpoint"] == e for r in results)]
    if not endpoints:
        return path
    figure, axes = plt.subplots(1, len(endpoints), figsize=(5 * len(endpoints), 4), squeeze=False)
    for axis, endpoint in zip(axes[0], endpoints, strict=True):
        for target, style in STYLE.items():
            wanted = "hello" if target == "http-floor" else endpoint
            x, y = series(results, target, wanted, metric)
            if x:
                axis.plot(x, y, **style)
        axis.set_title(api.ENDPOINTS[endpoint][0], fontsize=10)
        axis.set_xscale("log", base=2)
        connections = sorted({r["connections"] for r in results})
        axis.set_xticks(connections, [str(c) for c in connections])
        axis.minorticks_off()
        axis.set_yscale("log")
        axis.set_xlabel("concurrent connections")
        axis.set_ylabel(ylabel)
        axis.grid(True, which="both", alpha=0.3)
    axes[0][0].legend(fontsize=8)
    figure.suptitle(f"API, {report['scale']} rows ({report['rows']:,}) — {ylabel}")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def ingest_chart(report: dict[str, Any], path: Path) -> Path:
    steps = [report["steps"][s] for s in ingest.STEPS if s in report["steps"]]
    steps = [s for s in steps if s.get("rows_per_s")]
    if not steps:
        return path
    figure, axis = plt.subplots(figsize=(8, 0.6 * len(steps) + 1.5))
    labels = [s["label"] + (" (extrapolated)" if s.get("extrapolated") else "") for s in steps]
    rates = [s["rows_per_s"] for s in steps]
    bars = axis.barh(
        labels, rates, color=["0.55" if s["step"] == "floor" else "tab:blue" for s in steps]
    )
    for bar, step in zip(bars, steps, strict=True):
        if step.get("extrapolated"):
            bar.set_hatch("//")
    floor = report["steps"].get("floor", {}).get("rows_per_s")
    if floor:
        axis.axvline(floor, color="0.3", linestyle="--", label="floor")
        for bar, rate in zip(bars, rates, strict=True):
            axis.text(
                bar.get_width(),
                bar.get_y() + bar.get_height() / 2,
                f" {rate:,.0f} ({rate / floor:.2f}x floor)",
                va="center",
                fontsize=8,
            )
    axis.invert_yaxis()
    axis.set_xlabel("rows/s")
    axis.set_xlim(0, max(rates) * 1.6)
    axis.set_title(f"Ingest, {report['scale']} rows ({report['rows']:,})")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


# --------------------------------------------------------------------------- main


def describe(report: dict[str, Any]) -> str:
    machine = report.get("machine", {})
    dirty = " (uncommitted changes)" if machine.get("git_dirty") else ""
    return (
        f"_{machine.get('cpus')} cores, {machine.get('memory_gb')} GB, commit "
        f"`{machine.get('git_commit')}`{dirty}, load average before "
        f"{machine.get('load_average')}, {machine.get('measured_at')}_"
    )


def relative(path: Path, start: Path) -> str:
    return os.path.relpath(path, start)


def build(out_dir: Path, charts_dir: Path) -> list[Path]:
    charts_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for path in sorted(out_dir.glob("ingest-*.json")):
        report = lib.read_json(path)
        chart = ingest_chart(report, charts_dir / f"ingest-{report['scale']}.png")
        written.append(chart)
        print(f"\n### Ingest, {report['scale']} rows ({report['rows']:,})\n")
        print(describe(report) + "\n")
        print(ingest.table(report))
        print(f"\n![ingest]({relative(chart, lib.ROOT)})")
    for path in sorted(out_dir.glob("api-*.json")):
        report = lib.read_json(path)
        scale = report["scale"]
        settings = report.get("settings", {})
        throughput = api_chart(report, "rps", "req/s", charts_dir / f"api-{scale}-throughput.png")
        p99 = api_chart(report, "p99_ms", "p99 latency, ms", charts_dir / f"api-{scale}-p99.png")
        written += [throughput, p99]
        print(f"\n### API, {scale} rows ({report['rows']:,})\n")
        print(describe(report))
        print(f"_settings: {settings}_\n")
        print(api.tables(report))
        print(f"\n![throughput]({relative(throughput, lib.ROOT)})")
        print(f"![p99]({relative(p99, lib.ROOT)})")
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", type=Path, default=lib.OUT_DIR)
    parser.add_argument("--charts-dir", type=Path, default=lib.BENCH_DIR / "charts")
    parser.add_argument("--smoke", action="store_true", help="bench/out/smoke results")
    args = parser.parse_args(argv)
    if args.smoke:
        args.out_dir = lib.OUT_DIR / "smoke"
        args.charts_dir = args.out_dir / "charts"
    if not any(args.out_dir.glob("*-*.json")):
        raise SystemExit(f"no ingest-*.json or api-*.json in {args.out_dir}: run the benchmarks")
    written = build(args.out_dir, args.charts_dir)
    missing = [path for path in written if not path.is_file() or path.stat().st_size == 0]
    if missing:
        raise SystemExit(f"charts not written: {missing}")
    print(f"\n({len(written)} charts in {args.charts_dir})", file=sys.stderr)


if __name__ == "__main__":
    main()
