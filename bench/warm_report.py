"""Markdown tables of a bench/warm.py report: every ratio from the same run."""

from __future__ import annotations

from typing import Any

import benchlib as lib
from serving import find, line, ratio, rps

CACHES = ("in-process", "redis")
ENDPOINTS = ("performance", "top", "anomalies")


def cells(row: dict[str, Any] | None, floor: float | None) -> list[Any]:
    if row is None:
        return ["FAILED", "-", "-", "-", "-", "-", "-"]
    hit = row.get("hit_share")
    return [
        lib.fmt(row["rps"]),
        ratio(row["rps"], floor),
        lib.sig(row["p50_ms"]),
        lib.sig(row["p99_ms"]),
        "-" if hit is None else f"{hit:.1%}",
        row.get("server_cpu_ms_per_request") or "-",
        row["load_average"][0],
    ]


HEAD = "req/s | / floor | p50 ms | p99 ms | hits | server CPU ms/answer | load avg |"


def pg_tables(rows: list[dict[str, Any]], workers: list[int]) -> list[str]:
    out = ["| target | endpoint | workers | " + HEAD, "|---|---|---:|" + "---:|" * 7]
    for count in workers:
        floor_row = find(rows, "http-floor", "hello", count)
        floor = rps(floor_row)
        out.append(line(["hello floor", "-", count, *cells(floor_row, floor)]))
        for cache in CACHES:
            for endpoint in ENDPOINTS:
                row = find(rows, f"ours-pg-{cache}", endpoint, count)
                out.append(line([f"cache {cache}", endpoint, count, *cells(row, floor)]))
    if len(workers) >= 2:
        low, high = workers[0], workers[1]
        out += ["", f"| target | endpoint | req/s, {high} workers / {low} |", "|---|---|---:|"]
        pairs = [("http-floor", "hello")]
        pairs += [(f"ours-pg-{cache}", e) for cache in CACHES for e in ENDPOINTS]
        for target, endpoint in pairs:
            both = ratio(
                rps(find(rows, target, endpoint, high)), rps(find(rows, target, endpoint, low))
            )
            out.append(f"| {target} | {endpoint} | {both} |")
    return out


def embedded_table(rows: list[dict[str, Any]]) -> list[str]:
    floor_row = find(rows, "embedded-http-floor", "hello", 1)
    if floor_row is None:
        return []
    floor = rps(floor_row)
    out = ["", "| embedded (`make run`) | endpoint | " + HEAD, "|---|---|" + "---:|" * 7]
    out.append(line(["hello floor", "-", *cells(floor_row, floor)]))
    for mode in ("cold", "warm"):
        for endpoint in ("health", *ENDPOINTS):
            row = find(rows, f"embedded-{mode}", endpoint, 1)
            if row is not None:
                out.append(line([mode, endpoint, *cells(row, floor)]))
    return out


def stale_table(checks: list[dict[str, Any]]) -> list[str]:
    if not checks:
        return []
    out = ["", "| cache | workers | answers checked | sent after commit | stale | wrong |"]
    out[-1] += " commit window ms | load s | commit at (s of wrk's) | wrk req/s (hits) |"
    out[-1] += " wrk p99 ms | load avg |"
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for check in checks:
        during = check.get("wrk")
        wrk = "-" if during is None else f"{lib.fmt(during['rps'])} ({during['hit_share']:.2%})"
        out.append(
            line(
                [
                    check["cache"],
                    check["workers"],
                    check["answers"],
                    check["sent_after_commit"],
                    check["stale"],
                    check["wrong"],
                    check["commit_window_ms"],
                    check["load_seconds"],
                    f"{check['commit_after_wrk_start_s']} of {check['wrk_seconds']}",
                    wrk,
                    "-" if during is None else lib.sig(during["p99_ms"]),
                    check["load_average"][0],
                ]
            )
        )
    return out


def tables(report: dict[str, Any]) -> str:
    rows = report["results"]
    pg = [row for row in rows if not row["target"].startswith("embedded")]
    out = pg_tables(rows, report["settings"]["workers"]) if pg else []
    out += embedded_table(rows) + stale_table(report["stale_checks"])
    return "\n".join(out)
