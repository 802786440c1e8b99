import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import tree, {
  CHILD_LIMIT,
  DEBOUNCE_MS,
  filterRows,
  formatCount,
  hookedMap,
  indexTree,
  pathOf,
  propsByNode,
  visibleRows,
} from "../tree.js";

/** Columnar structure (as Python's treeState sends it) from a nested [name, cls, children?] spec. */
function structureOf(spec) {
  const s = { n: 0, names: [], name: [], classes: [], cls: [], parent: [], nParams: [] };
  const intern = (table, v) => {
    const k = table.indexOf(v);
    if (k >= 0) return k;
    table.push(v);
    return table.length - 1;
  };
  const visit = ([name, cls, kids = []], parent) => {
    const i = s.n++;
    s.name.push(intern(s.names, name));
    s.cls.push(intern(s.classes, cls));
    s.parent.push(parent);
    s.nParams.push(cls === "Linear" ? 110 : 0);
    for (const k of kids) visit(k, i);
  };
  visit(spec, -1);
  return s;
}

const skip = (i) => [
  String(i),
  "SkipBlock",
  [["seq", "Sequential", [0, 1, 2, 3, 4, 5].map((j) => [String(j), j % 2 ? "LeakyReLU" : "Linear"])]],
];
// The seed README's network: 29 places.
const README = structureOf([
  "root",
  "Network",
  [["bulk", "Sequential", [["0", "Linear"], ["1", "LeakyReLU"], skip(2), skip(3), skip(4), ["5", "Linear"]]]],
]);

function fakeModel(state) {
  const handlers = {};
  return {
    state,
    saved: 0,
    get: (k) => state[k],
    set: (k, v) => {
      state[k] = v;
    },
    save_changes() {
      this.saved++;
    },
    send: () => {},
    on: (ev, f) => {
      (handlers[ev] ??= []).push(f);
    },
    off: (ev, f) => {
      handlers[ev] = (handlers[ev] ?? []).filter((g) => g !== f);
    },
    fire(k, v) {
      state[k] = v;
      for (const f of handlers[`change:${k}`] ?? []) f();
    },
    handlers,
  };
}

function mount(overrides = {}) {
  const model = fakeModel({
    structure: README,
    props: { names: [], nodes: [] },
    cssText: "",
    error: {},
    warnings: [],
    note: "",
    focus: -1,
    details: {},
    ...overrides,
  });
  const el = document.createElement("div");
  document.body.appendChild(el);
  const cleanup = tree.render({ model, el });
  return { model, el, cleanup };
}

const rows = (el) => [...el.querySelectorAll(".row:not(.more)")];
const rowOf = (el, i) => el.querySelector(`.row[data-index="${i}"]`);

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
  document.body.innerHTML = "";
});

describe("pure helpers", () => {
  it("indexes the columnar structure", () => {
    const t = indexTree(README);
    expect(t.n).toBe(29);
    expect(t.children[1]).toEqual([2, 3, 4, 12, 20, 28]);
    expect([t.name(6), t.cls(6), t.depth[6]]).toEqual(["0", "Linear", 4]);
    expect(pathOf(t, 6)).toBe("bulk.2.seq.0");
    expect(pathOf(t, 0)).toBe("(root)");
  });

  it("counts selected nodes inside subtrees", () => {
    const t = indexTree(README);
    const sel = propsByNode(t, { names: ["a", "all"], nodes: [[2, 28], [6, 8, 10]] });
    expect(sel.byNode[2]).toEqual(["a"]);
    expect(sel.selected).toBe(5);
    expect(sel.inside[0]).toBe(5);
    expect(sel.inside[4]).toBe(3);
  });

  it("limits children per node and offers more", () => {
    const big = structureOf(["root", "Net", Array.from({ length: 250 }, (_, i) => [String(i), "Linear"])]);
    const t = indexTree(big);
    const r = visibleRows(t, new Set([0]), new Map());
    expect(r.length).toBe(1 + CHILD_LIMIT + 1);
    expect(r.at(-1)).toMatchObject({ kind: "more", i: 0, hidden: 150 });
    expect(visibleRows(t, new Set(), new Map()).length).toBe(1);
  });

  it("filters by name, class or path with ancestors for context", () => {
    const t = indexTree(README);
    const f = filterRows(t, "leaky");
    expect(f.total).toBe(10);
    expect(f.rows.map((r) => r.i)).toContain(4); // seq of block 2, an ancestor
    expect(filterRows(t, "bulk.3.seq.5").total).toBe(1);
  });

  it("formats parameter counts", () => {
    expect([formatCount(12), formatCount(1234), formatCount(123456), formatCount(2500000)]).toEqual([
      "12",
      "1.2k",
      "123k",
      "2.5M",
    ]);
  });
});

