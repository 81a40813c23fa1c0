"""The benchmark service's rules for ids, thresholds and seed files (CONTRACT.md §1, §3)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from analytics.benchmark_service.thresholds import (
    MAX_ID_LENGTH,
    Invalid,
    Thresholds,
    decode_json,
    id_problem,
    parse_thresholds,
    read_thresholds_file,
)


@pytest.mark.parametrize("campaign_id", ["cmp-001", "cmp-ü", "cmp.dot", "a/b", " ", "x" * 255])
def test_any_text_up_to_the_maximum_is_a_valid_id(campaign_id: str) -> None:
    assert id_problem(campaign_id) is None


@pytest.mark.parametrize(
    ("campaign_id", "reason"),
    [
        ("", "empty"),
        ("x" * (MAX_ID_LENGTH + 1), f"longer than {MAX_ID_LENGTH}"),
        ("a\x00b", "NUL"),
    ],
)
def test_empty_overlong_or_nul_ids_are_refused_with_the_reason(
    campaign_id: str, reason: str
) -> None:
    problem = id_problem(campaign_id)
    assert problem is not None
    assert reason in problem


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('{"min_ctr": 0.03, "min_roas": 2.5}', ("0.03", "2.5")),
        ('{"min_roas": 2, "min_ctr": 0}', ("0", "2")),
        ('{"min_ctr": -0.0, "min_roas": 0E-7}', ("0", "0")),
        ('{"min_ctr": 1e400, "min_roas": 0.1000}', ("1E+400", "0.1000")),
    ],
)
def test_valid_thresholds_keep_their_exact_decimal_text(
    body: str, expected: tuple[str, str]
) -> None:
    values = parse_thresholds(decode_json(body))
    assert (values.min_ctr, values.min_roas) == expected
    assert json.loads(values.to_json(), parse_float=Decimal) == {
        "min_ctr": Decimal(expected[0]),
        "min_roas": Decimal(expected[1]),
    }


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ('{"min_ctr": 0.03}', "missing field(s): 'min_roas'"),
        ("{}", "missing field(s): 'min_ctr', 'min_roas'"),
        ('{"min_ctr": 0.03, "min_roas": 2, "note": 1}', "unknown field(s): 'note'"),
        ('{"min_ctr": -0.01, "min_roas": 2}', "'min_ctr' must not be negative"),
        ('{"min_ctr": "0.03", "min_roas": 2}', "'min_ctr' must be a finite number"),
        ('{"min_ctr": true, "min_roas": 2}', "'min_ctr' must be a finite number"),
        ('{"min_ctr": null, "min_roas": 2}', "'min_ctr' must be a finite number"),
        ('{"min_ctr": 0.1, "min_roas": NaN}', "NaN is not a finite number"),
        ('{"min_ctr": 0.1, "min_roas": Infinity}', "Infinity is not a finite number"),
        ('{"min_ctr": 0.1, "min_roas": -Infinity}', "-Infinity is not a finite number"),
        ("[0.03, 2.5]", "thresholds must be a JSON object"),
        ('{"min_ctr": 0.1,', "body is not valid JSON"),
        ("", "body is not valid JSON"),
        ('{"min_ctr": 0.' + "1" * 60 + ', "min_roas": 1}', "more than 40 characters"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ],
)
def test_invalid_thresholds_are_refused_naming_what_is_wrong(body: str, reason: str) -> None:
    with pytest.raises(Invalid) as refused:
        parse_thresholds(decode_json(body))
    assert reason in str(refused.value)


def test_body_that_is_not_utf8_is_refused() -> None:
    with pytest.raises(Invalid, match="not UTF-8"):
        decode_json(b'{"min_ctr": "\xff"}')


def test_seed_file_gives_every_campaign_exactly(tmp_path: Path) -> None:
    path = tmp_path / "benchmarks.json"
    path.write_text('{"cmp-ü": {"min_ctr": 0.042, "min_roas": 3.6}, "a/b": {"min_ctr": 0, '
                    '"min_roas": 1}}', encoding="utf-8")  # fmt: skip
    assert read_thresholds_file(path) == {
        "cmp-ü": Thresholds(min_ctr="0.042", min_roas="3.6"),
        "a/b": Thresholds(min_ctr="0", min_roas="1"),
    }


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ('{"cmp-1": {"min_ctr": 0.1}}', "campaign 'cmp-1': missing field(s): 'min_roas'"),
        ('{"": {"min_ctr": 0.1, "min_roas": 1}}', "campaign '': campaign id must not be empty"),
        ('[{"min_ctr": 0.1, "min_roas": 1}]', "must hold a JSON object of campaign ids"),
        ("{nope", "is not valid JSON"),
    ],
)
def test_invalid_seed_file_is_refused_naming_the_file_and_campaign(
    tmp_path: Path, content: str, reason: str
) -> None:
    path = tmp_path / "benchmarks.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(Invalid) as refused:
        read_thresholds_file(path)
    assert str(path) in str(refused.value)
    assert reason in str(refused.value)


def test_missing_seed_file_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(Invalid, match=r"cannot read .*absent\.json"):
        read_thresholds_file(tmp_path / "absent.json")
