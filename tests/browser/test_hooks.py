"""The live hook views in real JupyterLab (Chromium): growth during background and blocking runs, the
legend hiding a line, the shared slider zooming every panel, hover paths, the histogram heatmap."""

from __future__ import annotations

import itertools
import json
import math

import pytest
from playwright.sync_api import expect

from .conftest import append_and_run, lab_command, output, wait_kernel_idle

pytestmark = pytest.mark.browser

SETUP = """\
import time, torch
from torch import nn
from IPython.display import display
from k1widgets import Callback, Learner
from k1widgets.data import Data, FunctionDataset

class Slow(Callback):
    def endBatch(self):
        time.sleep(0.01)

class SkipBlock(nn.Module):
    def __init__(self, h=10):
        super().__init__()
        self.seq = nn.Sequential(nn.Linear(h, h), nn.LeakyReLU(), nn.Linear(h, h), nn.LeakyReLU())
    def forward(self, x):
        return self.seq(x) + x

def makeLearner(slow=False, css="SkipBlock: HookModule\\nLinear: HookParam"):
    torch.manual_seed(0)
    l = Learner()
    l.model = nn.Sequential(nn.Linear(1, 10), nn.LeakyReLU(), SkipBlock(), SkipBlock(), nn.Linear(10, 1))
    l.data = Data.fromDataset(FunctionDataset.exp, batchSize=64)
    l.opt = torch.optim.Adam(l.model.parameters(), lr=1e-2)
    l.lossF = lambda y, yb: ((y.squeeze() - yb) ** 2).mean()
    l.cbs.withModifyBatch(lambda x, y: (x[:, None].float(), y.float()))
    l.css = css
    l.HookModule.every = l.HookParam.every = 2
    if slow:
        l.cbs.append(Slow())
    return l

print("SETUP_OK")
"""
NOTEBOOK_CELLS = [SETUP]
T = 90_000  # ms

# Tick labels of each hook panel's x axis (ticks translated along x), as numbers.
XTICKS_JS = """(root) => [...root.querySelectorAll('.k1w-hooks-panel')].map(fig => {
  const groups = new Map();
  for (const t of fig.querySelectorAll('g.tick')) {
    const m = /translate\\(\\s*([-\\d.e+]+)[ ,]+([-\\d.e+]+)\\s*\\)/.exec(t.getAttribute('transform') || '');
    const text = t.querySelector('text');
    if (!m || !text) continue;
    const g = groups.get(t.parentNode) || {dx: 0, dy: 0, labels: []};
    g.dx += Math.abs(parseFloat(m[1])); g.dy += Math.abs(parseFloat(m[2]));
    g.labels.push(parseFloat(text.textContent.replace('\\u2212', '-').replace(',', '')));
    groups.set(t.parentNode, g);
  }
  for (const g of groups.values()) if (g.dx > g.dy) return g.labels;
  return [];
})"""

VISIBLE_CURVES_JS = """(root) => [...root.querySelectorAll('.k1w-hooks-panel')].map(fig =>
  [...fig.querySelectorAll('g.curve')].filter(c => c.getAttribute('display') !== 'none').length)"""


def assertRound(labels: list[float]) -> None:
    """Tick labels that are evenly spaced whole multiples of a step of 1, 2, 2.5 or 5 x 10^k."""
    assert len(labels) >= 2, labels
    step = labels[1] - labels[0]
    assert all(abs((b - a) - step) <= 1e-6 * step for a, b in itertools.pairwise(labels)), labels
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert any(abs(mantissa - m) < 1e-6 for m in (1, 2, 2.5, 5)), labels
    assert all(abs(t / step - round(t / step)) < 1e-6 for t in labels), labels


def xmax(view) -> float:
    return max(max(t) if t else -1 for t in view.evaluate(XTICKS_JS))


# the newest batch the view shows: the slider's right label (the data extent while following the latest)
HI_JS = "(root) => parseFloat((root.querySelector('.k1w-hi') || {}).textContent || '-1')"


def waitGrowth(pg, view, first: float, by: float = 50) -> None:
    pg.wait_for_function(
        "([root, first, by]) => (" + HI_JS + ")(root) > first + by", arg=[view.element_handle(), first, by], timeout=T
    )


