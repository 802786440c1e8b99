"""SliceablePlot's live view in real JupyterLab (Chromium): render, slider zoom, log toggle, live growth.

Also times a slider drag on a live 1,000,000-point plot, from the pointer event to the redrawn
x axis, in the browser (``plot_drag_timing.json`` in the artifacts; the figure is printed).
"""

from __future__ import annotations

import json
import statistics

import pytest
from playwright.sync_api import expect

from .conftest import append_and_run, lab_command, output, wait_kernel_idle

pytestmark = pytest.mark.browser

SETUP = """\
import time, threading, numpy as np, torch
from torch import nn
from k1widgets import Callback, Learner
from k1widgets.data import Data, FunctionDataset

class Slow(Callback):
    def endBatch(self):
        time.sleep(0.005)

def makeLearner(slow=False):
    torch.manual_seed(0)
    l = Learner()
    l.model = nn.Sequential(nn.Linear(1, 10), nn.LeakyReLU(), nn.Linear(10, 1))
    l.data = Data.fromDataset(FunctionDataset.exp, batchSize=64)
    l.opt = torch.optim.Adam(l.model.parameters(), lr=1e-2)
    l.lossF = lambda y, yb: ((y.squeeze() - yb) ** 2).mean()
    l.cbs.withModifyBatch(lambda x, y: (x[:, None].float(), y.float()))
    if slow:
        l.cbs.append(Slow())
    return l

print("SETUP_OK")
"""
NOTEBOOK_CELLS = [SETUP]
T = 90_000  # ms

# Tick labels per panel, split into the x axis (ticks translated along x) and the y axis.
TICKS_JS = """(root) => [...root.querySelectorAll('.k1w-plot-panel')].map(fig => {
  const groups = new Map();
  for (const t of fig.querySelectorAll('g.tick')) {
    const m = /translate\\(\\s*([-\\d.e+]+)[ ,]+([-\\d.e+]+)\\s*\\)/.exec(t.getAttribute('transform') || '');
    const text = t.querySelector('text');
    if (!m || !text) continue;
    const g = groups.get(t.parentNode) || {dx: 0, dy: 0, labels: []};
    g.dx += Math.abs(parseFloat(m[1])); g.dy += Math.abs(parseFloat(m[2]));
    g.labels.push(text.textContent);
    groups.set(t.parentNode, g);
  }
  const out = {x: [], y: []};
  for (const g of groups.values()) (g.dx > g.dy ? out.x : out.y).push(...g.labels);
  return out;
})"""


def ticks(view):
    return view.evaluate(TICKS_JS)


def num(label: str) -> float:
    return float(label.replace("\u2212", "-").replace(",", ""))


def drag(pg, handle, dx: float) -> None:
    handle.scroll_into_view_if_needed()  # mouse events only reach what is in the viewport
    box = handle.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    pg.mouse.move(x, y)
    pg.mouse.down()
    for k in range(1, 11):  # a real drag: several moves
        pg.mouse.move(x + dx * k / 10, y)
    pg.mouse.up()


def show(pg, code: str):
    """Runs ``code`` in a new cell; returns the plot view in its output."""
    idx = append_and_run(pg, code)
    view = output(pg, idx).locator(".k1w-plot").first
    expect(view).to_be_visible(timeout=T)
    expect(view.locator(".k1w-plot-panel g.tick").first).to_be_attached(timeout=T)
    expect(view.locator(".k1w-plot-control .k1w-handle-lo")).to_be_visible(timeout=T)
    return idx, view


@pytest.fixture(scope="module")
def ready(page):
    lab_command(page, "notebook:run-all-cells")
    expect(output(page, 0)).to_contain_text("SETUP_OK", timeout=T)
    wait_kernel_idle(page)
    return page


