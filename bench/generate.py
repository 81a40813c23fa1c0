"""Generate a deterministic synthetic data directory (CONTRACT.md §1) at any scale.

    python bench/generate.py OUT_DIR --rows 20000000 [--campaigns 2000] [--creators 50000]
                             [--days 365] [--seed 42] [--start-date 2025-01-01]
    python bench/generate.py OUT_DIR --rows 20000000 --breakdowns   # with CONTRACT.md §8 columns
    python bench/generate.py --smoke            # 2,000 rows into bench/out/smoke/data, checked

Shaped like real daily drops: the metrics file is ordered day by day (campaigns interleaved
within a day), campaigns run for windows of varying length and have lognormal sizes (some
get no rows at all), creators are drawn from a Zipf-like power law, several rows may share
(date, campaign, creator), ~10% of rows have unknown (empty) revenue and ~5% are all zero.
Money has exactly 2 decimals. A few ids and many names are non-ASCII, and a few names hold
commas and quotes (RFC 4180 quoted). `benchmarks.json` has thresholds for every campaign.

`--breakdowns` adds the optional columns of CONTRACT.md §8 (platform, region, device_type,
age_group, gender, placement: skewed categorical draws, a few percent empty, which reads as
`unknown`; likes: a small share of impressions). They are drawn from a generator of their
own, so every other column is the same with or without them (and so are Part I's answers).

The same arguments always give the same bytes: every random draw is made day by day from
seeded generators, so the chunk size only changes speed. Rows are formatted with numpy
string ufuncs, a chunk of days at a time, and written in large buffered writes.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
from numpy.dtypes import StringDType

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import OUT_DIR

HEADER = "metric_date,campaign_id,creator_id,impressions,clicks,conversions,spend,revenue\n"
# CONTRACT.md §8: (value, share) per breakdown, skewed like a real ad account; "" is empty.
BREAKDOWNS: dict[str, tuple[tuple[str, float], ...]] = {
    "platform": (
        ("instagram", 0.38),
        ("tiktok", 0.27),
        ("youtube", 0.17),
        ("facebook", 0.10),
        ("snapchat", 0.04),
        ("", 0.04),
    ),
    "region": (
        ("us", 0.34),
        ("eu", 0.24),
        ("apac", 0.12),
        ("uk", 0.10),
        ("latam", 0.09),
        ("mena", 0.04),
        ("africa", 0.02),
        ("", 0.05),
    ),
    "device_type": (
        ("mobile", 0.72),
        ("desktop", 0.17),
        ("tablet", 0.06),
        ("ctv", 0.02),
        ("", 0.03),
    ),
    "age_group": (
        ("18-24", 0.30),
        ("25-34", 0.31),
        ("35-44", 0.16),
        ("45-54", 0.08),
        ("13-17", 0.06),
        ("55+", 0.05),
        ("", 0.04),
    ),
    "gender": (("female", 0.49), ("male", 0.44), ("other", 0.02), ("", 0.05)),
    "placement": (
        ("feed", 0.44),
        ("stories", 0.22),
        ("reels", 0.18),
        ("search", 0.06),
        ("in_stream", 0.06),
        ("", 0.04),
    ),
}
LIKE_RATE = 0.004  # likes per impression, before each row's own lognormal factor
STR = StringDType()
UNKNOWN_REVENUE_SHARE = 0.10
ALL_ZERO_SHARE = 0.05
ZIPF_EXPONENT = 1.1

ADJECTIVES = [
    "Spring",
    "Summer",
    "Autumn",
    "Winter",
    "Evergreen",
    "Flash",
    "Holiday",
    "Launch",
    "Brand",
    "Creator",
    "Mega",
    "Midnight",
    "Weekend",
    "Back-to-School",
    "Black Friday",
    "Café",
    "Crème",
    "Größte",
    "Fiesta Ñandú",
    "Été",
    "Løft",
    "Ação",
    "Świąteczna",
    "日本",
    "夏の",
    "Весенняя",
    "Ünlü",
]
NOUNS = [
    "Launch",
    "Sale",
    "Awareness",
    "Collab",
    "Giveaway",
    "Drop",
    "Push",
    "Promo",
    "Series",
    "Takeover",
    "Countdown",
    "Challenge",
    "Unboxing",
    "Review",
    "Live",
    "Kampagne",
    "Campaña",
    "キャンペーン",
    "Акция",
]
FIRST_NAMES = [
    "Avery",
    "Blake",
    "Casey",
    "Devon",
    "Emery",
    "Finley",
    "Harper",
    "Jordan",
    "Kai",
    "Logan",
    "Morgan",
    "Quinn",
    "Riley",
    "Sage",
    "Taylor",
    "Zoë",
    "José",
    "Łukasz",
    "Søren",
    "Ана",
    "Chloé",
    "Björn",
    "Nuño",
    "Ayşe",
    "美咲",
    "Đức",
]
LAST_NAMES = [
    "Smith",
    "Lee",
    "Garcia",
    "Nguyen",
    "Müller",
    "Dubois",
    "Rossi",
    "Kowalski",
    "Sato",
    "Ibáñez",
    "Öztürk",
    "Ødegaard",
    "Novák",
    "Иванова",
    "O'Brien",
    "Fernández",
    "Brontë",
]


@dataclass(frozen=True)
class Plan:
    rows: int
    campaigns: int
    creators: int
    days: int
    seed: int
    start_date: date
    chunk_rows: int = 1_000_000
    breakdowns: bool = False


@dataclass(frozen=True)
class CampaignProfiles:
    """Per-campaign parameters, arrays indexed by campaign number."""

    weight: np.ndarray  # relative size (lognormal)
    first_day: np.ndarray  # active window [first_day, last_day)
    last_day: np.ndarray
    ctr: np.ndarray
    cvr: np.ndarray
    cpm_cents: np.ndarray  # spend per 1,000 impressions
    roas: np.ndarray


# --------------------------------------------------------------------------- dimensions


def campaign_ids(count: int) -> list[str]:
    """`cmp-00001` …; every 500th id has a non-ASCII suffix (ids are arbitrary text)."""
    width = max(3, len(str(count)))
    return [f"cmp-{i:0{width}d}" + ("-ü" if i % 500 == 250 else "") for i in range(1, count + 1)]


def creator_ids(count: int) -> list[str]:
    width = max(3, len(str(count)))
    return [f"crt-{i:0{width}d}" + ("-ñ" if i % 5000 == 2500 else "") for i in range(1, count + 1)]


def campaign_names(rng: np.random.Generator, count: int) -> list[str]:
    """'Spring Launch 7'; ~1% hold a comma and ~1% quotes (both need RFC 4180 quoting)."""
    adjective = rng.integers(0, len(ADJECTIVES), count)
    noun = rng.integers(0, len(NOUNS), count)
    roll = rng.random(count)
    names = []
    for number, (a, n, r) in enumerate(zip(adjective, noun, roll, strict=True), start=1):
        if r < 0.01:
            names.append(f"{ADJECTIVES[a]} Sale, Part {number}")
        elif r < 0.02:
            names.append(f'The "{NOUNS[n]}" Drop {number}')
        else:
            names.append(f"{ADJECTIVES[a]} {NOUNS[n]} {number}")
    return names


def creator_names(rng: np.random.Generator, count: int) -> list[str]:
    first = rng.integers(0, len(FIRST_NAMES), count)
    last = rng.integers(0, len(LAST_NAMES), count)
    roll = rng.random(count)
    names = []
    for f, la, r in zip(first, last, roll, strict=True):
        if r < 0.01:
            names.append(f"{LAST_NAMES[la]}, {FIRST_NAMES[f]}")
        elif r < 0.02:
            names.append(f'{FIRST_NAMES[f]} "The Creator" {LAST_NAMES[la]}')
        else:
            names.append(f"{FIRST_NAMES[f]} {LAST_NAMES[la]}")
    return names


def write_dimension(path: Path, header: tuple[str, str], rows: list[tuple[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")  # QUOTE_MINIMAL: RFC 4180 quoting
        writer.writerow(header)
        writer.writerows(rows)


def campaign_profiles(rng: np.random.Generator, campaigns: int, days: int) -> CampaignProfiles:
    length = rng.integers(max(1, days // 12), days + 1, campaigns)
    first_day = rng.integers(0, days, campaigns)
    first_day = np.minimum(first_day, days - length)
    always_on = np.arange(campaigns) < max(1, campaigns // 20)  # every day has campaigns
    first_day[always_on], length[always_on] = 0, days
    return CampaignProfiles(
        weight=rng.lognormal(0.0, 1.5, campaigns),
        first_day=first_day,
        last_day=first_day + length,
        ctr=rng.beta(2.0, 60.0, campaigns),
        cvr=rng.beta(2.0, 25.0, campaigns),
        cpm_cents=rng.uniform(300, 2500, campaigns),
        roas=rng.lognormal(math.log(2.0), 0.5, campaigns),
    )


def thresholds(rng: np.random.Generator, profiles: CampaignProfiles, ids: list[str]) -> dict:
    """Around each campaign's typical CTR and ROAS, so that some days fall below them."""
    ctr = profiles.ctr * rng.uniform(0.8, 1.2, len(ids))
    roas = profiles.roas * rng.uniform(0.6, 1.1, len(ids))
    return {
        campaign: {"min_ctr": round(float(c), 4), "min_roas": round(float(r), 2)}
        for campaign, c, r in zip(ids, ctr, roas, strict=True)
    }