def show(pg, code: str):
    idx = append_and_run(pg, code)
    view = output(pg, idx).locator(".k1w-hooks").first
    expect(view).to_be_visible(timeout=T)
    expect(view.locator(".k1w-hooks-panel g.tick").first).to_be_attached(timeout=T)
    expect(view.locator(".k1w-hooks-name").first).to_be_visible(timeout=T)
    return idx, view


@pytest.fixture(scope="module")
def ready(page):
    lab_command(page, "notebook:run-all-cells")
    expect(output(page, 0)).to_contain_text("SETUP_OK", timeout=T)
    wait_kernel_idle(page)
    return page


Y_TICKS_JS = """(panel) => {
  // the tick labels of the panel's vertical axis: the axis whose labels are stacked top to bottom
  for (const axis of panel.querySelectorAll(".axis")) {
    const texts = [...axis.querySelectorAll(".tick text")];
    const boxes = texts.map((t) => t.getBoundingClientRect());
    if (boxes.length > 1 && Math.abs(boxes[0].left - boxes[1].left) < Math.abs(boxes[0].top - boxes[1].top))
      return texts.map((t) => t.textContent);
  }
  return [];
}"""


def test_hook_param_view_grows_during_a_background_run(ready, artifacts):
    pg = ready
    _, view = show(pg, "lb = makeLearner(slow=True); h = lb.run(8, background=True); time.sleep(0.5); lb.HookParam")
    expect(view.locator(".k1w-hooks-panel")).to_have_count(6)
    expect(view.locator(".k1w-hooks-panel").nth(5)).to_contain_text("Update ratios")
    pg.wait_for_function("(root) => (" + HI_JS + ")(root) >= 0", arg=view.element_handle(), timeout=T)
    first = view.evaluate(HI_JS)
    ticks = xmax(view)
    view.screenshot(path=str(artifacts / "param_background_early.png"))
    waitGrowth(pg, view, first)
    assert xmax(view) > ticks  # the x axes followed
    view.screenshot(path=str(artifacts / "param_background_grown.png"))
    # gradient norms and update ratios cannot be negative: their y axes show no negative tick
    for panel in (4, 5):
        labels = view.locator(".k1w-hooks-panel").nth(panel).evaluate(Y_TICKS_JS)
        assert labels and not [t for t in labels if t.strip().startswith(("-", "\u2212"))], labels
    idx = append_and_run(pg, "h.wait(); print('RUN_DONE', lb.HookParam.samples)")
    expect(output(pg, idx)).to_contain_text("RUN_DONE", timeout=T)


def test_hook_module_view_grows_during_a_blocking_run(ready, artifacts):
    pg = ready
    wait_kernel_idle(pg)
    _, view = show(pg, "lk = makeLearner(slow=True); lk.run(1); v = lk.HookModule.widget(); display(v)")
    wait_kernel_idle(pg)
    before = view.evaluate(HI_JS)
    busy = append_and_run(pg, "lk.run(4); print('BLOCKING_DONE')", wait=False)
    waitGrowth(pg, view, before)
    still_busy = "BLOCKING_DONE" not in output(pg, busy).inner_text()
    view.screenshot(path=str(artifacts / "module_blocking_grown.png"))
    assert still_busy  # the view grew while the cell was still training
    expect(output(pg, busy)).to_contain_text("BLOCKING_DONE", timeout=T)
    wait_kernel_idle(pg)


