"""Series, Feed (throttle, coalescing, flush) and CommandQueue."""

from __future__ import annotations

import itertools
import pickle
import threading
import time

import numpy as np
import pytest

from k1widgets.live import CommandQueue, Feed, Series


def test_series_grows_and_reads_without_copies():
    s = Series(capacity=2)
    for i in range(100):
        s.append(i)
    s.extend(np.arange(100, 150))
    assert len(s) == 150 and s[149] == 149 and s.tolist() == list(range(150))
    with pytest.raises(ValueError, match="read-only"):
        s.values[0] = 5
    assert pickle.loads(pickle.dumps(s)) == s


def test_feed_throttles_coalesces_and_flushes():
    feed = Feed(hz=10)
    calls = []
    sub = feed.subscribe(lambda: calls.append(time.perf_counter()))
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < 0.5:
        feed.changed()
    time.sleep(0.2)  # the trailing edge delivers the last change
    assert 5 <= len(calls) <= 8
    gaps = [b - a for a, b in itertools.pairwise(calls)]
    assert min(gaps) >= 0.095, gaps
    n = len(calls)
    feed.flush()
    assert len(calls) == n + 1, "flush always notifies"
    sub.remove()
    feed.flush()
    feed.changed()
    assert len(calls) == n + 1, "a removed subscriber hears nothing more"


def test_feed_never_loses_the_last_change():
    feed = Feed(hz=5)
    calls = []
    feed.subscribe(lambda: calls.append(time.perf_counter()))
    feed.changed()
    t0 = time.perf_counter()
    feed.changed()  # inside the 0.2 s interval: not now, but at its end
    assert len(calls) == 1
    time.sleep(0.35)
    assert len(calls) == 2 and 0.15 <= calls[1] - t0 <= 0.3


def test_feed_subscriptions_from_threads():
    feed = Feed(hz=1000)
    hits = []
    subs = []

    def worker():
        for _ in range(100):
            subs.append(feed.subscribe(lambda: hits.append(1)))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    feed.flush()
    assert len(hits) == 400


def test_command_queue_is_fifo_and_drains():
    q = CommandQueue()
    assert not q
    q.put("pause")
    q.put("cancel", ("run", "x"))
    assert q and q.drain() == [("pause", None), ("cancel", ("run", "x"))]
    assert q.drain() == []


def test_feed_repr_says_what_it_is_and_how_to_use_it():
    feed = Feed(hz=4)
    sub = feed.subscribe(lambda: None)
    feed.flush()
    text = repr(feed)
    assert text.startswith("Feed: 1 subscriber, at most 4 notifications a second, 1 sent so far. Use...")
    assert "- feed.subscribe(fn)" in text
    sub.remove()
    assert "(settings.live.hz)" in repr(Feed())
