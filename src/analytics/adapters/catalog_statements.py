"""The catalog's statements, run on a connection inside a transaction already scoped to one
tenant (`SqlAlchemyMetricsStore.run`). Writes call `catalog_clock.tick` first."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Row, Table, delete, insert, select, update

from analytics.adapters import schema
from analytics.adapters.catalog_clock import tick
from analytics.adapters.sql_queries import query
from analytics.domain.catalog import (
    AlreadyExists,
    CampaignStatus,
    CatalogItem,
    Changes,
    HasMetrics,
    Kind,
    NotFound,
    Outcome,
    PreconditionFailed,
    StoredThresholds,
    ThresholdsNotFound,
    document,
    etag_matches,
)
from analytics.domain.models import Thresholds

TABLES: dict[Kind, Table] = {Kind.CAMPAIGNS: schema.campaigns, Kind.CREATORS: schema.creators}
_thresholds = schema.campaign_thresholds


def _columns(kind: Kind) -> tuple[Any, Any]:
    table = TABLES[kind]
    return table.c[f"{kind.singular}_id"], table.c[f"{kind.singular}_name"]


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC)


def item_of(kind: Kind, row: Row[Any]) -> CatalogItem:
    status = CampaignStatus(row.status) if kind is Kind.CAMPAIGNS else None
    return CatalogItem(
        kind, row.item_id, row.name, _utc(row.created_at), _utc(row.updated_at), status
    )


def find(connection: Connection, tenant_id: str, kind: Kind, item_id: str) -> CatalogItem | None:
    table = TABLES[kind]
    id_column, name_column = _columns(kind)
    status = table.c.status if kind is Kind.CAMPAIGNS else None
    row = connection.execute(
        select(
            id_column.label("item_id"),
            name_column.label("name"),
            *([status] if status is not None else []),
            table.c.created_at,
            table.c.updated_at,
        ).where(table.c.tenant_id == tenant_id, id_column == item_id)
    ).one_or_none()
    return None if row is None else item_of(kind, row)


def _current(
    connection: Connection, tenant_id: str, kind: Kind, item_id: str, if_match: str | None
) -> CatalogItem:
    found = find(connection, tenant_id, kind, item_id)
    if found is None:
        raise NotFound(kind, item_id)
    if not etag_matches(if_match, found.updated_at):
        raise PreconditionFailed
    return found


def create(
    connection: Connection,
    tenant_id: str,
    kind: Kind,
    item: tuple[str, str, CampaignStatus | None],
    idempotency_key: str | None,
) -> CatalogItem:
    item_id, name, status = item
    if kind is Kind.CAMPAIGNS:
        status = status or CampaignStatus.ACTIVE
    stamp = tick(connection, tenant_id)
    if find(connection, tenant_id, kind, item_id) is not None:
        raise AlreadyExists(kind, item_id)
    id_column, name_column = _columns(kind)
    values = {"tenant_id": tenant_id, id_column.name: item_id, name_column.name: name}
    if status is not None:
        values["status"] = str(status)
    connection.execute(insert(TABLES[kind]).values(**values, created_at=stamp, updated_at=stamp))
    created = CatalogItem(kind, item_id, name, stamp, stamp, status)
    if idempotency_key is not None:
        record_outcome(connection, tenant_id, idempotency_key, Outcome(201, document(created)))
    return created


def change(
    connection: Connection,
    tenant_id: str,
    kind: Kind,
    item_id: str,
    changes: Changes,
    if_match: str | None,
) -> CatalogItem:
    stamp = tick(connection, tenant_id)
    _current(connection, tenant_id, kind, item_id, if_match)
    table = TABLES[kind]
    id_column, name_column = _columns(kind)
    values: dict[str, Any] = {"updated_at": stamp}
    if changes.name is not None:
        values[name_column.name] = changes.name
    if changes.status is not None:
        values["status"] = str(changes.status)
    connection.execute(
        update(table).where(table.c.tenant_id == tenant_id, id_column == item_id).values(values)
    )
    changed = find(connection, tenant_id, kind, item_id)
    assert changed is not None
    return changed


def remove(
    connection: Connection, tenant_id: str, kind: Kind, item_id: str, if_match: str | None
) -> None:
    """Under the clock lock, which a load also holds from its upsert of the dimensions to
    its commit: a load cannot publish metric rows of this item between check and delete."""
    tick(connection, tenant_id)
    _current(connection, tenant_id, kind, item_id, if_match)
    parameters = {"tenant_id": tenant_id, "item_id": item_id}
    if connection.execute(query(f"catalog_{kind.singular}_has_metrics"), parameters).first():
        raise HasMetrics(kind, item_id)
    if kind is Kind.CAMPAIGNS:
        connection.execute(
            delete(_thresholds).where(
                _thresholds.c.tenant_id == tenant_id, _thresholds.c.campaign_id == item_id
            )
        )
    table = TABLES[kind]
    id_column, _ = _columns(kind)
    connection.execute(delete(table).where(table.c.tenant_id == tenant_id, id_column == item_id))


def thresholds(connection: Connection, tenant_id: str, campaign_id: str) -> StoredThresholds | None:
    row = connection.execute(
        select(_thresholds).where(
            _thresholds.c.tenant_id == tenant_id, _thresholds.c.campaign_id == campaign_id
        )
    ).one_or_none()
    if row is None:
        return None
    # a stored double reads back as the shortest decimal that round-trips (0.03, not 0.0299…)
    values = Thresholds(Decimal(repr(row.min_ctr)), Decimal(repr(row.min_roas)))
    return StoredThresholds(values, _utc(row.updated_at))


def every_thresholds(connection: Connection, tenant_id: str) -> dict[str, Thresholds]:
    rows = connection.execute(select(_thresholds).where(_thresholds.c.tenant_id == tenant_id))
    return {
        row.campaign_id: Thresholds(Decimal(repr(row.min_ctr)), Decimal(repr(row.min_roas)))
        for row in rows
    }


def put_thresholds(
    connection: Connection,
    tenant_id: str,
    campaign_id: str,
    values: Thresholds,
    if_match: str | None,
) -> StoredThresholds:
    stamp = tick(connection, tenant_id)
    if find(connection, tenant_id, Kind.CAMPAIGNS, campaign_id) is None:
        raise NotFound(Kind.CAMPAIGNS, campaign_id)
    current = thresholds(connection, tenant_id, campaign_id)
    if current is not None and not etag_matches(if_match, current.updated_at):
        raise PreconditionFailed
    if current is None and if_match not in (None, "*"):
        raise PreconditionFailed
    fields = {"min_ctr": float(values.min_ctr), "min_roas": float(values.min_roas)}
    key = (_thresholds.c.tenant_id == tenant_id, _thresholds.c.campaign_id == campaign_id)
    if current is None:
        connection.execute(
            insert(_thresholds).values(
                tenant_id=tenant_id, campaign_id=campaign_id, updated_at=stamp, **fields
            )
        )
    else:
        connection.execute(update(_thresholds).where(*key).values(updated_at=stamp, **fields))
    stored = thresholds(connection, tenant_id, campaign_id)
    assert stored is not None
    return stored


def delete_thresholds(
    connection: Connection, tenant_id: str, campaign_id: str, if_match: str | None
) -> None:
    tick(connection, tenant_id)
    current = thresholds(connection, tenant_id, campaign_id)
    if current is None:
        if find(connection, tenant_id, Kind.CAMPAIGNS, campaign_id) is None:
            raise NotFound(Kind.CAMPAIGNS, campaign_id)
        raise ThresholdsNotFound(campaign_id)
    if not etag_matches(if_match, current.updated_at):
        raise PreconditionFailed
    connection.execute(
        delete(_thresholds).where(
            _thresholds.c.tenant_id == tenant_id, _thresholds.c.campaign_id == campaign_id
        )
    )


def record_outcome(connection: Connection, tenant_id: str, key: str, outcome: Outcome) -> None:
    """The answer to replay for `key`, written in the same transaction as the write."""
    keys = schema.idempotency_keys
    connection.execute(
        update(keys)
        .where(keys.c.tenant_id == tenant_id, keys.c.idempotency_key == key)
        .values(status_code=outcome.status_code, response_body=json.dumps(outcome.body))
    )