def test_loss_plot_renders_and_slider_zooms_both_panels(ready, artifacts):
    pg = ready
    _, view = show(pg, "l = makeLearner(); l.run(2); v = l.Loss.plot().widget(); v")
    wait_kernel_idle(pg)
    expect(view.locator(".k1w-plot-panel")).to_have_count(2)
    expect(view.locator(".k1w-plot-panel").first).to_contain_text("Train loss", timeout=T)
    expect(view.locator(".k1w-plot-panel path.line").first).to_be_attached()
    before = ticks(view)
    view.screenshot(path=str(artifacts / "loss_plot.png"))
    assert len(before) == 2 and all(p["x"] for p in before)
    track = view.locator(".k1w-track").bounding_box()
    drag(pg, view.locator(".k1w-handle-lo"), track["width"] * 0.5)  # left handle to the middle
    pg.wait_for_function(
        "([root, before]) => JSON.stringify((" + TICKS_JS + ")(root).map(p => p.x)) !== before",
        arg=[view.element_handle(), json.dumps([p["x"] for p in before])],
        timeout=T,
    )
    pg.wait_for_timeout(300)
    after = ticks(view)
    view.screenshot(path=str(artifacts / "slider_zoomed.png"))
    for b, a in zip(before, after, strict=True):
        assert num(a["x"][0]) > num(b["x"][0])  # both panels now start later
        assert num(a["x"][-1]) >= num(b["x"][-1]) * 0.8  # and still end near the end
    # Python got the window (the kernel is idle here) and re-decimated the lines for it
    wait_kernel_idle(pg)
    idx = append_and_run(pg, "print('WINDOW', v.window[0] > 100, v.window[1] == v.control.extents[0][1], v._shown)")
    expect(output(pg, idx)).to_contain_text("WINDOW True True 1", timeout=T)  # and the front end said it shows


def test_slider_zooms_while_the_kernel_is_busy(ready, artifacts):
    pg = ready
    _, view = show(pg, "lz = makeLearner(); lz.run(1); lz.Loss.plot()")
    wait_kernel_idle(pg)
    before = ticks(view)
    busy = append_and_run(pg, "time.sleep(8); print('BUSY_DONE')", wait=False)
    pg.wait_for_timeout(500)
    track = view.locator(".k1w-track").bounding_box()
    drag(pg, view.locator(".k1w-handle-hi"), -track["width"] * 0.5)  # right handle to the middle
    pg.wait_for_function(
        "([root, before]) => JSON.stringify((" + TICKS_JS + ")(root).map(p => p.x)) !== before",
        arg=[view.element_handle(), json.dumps([p["x"] for p in before])],
        timeout=5_000,
    )
    after = ticks(view)
    still_busy = "BUSY_DONE" not in output(pg, busy).inner_text()
    view.screenshot(path=str(artifacts / "zoom_while_busy.png"))
    assert still_busy  # zoomed in the browser alone, while the kernel ran the cell
    for b, a in zip(before, after, strict=True):
        assert num(a["x"][-1]) < num(b["x"][-1])
    expect(output(pg, busy)).to_contain_text("BUSY_DONE", timeout=T)
    wait_kernel_idle(pg)


def test_log_toggle_changes_the_ticks(ready, artifacts):
    pg = ready
    _, view = show(pg, "l = makeLearner(); l.run(3); l.Loss.plot()")
    wait_kernel_idle(pg)
    before = ticks(view)
    view.locator(".k1w-log").click()
    pg.wait_for_function(
        "([root, before]) => JSON.stringify((" + TICKS_JS + ")(root).map(p => p.y)) !== before",
        arg=[view.element_handle(), json.dumps([p["y"] for p in before])],
        timeout=T,
    )
    pg.wait_for_timeout(300)
    after = ticks(view)
    view.screenshot(path=str(artifacts / "log_scale.png"))
    assert [p["y"] for p in after] != [p["y"] for p in before]
    expect(view.locator(".k1w-log")).to_have_class("k1w-log k1w-on")


