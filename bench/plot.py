"""Live plot cost, kernel side: decimate + push a 1,000,000-point series to its bqplot view.

Targets (issue 5): <= 1 ms per update and <= 64 KB per update message. An "update" is what a live
plot does at each feed notification (re-read the data, min-max decimate the visible window of every
line, assign the bqplot ``x``/``y`` arrays, push the control's extents), or on a zoom from the
browser. Messages are recorded by wrapping ``ipywidgets.Widget._send`` (the comm itself is the
no-kernel dummy), so the figures are Python work and message sizes, without the zmq send.

Run: ``python bench/plot.py``. Not a test: it prints figures (medians over the repeats; CPU time
from ``time.process_time`` is robust to other tenants of a shared machine, wall time is alongside).
"""

from __future__ import annotations

import statistics
import time

import ipywidgets
import numpy as np

from k1widgets.live import Feed, Series
from k1widgets.plot import SliceablePlot
from k1widgets.plot.decimate import LineData, decimateWindow, minmaxIndices

N = 1_000_000
REPEATS = 200

sent: list[tuple[object, dict, list]] = []
_orig = ipywidgets.Widget._send


def _record(self, msg, buffers=None):
    sent.append((self, msg, buffers or []))
    return _orig(self, msg, buffers)


ipywidgets.Widget._send = _record  # type: ignore[method-assign]


def msgBytes(msg: dict, buffers: list) -> int:
    import json

    return len(json.dumps(msg, default=str)) + sum(memoryview(b).nbytes for b in buffers)


def measure(label: str, fn, repeats: int = REPEATS) -> None:
    cpu, wall, sizes, counts = [], [], [], []
    for _ in range(repeats):
        sent.clear()
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - t0)
        counts.append(len(sent))
        sizes.extend(msgBytes(m, b) for _, m, b in sent)
    big = max(sizes) / 1024 if sizes else 0.0
    print(
        f"{label:<50} CPU {statistics.median(cpu) * 1e3:6.3f} ms, wall {statistics.median(wall) * 1e3:6.3f} ms "
        f"(medians), {statistics.median(counts):.0f} msgs/update, largest message {big:5.1f} KB"
    )


def main() -> None:
    rng = np.random.default_rng(0)
    values = rng.standard_normal(N).cumsum()
    print(f"series: {N:,} float64 points; point budget per line: 2000\n")

    # raw decimation, no cache
    ts = []
    for _ in range(50):
        t0 = time.perf_counter()
        minmaxIndices(values, 2000)
        ts.append(time.perf_counter() - t0)
    print(f"{'min-max decimation 1M -> 2k, no index (cold)':<52} {statistics.median(ts) * 1e3:7.3f} ms median")
    line = LineData("y", values)
    ts = []
    for _ in range(50):
        t0 = time.perf_counter()
        decimateWindow(line, 250_000, 750_000, 2000)
        ts.append(time.perf_counter() - t0)
    print(f"{'window [250k, 750k] + context, no index (cold)':<52} {statistics.median(ts) * 1e3:7.3f} ms median\n")

    # the live view: a growing Series followed through a Feed
    series = Series(capacity=N + REPEATS * 100 + 10)
    series.extend(values)
    feed = Feed(hz=0)  # no throttle: every changed() is an update
    SliceablePlot({"warm-up": [1.0]}).widget().close()  # first widget ever: one-off import/comm set-up
    t0 = time.perf_counter()
    view = SliceablePlot({"loss": series}, feed=feed).widget()
    print(f"{'view creation (first decimation, index build)':<52} {(time.perf_counter() - t0) * 1e3:7.3f} ms\n")

    def grow() -> None:
        series.extend(rng.standard_normal(100))
        feed.changed()

    measure("live update: +100 points, follow, full window", grow)

    view.control.value = [0.0, float(len(series) - 1)]

    def zoomStep(state={"i": 0}):  # noqa: B006 - a counter across calls
        i = state["i"] = state["i"] + 1
        lo = (i * 3_001) % 800_000
        view.control.value = [float(lo), float(lo + 150_000)]  # as a zoom message from the browser does

    measure("zoom: re-decimate a 150k-point window + context", zoomStep)

    view.control.followLatest = True
    view.control.value = [float(len(series) - 50_000), float(len(series) - 1)]
    measure("live update: +100 points, follow a 50k window", grow)
    mark = view.panels[0].marks[0]
    print(f"\npoints sent per line: {len(mark.x)} (x and y float64)")
    view.close()


if __name__ == "__main__":
    main()
