// Unit tests of the loss landscape view's render() and helpers with a fake anywidget model in happy-dom.
// happy-dom has no 2-D canvas context: drawing is skipped there (the browser tests look at it), but
// the labels, the slider, the mode toggle and hovering all run.
import { describe, expect, it } from "vitest";
import widget, { cellAt, colorAt, floats, fmt, gridOf, project, VIRIDIS } from "../landscape.js";
import { fakeModel } from "./fakeModel.js";

const n = 3;
// two scales of a 3 x 3 grid: rows are beta from the bottom, columns alpha
const values = new Float32Array([4, 3, 4, 3, 1, 3, 4, 3, 4, 40, 30, 40, 30, 10, 30, 40, 30, 40]);
const view = (a) => new DataView(a.buffer);

function state(extra = {}) {
  return {
    losses: view(values),
    shape: [2, n],
    scales: [0.1, 1.0],
    coords: [-1, 0, 1],
    contours: view(new Float32Array([0, 0, 1, 1])),
    contourOffsets: [0, 1, 1],
    logColor: true,
    centre: 1,
    scale: 0,
    view3d: false,
    ...extra,
  };
}

async function setup(extra) {
  const model = fakeModel(state(extra));
  const el = document.createElement("div");
  document.body.append(el);
  const cleanup = await widget.render({ model, el });
  const q = (cls) => el.querySelector(`.k1w-landscape-${cls}`);
  return { model, el, cleanup, q };
}

describe("landscape helpers", () => {
  it("maps [0, 1] onto viridis, NaN to grey", () => {
    expect(colorAt(0)).toEqual(VIRIDIS[0]);
    expect(colorAt(1)).toEqual(VIRIDIS[VIRIDIS.length - 1]);
    expect(colorAt(2)).toEqual(VIRIDIS[VIRIDIS.length - 1]);
    expect(colorAt(Number.NaN)).toEqual([220, 220, 220]);
  });

  it("finds the cell under the pointer, rows counted from the bottom", () => {
    expect(cellAt(0, 359, 360, 3)).toEqual({ i: 0, j: 0 });
    expect(cellAt(359, 0, 360, 3)).toEqual({ i: 2, j: 2 });
    expect(cellAt(180, 180, 360, 3)).toEqual({ i: 1, j: 1 });
    expect(cellAt(-1, 10, 360, 3)).toBeNull();
  });

  it("reads buffers and formats numbers", () => {
    expect(Array.from(floats(view(new Float32Array([1.5, 2]))))).toEqual([1.5, 2]);
    expect(Array.from(floats([1, 2]))).toEqual([1, 2]);
    expect(fmt(0.5)).toBe("0.5");
    expect(fmt(123456)).toBe("1.23e+5");
    expect(fmt(0)).toBe("0");
  });

  it("takes one scale's grid and its colour range (log10 when asked)", () => {
    const g = gridOf(values, 1, n, true);
    expect(g.raw[4]).toBe(10);
    expect(g.lo).toBeCloseTo(1);
    expect(g.hi).toBeCloseTo(Math.log10(40));
  });

  it("projects: no turn and no tilt keeps x and puts z up", () => {
    const [x, y] = project(0.5, 0, 1, 0, 0);
    expect(x).toBeCloseTo(0.5);
    expect(y).toBeCloseTo(-1);
  });
});

describe("landscape view", () => {
  it("renders the labels of the selected scale", async () => {
    const { el, q } = await setup();
    expect(el.querySelector(".k1w-landscape")).not.toBeNull();
    expect(q("range").textContent).toContain("scale 0.1");
    expect(q("range").textContent).toContain("centre loss 1");
    expect(q("hi").textContent).toBe("4");
    expect(q("lo").textContent).toBe("1");
    expect(q("slider").max).toBe("1");
    expect(q("mode").textContent).toBe("3-D surface");
  });

  it("the slider changes the scale here and in Python", async () => {
    const { model, el, q } = await setup();
    const slider = q("slider");
    slider.value = "1";
    slider.dispatchEvent(new Event("input"));
    expect(model.state.scale).toBe(1);
    expect(model.save_changes).toHaveBeenCalled();
    expect(el.querySelector(".k1w-landscape").dataset.scale).toBe("1");
    expect(q("hi").textContent).toBe("40");
    model.set("scale", 0); // and Python's changes come back
    expect(q("slider").value).toBe("0");
  });

  it("toggles the 3-D surface", async () => {
    const { model, el, q } = await setup();
    q("mode").click();
    expect(model.state.view3d).toBe(true);
    expect(el.querySelector(".k1w-landscape").dataset.mode).toBe("3d");
    expect(q("mode").textContent).toBe("heatmap");
  });

  it("hover shows alpha, beta and the loss", async () => {
    const { q } = await setup({ scale: 1 });
    const canvas = q("canvas");
    canvas.getBoundingClientRect = () => ({ left: 0, top: 0, width: 360, height: 360 });
    canvas.dispatchEvent(new MouseEvent("mousemove", { clientX: 350, clientY: 350 }));
    expect(q("tip").style.display).toBe("block");
    expect(q("tip").textContent).toBe("\u03b1 = 1, \u03b2 = -1, loss = 40");
    canvas.dispatchEvent(new MouseEvent("mouseleave"));
    expect(q("tip").style.display).toBe("none");
  });

  it("cleans up its listeners", async () => {
    const { model, cleanup } = await setup();
    cleanup();
    for (const list of Object.values(model.handlers)) expect(list.length).toBe(0);
  });
});
