"""The stale-answer check of a warm run: answers compared with the data current when asked.

While wrk loads a cached service, `Checker` threads ask a few fixed URLs over and over (a
new connection per request, so that every worker answers some) and record when each request
was *sent*. `CommitWatch` polls the load ledger on a connection of its own and records when
the load's commit became visible: a poll that sees the new load was sent after the commit
(its snapshot is taken after it is sent), the poll before it was sent before the commit, so
the commit lies in (previous poll sent, seeing poll sent] — the window, a few milliseconds.

`count_stale` then compares every answer with the truth, computed independently by a server
with the cache off, asked before the load (old truth) and after it (new truth):
  - sent after the window: must be the new truth, or it is **stale**;
  - sent before the window ends: the old or the new truth (either is right), else **wrong**.
URLs whose old and new truths are equal are listed (a stale answer there cannot be seen); the
check refuses to count when the load changed none of them.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg

LEDGER = "SELECT max(load_id) FROM dataset_loads WHERE tenant_id = %s"


@dataclass
class Answer:
    url: str
    sent: float  # time.monotonic() just before the request was sent
    status: int
    body: Any  # parsed JSON (or the raw text when it is not JSON)


def fetch(client: httpx.Client, url: str) -> tuple[int, Any]:
    response = client.get(url)
    try:
        return response.status_code, json.loads(response.content)
    except ValueError:
        return response.status_code, response.text


def fresh_client() -> httpx.Client:
    """No kept connection: each request opens its own, so the kernel spreads them over
    uvicorn's workers."""
    limits = httpx.Limits(max_keepalive_connections=0)
    return httpx.Client(limits=limits, timeout=httpx.Timeout(10.0, connect=2.0))


def truths(base_url: str, paths: list[str]) -> dict[str, tuple[int, Any]]:
    """What a cache-less server answers now, per path."""
    with fresh_client() as client:
        return {path: fetch(client, base_url + path) for path in paths}


@dataclass
class Checker:
    """`threads` clients asking `paths` round-robin until stopped."""

    base_url: str
    paths: list[str]
    threads: int = 2
    answers: list[Answer] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _workers: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        for number in range(self.threads):
            worker = threading.Thread(target=self._run, args=(number,), daemon=True)
            worker.start()
            self._workers.append(worker)

    def stop(self) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=15)

    def _run(self, number: int) -> None:
        mine: list[Answer] = []
        with fresh_client() as client:
            index = number
            while not self._stop.is_set():
                path = self.paths[index % len(self.paths)]
                index += 1
                sent = time.monotonic()
                try:
                    status, body = fetch(client, self.base_url + path)
                except httpx.HTTPError as error:
                    self.errors.append(f"{path}: {error!r}")
                    continue
                mine.append(Answer(path, sent, status, body))
        self.answers.extend(mine)  # list.extend is atomic under the GIL


@dataclass
class CommitWatch:
    """Polls the tenant's newest load until it changes; the commit's window, monotonic."""

    libpq_url: str
    tenant_id: str = "default"
    interval: float = 0.002
    before: int | None = None
    window: tuple[float, float] | None = None  # (last poll not seeing it, first seeing it)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        with psycopg.connect(self.libpq_url, autocommit=True) as connection:
            self.before = connection.execute(LEDGER, (self.tenant_id,)).fetchone()[0]
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def wait(self, timeout: float) -> tuple[float, float]:
        assert self._thread is not None
        self._thread.join(timeout)
        if self.window is None:
            raise RuntimeError(f"no new load committed within {timeout:.0f} s")
        return self.window

    def _run(self) -> None:
        deadline = time.monotonic() + 600
        with psycopg.connect(self.libpq_url, autocommit=True) as connection:
            previous = time.monotonic()
            while time.monotonic() < deadline:
                sent = time.monotonic()
                newest = connection.execute(LEDGER, (self.tenant_id,)).fetchone()[0]
                if newest != self.before:
                    self.window = (previous, sent)
                    return
                previous = sent
                time.sleep(self.interval)


def count_stale(
    answers: list[Answer],
    window: tuple[float, float],
    old: dict[str, tuple[int, Any]],
    new: dict[str, tuple[int, Any]],
) -> dict[str, Any]:
    same = sorted(path for path in new if old[path] == new[path])
    if len(same) == len(new):
        raise RuntimeError("the load changed no checked answer: the check cannot fail")
    after = [a for a in answers if a.sent > window[1]]
    before = [a for a in answers if a.sent <= window[1]]
    stale = [a for a in after if (a.status, a.body) != new[a.url]]
    wrong = [a for a in before if (a.status, a.body) not in (old[a.url], new[a.url])]
    return {
        "answers": len(answers),
        "sent_before_commit": len(before),
        "sent_after_commit": len(after),
        "new_answers_before_commit": sum((a.status, a.body) == new[a.url] for a in before),
        "unchanged_urls": same,  # a stale answer there is undetectable (a wrong one is not)
        "stale": len(stale),
        "wrong": len(wrong),
        "stale_examples": [(a.url, round(a.sent - window[1], 4), a.status) for a in stale[:5]],
        "commit_window_ms": round((window[1] - window[0]) * 1000, 2),
    }
