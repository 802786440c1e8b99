// Unit tests of the plot control bar (js/plot.js) with fake anywidget and bqplot scale models in happy-dom.
import { describe, expect, it, vi } from "vitest";
import { fakeModel } from "./fakeModel.js";
import widget, { dragWindow, followWindow, mapWindow, niceTicks } from "../plot.js";

async function setup(extra = {}) {
  const xs0 = fakeModel({ min: 0, max: 999 });
  const xs1 = fakeModel({ min: 0, max: 199 });
  const model = fakeModel(
    {
      scales: ["IPY_MODEL_a", "IPY_MODEL_b"],
      extents: [
        [0, 1000],
        [0, 200],
      ],
      value: [0, 1000],
      followLatest: true,
      log: false,
      zoomSeq: 0,
      ...extra,
    },
    { a: xs0, b: xs1 },
  );
  const el = document.createElement("div");
  document.body.append(el);
  const cleanup = widget.render({ model, el });
  await new Promise((r) => setTimeout(r, 0)); // scale models resolve
  const track = el.querySelector(".k1w-track");
  track.getBoundingClientRect = () => ({ left: 0, width: 500, top: 0, height: 14, right: 500, bottom: 14 });
  const q = (cls) => el.querySelector(`.${cls}`);
  return { model, el, cleanup, q, xs0, xs1 };
}

function drag(handle, fromX, toX) {
  handle.dispatchEvent(new PointerEvent("pointerdown", { clientX: fromX, bubbles: true }));
  window.dispatchEvent(new PointerEvent("pointermove", { clientX: toX, bubbles: true }));
  window.dispatchEvent(new PointerEvent("pointerup", { clientX: toX, bubbles: true }));
}

describe("window rules", () => {
  it("maps a window proportionally", () => {
    expect(mapWindow([250, 500], [0, 1000], [0, 200])).toEqual([50, 100]);
    expect(mapWindow([1, 2], [5, 5], [0, 10])).toEqual([0, 10]);
  });
  it("follows the newest data", () => {
    expect(followWindow([0, 10], [0, 10], [0, 20])).toEqual([0, 20]);
    expect(followWindow([5, 8], [0, 10], [0, 20])).toEqual([17, 20]);
    expect(followWindow(null, null, [0, 3])).toEqual([0, 3]);
  });
  it("keeps drags inside the extent", () => {
    expect(dragWindow("lo", [0, 100], -50, [0, 100])).toEqual([0, 100]);
    expect(dragWindow("band", [10, 20], 500, [0, 100])).toEqual([90, 100]);
    expect(dragWindow("hi", [10, 20], -50, [0, 100])[1]).toBeGreaterThan(10);
  });
});

describe("round ticks", () => {
  it("are few whole multiples of a 1, 2, 2.5 or 5 step inside the range, zero exactly 0", () => {
    expect(niceTicks(0, 376, 4)).toEqual([0, 100, 200, 300]);
    expect(niceTicks(-0.3, 0.3, 5)).toEqual([-0.2, 0, 0.2]);
    expect(niceTicks(225.6, 376, 4)).toEqual([250, 300, 350]);
    expect(niceTicks(7, 7.5, 5)[0]).toBe(7);
    for (const [lo, hi] of [
      [0.0821, 9.36],
      [-5.91, 4.4e-16],
      [1e-9, 3e-9],
      [-1e6, -2],
    ]) {
      const t = niceTicks(lo, hi, 4);
      expect(t.length).toBeGreaterThanOrEqual(2);
      expect(t.length).toBeLessThanOrEqual(5);
      expect(t[0]).toBeGreaterThanOrEqual(lo);
      expect(t.at(-1)).toBeLessThanOrEqual(hi);
      if (lo <= 0 && hi >= 0) expect(t).toContain(0);
    }
    expect(niceTicks(3, 3, 4)).toEqual([3]);
  });

  it("are set on the round axes for the window shown, and follow a zoom", async () => {
    const ax = fakeModel({ num_ticks: 5, tick_values: [] });
    const { model, q } = await setup({ roundAxes: ["IPY_MODEL_ax"], scales: ["IPY_MODEL_a"], extents: [[0, 1000]] });
    model.widget_manager.get_model.mockImplementation(async (id) => ({ a: fakeModel({ min: 0, max: 999 }), ax })[id]);
    model.set("roundAxes", ["IPY_MODEL_ax"]);
    await new Promise((r) => setTimeout(r, 0));
    expect(ax.get("tick_values")).toEqual([0, 250, 500, 750, 1000]);
    drag(q("k1w-handle-lo"), 0, 300); // the window starts at 600
    expect(ax.get("tick_values")).toEqual([600, 700, 800, 900, 1000]);
  });
});