def write_benchmarks(path: Path, benchmarks: dict) -> None:
    """One campaign per line, like the visible sample."""
    lines = [f"  {json.dumps(key)}: {json.dumps(value)}" for key, value in benchmarks.items()]
    path.write_text("{\n" + ",\n".join(lines) + "\n}\n", encoding="utf-8")


# --------------------------------------------------------------------------- metric rows


def rows_per_day(rng: np.random.Generator, rows: int, days: int) -> np.ndarray:
    """Exactly `rows` in total: weekly rhythm plus growth over the period."""
    day = np.arange(days)
    shape = (1.0 + 0.25 * np.sin(2 * np.pi * day / 7)) * (0.8 + 0.4 * day / max(days, 1))
    return rng.multinomial(rows, shape / shape.sum())


def draw_day(
    rng: np.random.Generator,
    day: int,
    count: int,
    profiles: CampaignProfiles,
    creator_cdf: np.ndarray,
    creator_order: np.ndarray,
) -> dict[str, np.ndarray]:
    """The rows of one day, in arrival order (campaigns and creators interleaved)."""
    active = (profiles.first_day <= day) & (day < profiles.last_day)
    campaign_cdf = np.cumsum(profiles.weight * active)
    pick = rng.random(count) * campaign_cdf[-1]
    campaign = np.minimum(np.searchsorted(campaign_cdf, pick, side="right"), len(active) - 1)
    creator_rank = np.searchsorted(creator_cdf, rng.random(count), side="right")
    creator = creator_order[np.minimum(creator_rank, len(creator_order) - 1)]

    impressions = rng.lognormal(math.log(3000), 1.2, count).astype(np.int64)
    ctr = np.minimum(profiles.ctr[campaign] * rng.lognormal(0.0, 0.3, count), 1.0)
    clicks = rng.binomial(impressions, ctr)
    conversions = rng.binomial(clicks, profiles.cvr[campaign])
    spend = np.rint(impressions * profiles.cpm_cents[campaign] / 1000).astype(np.int64)
    revenue = np.rint(spend * profiles.roas[campaign] * rng.lognormal(0.0, 0.6, count))
    zero = rng.random(count) < ALL_ZERO_SHARE
    unknown = rng.random(count) < UNKNOWN_REVENUE_SHARE
    for column in (impressions, clicks, conversions, spend, revenue):
        column[zero] = 0
    return {
        "day": np.full(count, day, dtype=np.int32),
        "campaign": campaign,
        "creator": creator,
        "impressions": impressions,
        "clicks": clicks,
        "conversions": conversions,
        "spend": spend,
        "revenue": revenue.astype(np.int64),
        "unknown": unknown,
    }


