"""Reading Prometheus expositions and this process's metrics in tests."""

from __future__ import annotations

from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

Labels = dict[str, str]


def sample(name: str, **labels: str) -> float:
    """This process's value of one sample (0 when it was never recorded)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


def samples(exposition: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """(sample name, its labels) → value, for every sample of a text exposition."""
    found = {}
    for family in text_string_to_metric_families(exposition):
        for item in family.samples:
            found[(item.name, frozenset(item.labels.items()))] = item.value
    return found


def value(
    found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def label_values(
    found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, label: str
) -> set[str]:
    return {dict(key)[label] for (sample_name, key) in found if sample_name == name}
