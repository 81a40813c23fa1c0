"""The OpenAPI schema documents every status code and header of CONTRACT.md §7, for
campaigns, creators and thresholds alike."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from analytics.api.app import create_app
from analytics.settings import Settings
from tests.support import VISIBLE_DATA


@pytest.fixture(scope="module")
def paths() -> dict[str, Any]:
    settings = Settings(data_dir=VISIBLE_DATA, scheduler_enabled=False)
    return TestClient(create_app(settings)).get("/openapi.json").json()["paths"]


def _answers(operation: dict[str, Any]) -> dict[str, set[str]]:
    return {code: set(answer.get("headers", {})) for code, answer in operation["responses"].items()}


def _parameters(operation: dict[str, Any]) -> set[tuple[str, str]]:
    return {(p["name"], p["in"]) for p in operation.get("parameters", [])}


@pytest.mark.parametrize(
    ("kind", "item"), [("campaigns", "campaign_id"), ("creators", "creator_id")]
)
def test_every_catalog_answer_and_header_is_documented(
    paths: dict[str, Any], kind: str, item: str
) -> None:
    listing, one = paths[f"/{kind}"], paths[f"/{kind}/{{{item}}}"]
    page = _answers(listing["get"])
    assert {"200", "401", "422"} <= set(page)
    assert {name for name, _ in _parameters(listing["get"])} == {"limit", "cursor", "updated_since"}
    created = _answers(listing["post"])
    assert created["201"] == {"Location", "ETag"}
    assert {"401", "403", "409", "413", "422"} <= set(created)
    assert _parameters(listing["post"]) == {("Idempotency-Key", "header")}
    got = _answers(one["get"])
    assert got["200"] == {"ETag"}
    assert {"401", "404"} <= set(got)
    patched = _answers(one["patch"])
    assert patched["200"] == {"ETag"}
    assert {"401", "403", "404", "412", "413", "422"} <= set(patched)
    assert ("If-Match", "header") in _parameters(one["patch"])
    deleted = _answers(one["delete"])
    assert {"204", "401", "403", "404", "409", "412"} <= set(deleted)
    assert ("If-Match", "header") in _parameters(one["delete"])


def test_every_thresholds_answer_and_header_is_documented(paths: dict[str, Any]) -> None:
    thresholds = paths["/campaigns/{campaign_id}/thresholds"]
    assert {"200", "401", "404"} <= set(_answers(thresholds["get"]))
    put = _answers(thresholds["put"])
    assert {"200", "401", "403", "404", "412", "413", "422"} <= set(put)
    assert {"204", "401", "403", "404", "412"} <= set(_answers(thresholds["delete"]))
    for method in ("put", "delete"):
        assert ("If-Match", "header") in _parameters(thresholds[method])