@dataclass(frozen=True)
class Lookups:
    """Pre-formatted text of the columns that take few values (trailing comma included)."""

    day: np.ndarray
    campaign: np.ndarray
    creator: np.ndarray
    cents: np.ndarray  # ".00" … ".99"
    breakdowns: np.ndarray  # ",platform,region,…,placement" for every combination


def _every_combination() -> np.ndarray:
    """The text of every combination of breakdown values, indexed by `combination`."""
    texts = [""]
    for shares in BREAKDOWNS.values():
        texts = [f"{text},{value}" for text in texts for value, _ in shares]
    return np.array(texts, dtype=STR)


def combination(chunk: dict[str, np.ndarray]) -> np.ndarray:
    """Each row's combination number (mixed radix, the first breakdown most significant)."""
    number = np.zeros(len(chunk["likes"]), dtype=np.int64)
    for name, shares in BREAKDOWNS.items():
        number = number * len(shares) + chunk[name]
    return number


def make_lookups(plan: Plan, campaigns: list[str], creators: list[str]) -> Lookups:
    days = [(plan.start_date + timedelta(days=d)).isoformat() + "," for d in range(plan.days)]
    return Lookups(
        day=np.array(days, dtype=STR),
        campaign=np.array([f"{c}," for c in campaigns], dtype=STR),
        creator=np.array([f"{c}," for c in creators], dtype=STR),
        cents=np.array([f".{c:02d}" for c in range(100)], dtype=STR),
        breakdowns=_every_combination() if plan.breakdowns else np.array([], dtype=STR),
    )


