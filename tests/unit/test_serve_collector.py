"""`analytics serve` tunes the garbage collector of the process that serves: the start-up
objects frozen out of every collection, the thresholds raised (cli_serve.tune_collector).
Run in a process of its own: freezing would keep this test process's objects forever."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import gc
from analytics.cli_serve import GC_THRESHOLDS, tune_collector
before = gc.get_freeze_count(), gc.get_threshold()
tune_collector()
print(before[0], gc.get_freeze_count() > 10_000, gc.get_threshold() == GC_THRESHOLDS, before[1])
"""


def test_the_start_up_objects_are_frozen_and_collections_come_rarer() -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.split(maxsplit=3) == ["0", "True", "True", "(700, 10, 10)\n"]