describe("render", () => {
  it("shows the whole small tree with names, classes, params and coloured tags", () => {
    const { el } = mount({ props: { names: ["a", "all"], nodes: [[2, 28], [6]] }, cssText: "#bulk > Linear: a" });
    const root = el.querySelector(".k1w-tree");
    expect(root).not.toBeNull();
    expect(rows(el).length).toBe(29);
    const r2 = rowOf(el, 2);
    expect(r2.querySelector(".name").textContent).toBe("0");
    expect(r2.querySelector(".cls").textContent).toBe("Linear");
    expect(r2.querySelector(".nparams").textContent).toBe("110");
    expect(r2.classList.contains("selected")).toBe(true);
    expect(r2.querySelector(".tag").textContent).toBe("a");
    expect(r2.querySelector(".tag").style.background).toContain("hsl");
    expect(rowOf(el, 3).classList.contains("selected")).toBe(false);
    expect(el.querySelector(".css-input").value).toBe("#bulk > Linear: a");
    expect(el.querySelector(".summary").textContent).toBe("3 of 29 modules selected");
  });

  it("sends the CSS after the debounce, once", () => {
    const { el, model } = mount();
    const box = el.querySelector(".css-input");
    box.value = "SkipBlock";
    box.dispatchEvent(new Event("input"));
    box.value = "SkipBlock LeakyReLU";
    box.dispatchEvent(new Event("input"));
    expect(model.saved).toBe(0);
    vi.advanceTimersByTime(DEBOUNCE_MS + 1);
    expect(model.state.cssText).toBe("SkipBlock LeakyReLU");
    expect(model.saved).toBe(1);
  });

  it("highlights the selection Python sends back", () => {
    const { el, model } = mount();
    model.fire("props", { names: ["all"], nodes: [[7, 9, 11, 15, 17, 19, 23, 25, 27]] });
    expect(el.querySelectorAll(".row.selected").length).toBe(9);
    expect(rowOf(el, 7).querySelector(".tag").textContent).toBe("all");
  });

  it("shows a parse error with its caret, and clears it", () => {
    const { el, model } = mount();
    const message = "expected a class name (Linear), a module name (#bulk) or * after '>'\n  SkipBlock >\n             ^";
    model.fire("error", { message, position: 11, statement: "SkipBlock >" });
    const err = el.querySelector(".css-error");
    expect(err.hidden).toBe(false);
    expect(err.textContent.split("\n")[2]).toBe("             ^");
    expect(el.querySelector(".css-input").classList.contains("invalid")).toBe(true);
    model.fire("error", {});
    expect(err.hidden).toBe(true);
  });

  it("lists warnings and the run note", () => {
    const { el, model } = mount();
    model.fire("warnings", ["CSS rule 'Linaer: x' matches no module (did you mean 'Linear'?)."]);
    expect(el.querySelector(".css-warnings .warning").textContent).toContain("did you mean 'Linear'");
    model.fire("note", "The learner is running: hooks use the new CSS from the next run on.");
    expect(el.querySelector(".note").hidden).toBe(false);
  });

  it("takes CSS set from Python into the box", () => {
    const { el, model } = mount();
    model.fire("cssText", "#bulk > Linear: a");
    expect(el.querySelector(".css-input").value).toBe("#bulk > Linear: a");
  });

  it("collapses and expands, with a count of selected nodes inside", () => {
    const { el, model } = mount({ props: { names: ["all"], nodes: [[6, 8]] } });
    rowOf(el, 4).querySelector(".toggle").click();
    expect(rowOf(el, 5)).toBeNull();
    expect(rowOf(el, 4).querySelector(".inside").textContent).toBe("2 selected inside");
    rowOf(el, 4).querySelector(".toggle").click();
    expect(rowOf(el, 5)).not.toBeNull();
    expect(model.saved).toBe(0); // expanding never talks to the kernel
  });

  it("focuses a clicked node: path at once, rule and params from Python", () => {
    const { el, model } = mount();
    rowOf(el, 6).querySelector(".name").click();
    expect(model.state.focus).toBe(6);
    expect(rowOf(el, 6).classList.contains("focused")).toBe(true);
    expect(el.querySelector(".details .path").textContent).toBe("bulk.2.seq.0");
    model.fire("details", {
      index: 6,
      path: "bulk.2.seq.0",
      cls: "Linear",
      rule: "#2 > #seq > #0",
      ruleCount: 1,
      classCount: 11,
      params: [
        ["weight", [10, 10], 100],
        ["bias", [10], 10],
      ],
      places: 1,
    });
    expect(el.querySelector(".details .rule").textContent).toBe("#2 > #seq > #0");
    expect(el.querySelectorAll(".details .param").length).toBe(2);
    expect(el.querySelector(".details .pshape").textContent).toBe("[10, 10]");
    el.querySelector(".details .add-rule").click();
    expect(model.state.cssText).toBe("#2 > #seq > #0");
  });

  it("filters rows without the kernel", () => {
    const { el, model } = mount();
    const f = el.querySelector(".filter-input");
    f.value = "LeakyReLU";
    f.dispatchEvent(new Event("input"));
    vi.advanceTimersByTime(200);
    expect(el.querySelectorAll(".row.match").length).toBe(10);
    expect(el.querySelector(".summary").textContent).toContain("10 matches");
    expect(model.saved).toBe(0);
  });

  it("stays small on a 5,000-module model", () => {
    const layers = Array.from({ length: 512 }, (_, i) => [
      String(i),
      "TransformerEncoderLayer",
      ["self_attn", "linear1", "dropout", "linear2", "norm1", "norm2", "dropout1", "dropout2", "x"].map((n) => [n, "M"]),
    ]);
    const big = structureOf(["root", "TransformerEncoder", [["layers", "ModuleList", layers]]]);
    expect(big.n).toBe(2 + 512 * 10);
    const t0 = performance.now();
    const { el } = mount({ structure: big });
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(rows(el).length).toBe(2 + CHILD_LIMIT);
    el.querySelector(".row.more").click();
    expect(rows(el).length).toBe(2 + 2 * CHILD_LIMIT);
  });

  it("rebuilds on a new structure and cleans up its listeners", () => {
    const { el, model, cleanup } = mount();
    model.fire("structure", structureOf(["root", "Linear"]));
    expect(rows(el).length).toBe(1);
    cleanup();
    expect(Object.values(model.handlers).every((hs) => hs.length === 0)).toBe(true);
  });
});

describe("hooked modules", () => {
  it("maps nodes to badges", () => {
    const m = hookedMap({ module: [4, 12], param: [12, 6] });
    expect(m.get(4).label).toBe("◉");
    expect(m.get(12).label).toBe("◉◆");
    expect(m.get(6).title).toMatch(/HookParam/);
    expect(hookedMap(undefined).size).toBe(0);
  });

  it("marks the rows the hook callbacks record, and follows changes", () => {
    const { model, el, cleanup } = mount({ focus: 6, hooked: { module: [4], param: [6] } });
    expect(rowOf(el, 4).querySelector(".hooked").textContent).toBe("◉");
    expect(rowOf(el, 4).classList.contains("is-hooked")).toBe(true);
    expect(rowOf(el, 6).querySelector(".hooked").textContent).toBe("◆");
    expect(rowOf(el, 2).querySelector(".hooked")).toBeNull();
    model.fire("hooked", { module: [2], param: [] });
    expect(rowOf(el, 2).querySelector(".hooked").textContent).toBe("◉");
    expect(rowOf(el, 4).querySelector(".hooked")).toBeNull();
    cleanup();
  });
});
