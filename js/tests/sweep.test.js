// Unit tests of the sweep view's render() with a fake anywidget model in happy-dom.
import { describe, expect, it } from "vitest";
import widget, { colorOf, fmtTime, VIRIDIS } from "../sweep.js";
import { fakeModel } from "./fakeModel.js";

const state = {
  kind: "grid",
  title: "train → s.pkl",
  counts: { done: 2, failed: 1, running: 1, pending: 2, total: 6 },
  eta: 12.4,
  live: true,
  cancelled: false,
  dims: [
    { name: "lr", values: ["0.1", "1"] },
    { name: "hidden", values: ["8", "16", "32"] },
    { name: "seed", values: ["0", "1"] },
  ],
  vars: ["loss"],
  x: "hidden",
  y: "lr",
  var: "loss",
  fixed: { seed: 0 },
  aggregate: false,
  xLabels: ["8", "16", "32"],
  yLabels: ["0.1", "1"],
  values: [
    [0.5, 1.5, null],
    [null, null, null],
  ],
  status: ["oor", "fmm"],
  errors: { "1,0": "FloatingPointError: loss exploded" },
  range: [0.5, 1.5],
};

async function setup(s = state) {
  const model = fakeModel({ state: structuredClone(s), detail: {}, choice: {} });
  const el = document.createElement("div");
  document.body.append(el);
  const cleanup = await widget.render({ model, el });
  const q = (cls) => el.querySelector(`.k1w-sweep-${cls}`);
  const cells = () => [...el.querySelectorAll(".k1w-sweep-cell")];
  return { model, el, cleanup, q, cells };
}

describe("sweep view", () => {
  it("colours like the Python SVG and formats times", () => {
    expect(colorOf(0, 0, 1)).toBe(VIRIDIS[0]);
    expect(colorOf(1, 0, 1)).toBe(VIRIDIS[8]);
    expect(colorOf(5, 5, 5)).toBe(VIRIDIS[4]);
    expect(fmtTime(12.4)).toBe("12s");
    expect(fmtTime(125)).toBe("2m05s");
    expect(fmtTime(null)).toBe("-");
  });

  it("renders counts, ETA and one cell per point with its status", async () => {
    const { q, cells } = await setup();
    expect(q("done").textContent).toBe("2 done");
    expect(q("failed").textContent).toBe("1 failed");
    expect(q("running").textContent).toBe("1 running");
    expect(q("pending").textContent).toBe("2 pending");
    expect(q("status").textContent).toBe("ETA 12s");
    expect(cells().map((c) => c.dataset.status)).toEqual(["o", "o", "r", "f", "m", "m"]);
    expect(cells()[0].style.background).toBeTruthy();
    expect(cells()[3].dataset.tip).toBe("FloatingPointError: loss exploded");
    expect(q("cancel").disabled).toBe(false);
  });

  it("shows a failed cell's error on hover", async () => {
    const { q, cells } = await setup();
    cells()[3].dispatchEvent(new MouseEvent("mouseover", { bubbles: true }));
    expect(q("tip").textContent).toBe("FloatingPointError: loss exploded");
    expect(q("tip").style.display).toBe("block");
    expect(q("tip").classList.contains("k1w-sweep-tip-error")).toBe(true);
  });

  it("sends clicks, cancel and picker choices to Python", async () => {
    const { model, el, q, cells } = await setup();
    cells()[1].click();
    expect(model.send).toHaveBeenCalledWith({ action: "select", row: 0, col: 1 });
    expect(cells()[1].classList.contains("k1w-sweep-selected")).toBe(true);
    q("cancel").click();
    expect(model.send).toHaveBeenCalledWith({ action: "cancel" });
    expect(q("cancel").disabled).toBe(true);
    const seed = el.querySelector(".k1w-sweep-fixed select");
    seed.value = "1";
    seed.dispatchEvent(new Event("change"));
    expect(model.get("choice")).toEqual({ fixed: { seed: 1 } });
    const x = el.querySelector(".k1w-sweep-x select");
    x.value = "seed";
    x.dispatchEvent(new Event("change"));
    expect(model.get("choice")).toEqual({ fixed: { seed: 1 }, x: "seed" });
    expect(model.save_changes).toHaveBeenCalledTimes(2);
  });

  it("updates live and shows the clicked point's details", async () => {
    const { model, q, cells } = await setup();
    model.set("state", { ...structuredClone(state), live: false, cancelled: true, status: ["ooo", "fmm"] });
    expect(cells()[2].dataset.status).toBe("o");
    expect(q("status").textContent).toBe("cancelled");
    expect(q("cancel").disabled).toBe(true);
    model.set("detail", { params: { lr: "1", hidden: "8" }, values: {}, error: "FloatingPointError: x", traceback: "Traceback..." });
    expect(q("detail-params").textContent).toBe("lr=1, hidden=8");
    expect(q("detail-error").textContent).toBe("FloatingPointError: x");
    expect(q("detail-traceback").textContent).toBe("Traceback...");
  });

  it("cleans up its listeners and elements", async () => {
    const { model, el, cleanup } = await setup();
    cleanup();
    expect(el.querySelector(".k1w-sweep")).toBeNull();
    expect(model.handlers["change:state"]).toEqual([]);
    expect(model.handlers["change:detail"]).toEqual([]);
  });
});

describe("fmtValue", () => {
  it("keeps 4 significant digits and uses exponents for tiny or huge values", async () => {
    const { fmtValue } = await import("../sweep.js");
    expect(fmtValue(0.0375)).toBe("0.0375");
    expect(fmtValue(0.00009375)).toBe("9.38e−5");
    expect(fmtValue(123456)).toBe("1.23e5");
    expect(fmtValue(null)).toBe("-");
  });
});