def test_legend_hides_a_line_in_every_panel_and_hover_shows_the_path(ready, artifacts):
    pg = ready
    _, view = show(pg, "lg = makeLearner(); lg.run(2); lg.HookParam")
    wait_kernel_idle(pg)
    counts = view.evaluate(VISIBLE_CURVES_JS)
    assert counts == [12] * 6  # 6 Linear layers: a weight and a bias each
    view.locator(".k1w-hooks-name").nth(1).click()
    pg.wait_for_function(
        "(root) => (" + VISIBLE_CURVES_JS + ")(root).every(n => n === 11)", arg=view.element_handle(), timeout=T
    )
    expect(view.locator(".k1w-hooks-name").nth(1)).to_have_class("k1w-hooks-name k1w-off")
    view.screenshot(path=str(artifacts / "legend_hidden_line.png"))
    # hovering a line shows its module path; clicking it pins it (the pointer on a point of the line)
    path = view.locator(".k1w-hooks-panel").first.locator("g.curve path.line").nth(0)
    xy = path.evaluate(
        """(p) => { const q = p.getPointAtLength(p.getTotalLength() * 0.8), m = p.getScreenCTM();
                   return [q.x * m.a + q.y * m.c + m.e, q.x * m.b + q.y * m.d + m.f]; }"""
    )
    pg.mouse.move(xy[0], xy[1])
    tip = view.locator(".k1w-hooks-tip")
    expect(tip).to_be_visible(timeout=10_000)
    expect(tip).to_contain_text("(Parameter)")
    pg.mouse.click(xy[0], xy[1])
    expect(view.locator(".k1w-hooks-info")).to_contain_text("picked: ")
    expect(view.locator(".k1w-hooks-name.k1w-picked")).to_have_count(1)
    view.screenshot(path=str(artifacts / "hover_path.png"))
    # the hidden line stays hidden when Python redraws
    idx = append_and_run(pg, "lg.run(1); print('MORE_DONE')")
    expect(output(pg, idx)).to_contain_text("MORE_DONE", timeout=T)
    assert view.evaluate(VISIBLE_CURVES_JS) == [11] * 6


def test_slider_zooms_every_panel_and_the_heatmap_renders(ready, artifacts):
    pg = ready
    _, view = show(pg, "lz = makeLearner(); lz.run(3); vz = lz.HookModule.widget(); vz")
    wait_kernel_idle(pg)
    heat = view.locator(".k1w-hooks-heatmap")
    expect(heat).to_be_visible(timeout=T)
    expect(heat).to_contain_text("Activation histogram")
    # bqplot draws a HeatMap into an image (canvas data) inside the figure
    expect(heat.locator("image, canvas").first).to_be_attached(timeout=T)
    view.screenshot(path=str(artifacts / "module_view_heatmap.png"))
    before = view.evaluate(XTICKS_JS)
    assert len(before) == 9 and all(before)
    assert min(min(t) for t in before) >= 0, before  # no padding before the first batch (it showed -2)
    for labels in before:
        assertRound(labels)  # batches 0, 100, 200... (bqplot's own ticks read 0, 125, 251, 376)
    for panel in view.locator(".k1w-hooks-panel").all():
        # evenly spaced round ticks; a zero reads 0, never float noise such as 5.55e-17
        ys = [float(t.replace("\u2212", "-")) for t in panel.evaluate(Y_TICKS_JS)]
        assert len(ys) >= 2, ys
        steps = [b - a for a, b in itertools.pairwise(ys)]
        assert max(steps) - min(steps) <= 1e-6 * max(map(abs, steps)), ys
        assert all(y == 0 or abs(y) > 1e-9 * max(map(abs, ys)) for y in ys), ys
    handle = view.locator(".k1w-handle-lo")
    handle.scroll_into_view_if_needed()
    track = view.locator(".k1w-track").bounding_box()
    box = handle.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    pg.mouse.move(x, y)
    pg.mouse.down()
    for k in range(1, 11):
        pg.mouse.move(x + track["width"] * 0.6 * k / 10, y)
    pg.mouse.up()
    pg.wait_for_function(
        "([root, before]) => JSON.stringify((" + XTICKS_JS + ")(root)) !== before",
        arg=[view.element_handle(), json.dumps(before)],
        timeout=T,
    )
    pg.wait_for_timeout(500)
    after = view.evaluate(XTICKS_JS)
    view.screenshot(path=str(artifacts / "module_view_zoomed.png"))
    for b, a in zip(before, after, strict=True):
        assert min(a) > min(b)  # every panel starts later: one shared x scale
        assertRound(a)  # and its ticks are round for the zoomed window too
    wait_kernel_idle(pg)
    idx = append_and_run(pg, "print('WINDOW', vz.window[0] > 50, vz._shown)")
    expect(output(pg, idx)).to_contain_text("WINDOW True 1", timeout=T)