def draw_breakdowns(rng: np.random.Generator, impressions: np.ndarray) -> dict[str, np.ndarray]:
    """Each breakdown's value (an index into BREAKDOWNS) and likes, for rows of a day."""
    count = len(impressions)
    drawn = {}
    for name, shares in BREAKDOWNS.items():
        cdf = np.cumsum([share for _, share in shares])
        drawn[name] = np.minimum(
            np.searchsorted(cdf / cdf[-1], rng.random(count), side="right"), len(shares) - 1
        )
    rate = np.minimum(LIKE_RATE * rng.lognormal(0.0, 0.8, count), 1.0)
    drawn["likes"] = rng.binomial(impressions, rate)
    return drawn


def money(cents: np.ndarray, lookups: Lookups) -> np.ndarray:
    return np.strings.add((cents // 100).astype(STR), lookups.cents[cents % 100])


def format_rows(chunk: dict[str, np.ndarray], lookups: Lookups) -> bytes:
    """CSV lines for a chunk of rows (ids in this dataset never need quoting)."""
    add = np.strings.add
    line = add(lookups.day[chunk["day"]], lookups.campaign[chunk["campaign"]])
    line = add(line, lookups.creator[chunk["creator"]])
    for column in ("impressions", "clicks", "conversions"):
        line = add(add(line, chunk[column].astype(STR)), ",")
    line = add(add(line, money(chunk["spend"], lookups)), ",")
    revenue = money(chunk["revenue"], lookups)
    revenue[chunk["unknown"]] = ""
    line = add(line, revenue)
    if "likes" in chunk:
        line = add(add(line, lookups.breakdowns[combination(chunk)]), ",")
        line = add(line, chunk["likes"].astype(STR))
    line = add(line, "\n")
    return "".join(line.tolist()).encode("utf-8")


def concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}


# --------------------------------------------------------------------------- main


def generate(plan: Plan, out_dir: Path) -> dict:
    started = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    dims_rng, profile_rng, row_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(plan.seed).spawn(3)
    )
    # Its own sequence: the other columns are the same bytes with or without breakdowns.
    breakdown_rng = np.random.default_rng(np.random.SeedSequence([plan.seed, 8]))
    campaigns, creators = campaign_ids(plan.campaigns), creator_ids(plan.creators)
    write_dimension(
        out_dir / "campaigns.csv",
        ("campaign_id", "campaign_name"),
        list(zip(campaigns, campaign_names(dims_rng, len(campaigns)), strict=True)),
    )
    write_dimension(
        out_dir / "creators.csv",
        ("creator_id", "creator_name"),
        list(zip(creators, creator_names(dims_rng, len(creators)), strict=True)),
    )
    profiles = campaign_profiles(profile_rng, plan.campaigns, plan.days)
    benchmarks = thresholds(profile_rng, profiles, campaigns)
    write_benchmarks(out_dir / "benchmarks.json", benchmarks)

    rngs = (profile_rng, row_rng, breakdown_rng if plan.breakdowns else None)
    size = write_metrics(plan, out_dir, profiles, rngs, campaigns, creators)
    seconds = time.perf_counter() - started
    manifest = {
        **asdict(plan),
        "start_date": plan.start_date.isoformat(),
        "metrics_bytes": size,
        "seconds": round(seconds, 2),
        "rows_per_s": round(plan.rows / seconds),
    }
    del manifest["chunk_rows"]
    if not plan.breakdowns:  # the default manifest stays as it was
        del manifest["breakdowns"]
    (out_dir / "generator-manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def write_metrics(
    plan: Plan,
    out_dir: Path,
    profiles: CampaignProfiles,
    rngs: tuple[np.random.Generator, np.random.Generator, np.random.Generator | None],
    campaigns: list[str],
    creators: list[str],
) -> int:
    """Day by day; a chunk of days is formatted while the previous one is being written.
    `rngs`: profiles, rows and breakdowns (None: no breakdown columns)."""
    profile_rng, row_rng, breakdown_rng = rngs
    zipf = 1.0 / np.arange(1, plan.creators + 1) ** ZIPF_EXPONENT
    creator_cdf = np.cumsum(zipf) / zipf.sum()
    creator_order = profile_rng.permutation(plan.creators)  # popularity is not id order
    lookups = make_lookups(plan, campaigns, creators)
    per_day = rows_per_day(row_rng, plan.rows, plan.days)
    started, written, pending, parts = time.perf_counter(), 0, None, []
    path = out_dir / "campaign_daily_metrics.csv"
    with path.open("wb", buffering=1 << 24) as out, ThreadPoolExecutor(1) as writer:
        out.write(header(breakdown_rng is not None).encode())
        for day, count in enumerate(per_day):
            part = draw_day(row_rng, day, int(count), profiles, creator_cdf, creator_order)
            if breakdown_rng is not None:
                part |= draw_breakdowns(breakdown_rng, part["impressions"])
            parts.append(part)
            chunk_size = sum(len(part["day"]) for part in parts)
            if chunk_size < plan.chunk_rows and day < plan.days - 1:
                continue
            data = format_rows(concat(parts), lookups)
            if pending is not None:
                pending.result()
            pending, parts = writer.submit(out.write, data), []
            written += chunk_size
            report_progress(day + 1, plan.days, written, time.perf_counter() - started)
        if pending is not None:
            pending.result()
    return path.stat().st_size


