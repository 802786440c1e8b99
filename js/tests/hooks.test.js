// Unit tests of the hook views' legend (js/hooks.js) with fake anywidget and bqplot Lines models in happy-dom.
import { afterEach, describe, expect, it } from "vitest";
import { fakeModel } from "./fakeModel.js";
import widget, { curveIndex, curvesSubset } from "../hooks.js";

afterEach(() => {
  document.body.innerHTML = "";
});

/** A hook view's box with one bqplot-like panel of `n` curves, and the legend inside it. */
async function setup(n = 3) {
  const marks = [fakeModel({ curves_subset: [] }), fakeModel({ curves_subset: [] })];
  const model = fakeModel(
    {
      names: Array.from({ length: n }, (_, i) => `${i}. m${i}`),
      details: Array.from({ length: n }, (_, i) => `${i}. bulk.${i} (Linear)`),
      colors: ["#1f77b4", "#ff7f0e", "#2ca02c"],
      marks: ["IPY_MODEL_a", "IPY_MODEL_b"],
      hidden: [],
      picked: -1,
    },
    { a: marks[0], b: marks[1] },
  );
  const box = document.createElement("div");
  box.className = "k1w-hooks";
  const panel = document.createElement("div");
  panel.className = "k1w-hooks-panel";
  const svgNs = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(svgNs, "svg");
  for (let i = 0; i < n; i++) {
    const g = document.createElementNS(svgNs, "g");
    g.setAttribute("class", "curve");
    const path = document.createElementNS(svgNs, "path");
    path.setAttribute("class", "line");
    g.append(path);
    svg.append(g);
  }
  panel.append(svg);
  const el = document.createElement("div");
  box.append(panel, el);
  document.body.append(box);
  const cleanup = widget.render({ model, el });
  await new Promise((r) => setTimeout(r, 20)); // mark models resolve, the box is found
  return { model, el, box, marks, cleanup, paths: [...box.querySelectorAll("path.line")] };
}

describe("helpers", () => {
  it("computes curves_subset from hidden lines", () => {
    expect(curvesSubset(4, [])).toEqual([]);
    expect(curvesSubset(4, [1, 3])).toEqual([0, 2]);
    expect(curvesSubset(2, [0, 1])).toEqual([-1]);
  });
});

describe("legend", () => {
  it("lists every line and hides one in every panel on click", async () => {
    const { model, el, marks, cleanup } = await setup();
    const items = el.querySelectorAll(".k1w-hooks-name");
    expect([...items].map((x) => x.textContent)).toEqual(["0. m0", "1. m1", "2. m2"]);
    items[1].click();
    expect(model.get("hidden")).toEqual([1]);
    expect(model.save_changes).toHaveBeenCalled();
    for (const m of marks) expect(m.get("curves_subset")).toEqual([0, 2]);
    expect(el.querySelectorAll(".k1w-hooks-name")[1].classList.contains("k1w-off")).toBe(true);
    el.querySelectorAll(".k1w-hooks-name")[1].click();
    for (const m of marks) expect(m.get("curves_subset")).toEqual([]);
    el.querySelector(".k1w-hooks-none").click();
    for (const m of marks) expect(m.get("curves_subset")).toEqual([-1]);
    el.querySelector(".k1w-hooks-all").click();
    expect(model.get("hidden")).toEqual([]);
    cleanup();
  });

  it("shows the module path on hover and picks a line on click", async () => {
    const { model, el, paths, cleanup } = await setup();
    expect(curveIndex(paths[2])).toBe(2);
    paths[2].dispatchEvent(new MouseEvent("mouseover", { bubbles: true, clientX: 10, clientY: 10 }));
    const tip = el.querySelector(".k1w-hooks-tip");
    expect(tip.style.display).toBe("block");
    expect(tip.textContent).toBe("2. bulk.2 (Linear)");
    paths[2].dispatchEvent(new MouseEvent("mouseout", { bubbles: true }));
    expect(tip.style.display).toBe("none");
    paths[1].dispatchEvent(new MouseEvent("click", { bubbles: true }));
    expect(model.get("picked")).toBe(1);
    expect(el.querySelector(".k1w-hooks-info").textContent).toBe("picked: 1. bulk.1 (Linear)");
    expect(paths[1].classList.contains("k1w-picked-line")).toBe(true);
    cleanup();
    paths[0].dispatchEvent(new MouseEvent("click", { bubbles: true }));
    expect(model.get("picked")).toBe(1); // cleaned up: no more listeners
  });
});