describe("plot control", () => {
  it("renders handles, labels and toggles with stable classes", async () => {
    const { el, q } = await setup();
    expect(el.classList.contains("k1w-plot-control")).toBe(true);
    expect(q("k1w-handle-lo").style.left).toBe("0%");
    expect(q("k1w-handle-hi").style.left).toBe("100%");
    expect(q("k1w-lo").textContent).toBe("0");
    expect(q("k1w-hi").textContent).toBe("1000");
    expect(q("k1w-follow").classList.contains("k1w-on")).toBe(true);
    expect(q("k1w-log").classList.contains("k1w-on")).toBe(false);
  });

  it("a drag zooms every panel's scale in the browser, proportionally", async () => {
    const { model, q, xs0, xs1 } = await setup();
    drag(q("k1w-handle-lo"), 0, 250); // half the track: 500 of 1000
    expect([xs0.get("min"), xs0.get("max")]).toEqual([500, 1000]);
    expect([xs1.get("min"), xs1.get("max")]).toEqual([100, 200]);
    expect(xs0.save_changes).toHaveBeenCalled();
    expect(model.get("value")).toEqual([500, 1000]); // sent to Python on release
    expect(model.save_changes).toHaveBeenCalled();
    expect(q("k1w-handle-lo").style.left).toBe("50%");
    expect(model.get("followLatest")).toBe(true); // the right edge is still at the end
    drag(q("k1w-handle-hi"), 500, 400);
    expect(model.get("followLatest")).toBe(false);
    expect([xs0.get("min"), xs0.get("max")]).toEqual([500, 800]);
  });

  it("keeps a local zoom while a busy kernel still pushes follow windows", async () => {
    const { model, q, xs0 } = await setup();
    drag(q("k1w-band"), 250, 250); // no-op drag: window stays
    drag(q("k1w-handle-hi"), 500, 250); // [0, 500], follow off locally
    // Python has not seen it yet and pushes its own follow update with more data
    model.set({ extents: [[0, 2000], [0, 400]], value: [0, 2000] });
    expect([xs0.get("min"), xs0.get("max")]).toEqual([0, 500]);
    // an explicit zoom from Python (zoomSeq) wins
    model.set({ value: [10, 20], zoomSeq: 1 });
    expect([xs0.get("min"), xs0.get("max")]).toEqual([10, 20]);
  });

  it("follows new data locally when following", async () => {
    const { model, q, xs0 } = await setup();
    drag(q("k1w-handle-lo"), 0, 400); // [800, 1000], follow stays on
    model.set("extents", [
      [0, 1500],
      [0, 300],
    ]);
    expect([xs0.get("min"), xs0.get("max")]).toEqual([1300, 1500]);
  });

  it("toggles log and follow, resets on double-click", async () => {
    const { model, q, xs0 } = await setup();
    q("k1w-log").click();
    expect(model.get("log")).toBe(true);
    expect(q("k1w-log").classList.contains("k1w-on")).toBe(true);
    drag(q("k1w-handle-hi"), 500, 100);
    q("k1w-follow").click();
    expect(model.get("followLatest")).toBe(true);
    expect(model.get("value")[1]).toBe(1000);
    q("k1w-track").dispatchEvent(new MouseEvent("dblclick", { bubbles: true }));
    expect([xs0.get("min"), xs0.get("max")]).toEqual([0, 1000]);
  });

  it("moves with the arrow keys", async () => {
    const { q, xs0 } = await setup();
    q("k1w-handle-lo").dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowRight", bubbles: true }));
    expect(xs0.get("min")).toBe(10);
  });

  it("cleans up its listeners and tells Python when it is shown and removed", async () => {
    const { model, cleanup } = await setup();
    expect(model.send).toHaveBeenCalledWith({ event: "rendered" });
    cleanup();
    expect(model.send).toHaveBeenLastCalledWith({ event: "removed" });
    for (const k of ["change:extents", "change:value", "change:zoomSeq"]) expect(model.handlers[k]).toEqual([]);
  });
});