def header(breakdowns: bool) -> str:
    if not breakdowns:
        return HEADER
    return HEADER[:-1] + "," + ",".join(BREAKDOWNS) + ",likes\n"


def report_progress(days: int, total_days: int, rows: int, seconds: float) -> None:
    rate = rows / seconds if seconds else 0.0
    print(f"  day {days}/{total_days}: {rows:,} rows, {rate:,.0f} rows/s", file=sys.stderr)


def smoke_check(out_dir: Path, plan: Plan) -> None:
    """Read the files back with the csv module and check the contract's shape."""
    import re

    def ids(name: str, column: str) -> set[str]:
        with (out_dir / name).open(newline="", encoding="utf-8") as source:
            return {row[column] for row in csv.DictReader(source)}

    campaigns, creators = ids("campaigns.csv", "campaign_id"), ids("creators.csv", "creator_id")
    money_re = re.compile(r"\d+\.\d\d")
    with (out_dir / "campaign_daily_metrics.csv").open(newline="", encoding="utf-8") as source:
        rows = list(csv.DictReader(source))
    assert len(rows) == plan.rows, (len(rows), plan.rows)
    assert all(r["campaign_id"] in campaigns and r["creator_id"] in creators for r in rows)
    assert all(money_re.fullmatch(r["spend"]) for r in rows)
    assert all(r["revenue"] == "" or money_re.fullmatch(r["revenue"]) for r in rows)
    assert [r["metric_date"] for r in rows] == sorted(r["metric_date"] for r in rows)
    assert set(json.loads((out_dir / "benchmarks.json").read_text())) == campaigns
    if plan.breakdowns:
        for name, shares in BREAKDOWNS.items():
            assert {r[name] for r in rows} <= {value for value, _ in shares}, name
        assert all(0 <= int(r["likes"]) <= int(r["impressions"]) for r in rows)
    unknown = sum(r["revenue"] == "" for r in rows) / len(rows)
    print(f"smoke check ok: {len(rows)} rows, {unknown:.0%} unknown revenue")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path, nargs="?", help="directory to write")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--campaigns", type=int, default=2000)
    parser.add_argument("--creators", type=int, default=50_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--start-date", type=date.fromisoformat, default=date(2025, 1, 1))
    parser.add_argument("--chunk-rows", type=int, default=1_000_000, help="rows per write")
    parser.add_argument("--smoke", action="store_true", help="2,000 rows, checked")
    parser.add_argument(
        "--breakdowns", action="store_true", help="add the §8 breakdown columns and likes"
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.rows, args.campaigns, args.creators, args.days = 2000, 20, 200, 30
        args.out_dir = args.out_dir or OUT_DIR / "smoke" / "data"
    if args.out_dir is None:
        parser.error("OUT_DIR is required (unless --smoke)")
    if min(args.rows, args.campaigns, args.creators, args.days, args.chunk_rows) < 1:
        parser.error("--rows, --campaigns, --creators, --days and --chunk-rows must be >= 1")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    plan = Plan(
        rows=args.rows,
        campaigns=args.campaigns,
        creators=args.creators,
        days=args.days,
        seed=args.seed,
        start_date=args.start_date,
        chunk_rows=args.chunk_rows,
        breakdowns=args.breakdowns,
    )
    manifest = generate(plan, args.out_dir)
    print(
        f"wrote {plan.rows:,} rows ({manifest['metrics_bytes'] / 2**20:,.1f} MiB) to "
        f"{args.out_dir} in {manifest['seconds']:.1f} s: {manifest['rows_per_s']:,} rows/s"
    )
    if args.smoke:
        smoke_check(args.out_dir, plan)


if __name__ == "__main__":
    main()