def test_plot_displayed_during_a_background_run_grows(ready, artifacts):
    pg = ready
    _, view = show(pg, "lb = makeLearner(slow=True); h = lb.run(4, background=True); time.sleep(0.5); lb.Loss.plot()")
    first = max(num(t) for t in ticks(view)[0]["x"])
    view.screenshot(path=str(artifacts / "background_early.png"))
    pg.wait_for_function(
        "([root, first]) => Math.max(...(" + TICKS_JS + ")(root)[0].x.map(t => parseFloat(t.replace(',', ''))))"
        " > first * 1.5 + 10",
        arg=[view.element_handle(), first],
        timeout=T,
    )
    view.screenshot(path=str(artifacts / "background_grown.png"))
    idx = append_and_run(pg, "h.wait(); print('RUN_DONE', len(lb.Loss.train))")
    expect(output(pg, idx)).to_contain_text("RUN_DONE", timeout=T)


DRAG_TIMING_JS = """async (root) => {
  const handle = root.querySelector('.k1w-handle-lo');
  const track = root.querySelector('.k1w-track').getBoundingClientRect();
  const fig = root.querySelector('.k1w-plot-panel');
  const sample = async (to) => {
    const hb = handle.getBoundingClientRect();
    const x0 = hb.left + hb.width / 2, y = hb.top + hb.height / 2;
    const t0 = performance.now();
    const changed = new Promise(resolve => {
      const obs = new MutationObserver(() => { obs.disconnect(); resolve(performance.now()); });
      obs.observe(fig, {subtree: true, childList: true, characterData: true, attributes: true});
    });
    handle.dispatchEvent(new PointerEvent('pointerdown', {clientX: x0, clientY: y, bubbles: true}));
    window.dispatchEvent(new PointerEvent('pointermove', {clientX: to, clientY: y, bubbles: true}));
    const t1 = await changed;
    await new Promise(r => requestAnimationFrame(() => r()));
    const t2 = performance.now();
    window.dispatchEvent(new PointerEvent('pointerup', {clientX: to, clientY: y, bubbles: true}));
    return [t1 - t0, t2 - t0];
  };
  const out = [];
  for (let i = 0; i < 12; i++) {
    const frac = 0.1 + 0.06 * (i % 6);
    out.push(await sample(track.left + track.width * frac));
    await new Promise(r => setTimeout(r, 150));
  }
  return out;
}"""


def test_slider_drag_timing_on_a_live_million_point_plot(ready, artifacts):
    pg = ready
    code = (
        "from k1widgets.live import Series, Feed\n"
        "from k1widgets.plot import SliceablePlot\n"
        "big = Series(capacity=1_200_000); big.extend(np.random.default_rng(0).standard_normal(1_000_000).cumsum())\n"
        "bigFeed = Feed(hz=10); stopBig = threading.Event()\n"
        "def grow():\n"
        "    while not stopBig.is_set():\n"
        "        big.extend(np.random.default_rng().standard_normal(500) + big.values[-1]); bigFeed.changed()\n"
        "        time.sleep(0.1)\n"
        "threading.Thread(target=grow, daemon=True).start()\n"
        "SliceablePlot({'1M points': big}, feed=bigFeed)"
    )
    _, view = show(pg, code)
    pg.wait_for_timeout(1500)  # let it grow a little
    timings = view.evaluate(DRAG_TIMING_JS)
    view.screenshot(path=str(artifacts / "million_points_zoomed.png"))
    append_and_run(pg, "stopBig.set()")
    toAxis = [a for a, _ in timings]
    toFrame = [b for _, b in timings]
    result = {
        "points": 1_000_000,
        "drags": len(timings),
        "pointer_to_axis_mutation_ms_median": statistics.median(toAxis),
        "pointer_to_next_frame_ms_median": statistics.median(toFrame),
        "pointer_to_next_frame_ms_max": max(toFrame),
        "samples": timings,
    }
    (artifacts / "plot_drag_timing.json").write_text(json.dumps(result, indent=2))
    axis, frame = result["pointer_to_axis_mutation_ms_median"], result["pointer_to_next_frame_ms_median"]
    print(
        f"\nslider drag on a live 1M-point plot: axis redrawn {axis:.1f} ms after the pointer event "
        f"(median of {len(timings)}), next frame {frame:.1f} ms (max {result['pointer_to_next_frame_ms_max']:.1f} ms)"
    )
    assert result["pointer_to_next_frame_ms_median"] < 1000
