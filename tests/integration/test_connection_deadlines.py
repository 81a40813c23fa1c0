"""`Watch`: what frees a thread blocked on a silent connection, on real loopback sockets."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from analytics.adapters.connection_deadlines import DeadlinePassed, Watch, current_watch, watching


@pytest.fixture
def silent_peer() -> Iterator[tuple[socket.socket, socket.socket]]:
    """A connected pair whose far end never writes: reads on `ours` block."""
    ours, theirs = socket.socketpair()
    yield ours, theirs
    ours.close()
    theirs.close()


def test_expire_ends_a_read_blocked_on_the_attached_connection(
    silent_peer: tuple[socket.socket, socket.socket],
) -> None:
    ours, _ = silent_peer
    watch = Watch()
    watch.attach(ours.fileno())
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(ours.recv(10)))
    reader.start()
    time.sleep(0.1)
    assert reader.is_alive()  # blocked: nothing will ever come
    started = time.monotonic()
    watch.expire()
    reader.join(timeout=1)
    assert not reader.is_alive()
    assert received == [b""]
    assert time.monotonic() - started < 0.5


def test_release_closes_only_the_watch_s_duplicate_and_reports_expiry(
    silent_peer: tuple[socket.socket, socket.socket],
) -> None:
    ours, theirs = silent_peer
    watch = Watch()
    watch.attach(ours.fileno())
    assert watch.release() is False
    watch.expire()  # nothing attached any more: the connection is left alone
    theirs.sendall(b"ok")
    assert ours.recv(10) == b"ok"
    assert watch.release() is True


def test_a_connection_had_after_the_deadline_is_refused(
    silent_peer: tuple[socket.socket, socket.socket],
) -> None:
    watch = Watch()
    watch.expire()
    with pytest.raises(DeadlinePassed):
        watch.attach(silent_peer[0].fileno())


def test_the_watch_is_current_only_inside_its_block() -> None:
    watch = Watch()
    with watching(watch):
        assert current_watch() is watch
    assert current_watch() is None
