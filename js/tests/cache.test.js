// The cache view's render(): rows per entry, summary, delete / clear / refresh messages, updates, cleanup.
import { describe, expect, it } from "vitest";
import view from "../cache.js";
import { fakeModel } from "./fakeModel.js";

const entry = (name, extra = {}) => ({
  name,
  key: name,
  size: 46,
  sizeText: "46 B",
  age: 3,
  ageText: "3s",
  status: "ok",
  arguments: "m=-100, n=200, iterations=4, stride=2",
  seconds: 0.25,
  ...extra,
});

function setup(entries) {
  const state = {
    function: "demo.expensive",
    folder: "/tmp/results",
    hits: 2,
    misses: 3,
    totalSize: "92 B",
    entries,
  };
  const model = fakeModel({ state });
  const el = document.createElement("div");
  document.body.append(el);
  const cleanup = view.render({ model, el });
  const rows = () => [...el.querySelectorAll(".k1w-cache-row")];
  return { model, el, cleanup, rows };
}

describe("cache view", () => {
  it("lists every entry with its size, age, time taken, status and arguments", () => {
    const { el, rows, cleanup } = setup([entry("a.csv"), entry("b.csv.corrupt-20260101-000000", { status: "corrupt" })]);
    expect(el.querySelector(".k1w-cache-title").textContent).toBe("demo.expensive");
    expect(el.querySelector(".k1w-cache-summary").textContent).toBe("2 entries, 92 B · 2 hits, 3 misses");
    expect(el.querySelector(".k1w-cache-folder").textContent).toBe("in /tmp/results");
    expect(rows().map((r) => r.getAttribute("data-name"))).toEqual(["a.csv", "b.csv.corrupt-20260101-000000"]);
    const cells = [...rows()[0].querySelectorAll("td")].map((c) => c.textContent);
    expect(cells).toEqual(["a.csv", "46 B", "3s ago", "250 ms", "ok", "m=-100, n=200, iterations=4, stride=2", "Delete"]);
    expect(rows()[1].querySelector(".k1w-cache-badge").className).toContain("k1w-cache-corrupt");
    expect(el.querySelector(".k1w-cache-empty").hidden).toBe(true);
    cleanup();
  });

  it("sends delete, clear and refresh messages", () => {
    const { el, model, rows, cleanup } = setup([entry("a.csv"), entry("b.csv")]);
    rows()[1].querySelector(".k1w-cache-delete").click();
    expect(model.send).toHaveBeenLastCalledWith({ action: "delete", name: "b.csv" });
    expect(rows()[1].querySelector(".k1w-cache-delete").disabled).toBe(true);
    el.querySelector(".k1w-cache-refresh").click();
    expect(model.send).toHaveBeenLastCalledWith({ action: "refresh" });
    el.querySelector(".k1w-cache-clear").click();
    expect(model.send).toHaveBeenLastCalledWith({ action: "clear" });
    cleanup();
  });

  it("says 1 entry, 1 hit, 1 miss in the singular", () => {
    const { el, model, cleanup } = setup([entry("a.csv")]);
    model.set("state", { ...model.get("state"), hits: 1, misses: 1, totalSize: "46 B" });
    expect(el.querySelector(".k1w-cache-summary").textContent).toBe("1 entry, 46 B · 1 hit, 1 miss");
    cleanup();
  });

  it("follows state changes, shows errors and the empty cache", () => {
    const { el, model, rows, cleanup } = setup([entry("a.csv"), entry("b.csv")]);
    model.set("state", { ...model.get("state"), entries: [entry("a.csv")], error: "'x' is not an entry" });
    expect(rows()).toHaveLength(1);
    expect(el.querySelector(".k1w-cache-error").hidden).toBe(false);
    expect(el.querySelector(".k1w-cache-error").textContent).toBe("'x' is not an entry");
    model.set("state", { ...model.get("state"), entries: [], error: "" });
    expect(rows()).toHaveLength(0);
    expect(el.querySelector(".k1w-cache-empty").hidden).toBe(false);
    expect(el.querySelector(".k1w-cache-clear").disabled).toBe(true);
    expect(el.querySelector(".k1w-cache-summary").textContent).toMatch(/^0 entries/);
    cleanup();
  });

  it("cleans up: listeners removed and the root gone", () => {
    const { el, model, cleanup } = setup([entry("a.csv")]);
    cleanup();
    expect(el.querySelector(".k1w-cache")).toBeNull();
    expect(model.handlers["change:state"]).toHaveLength(0);
    el.querySelector(".k1w-cache-refresh")?.click();
    expect(model.send).not.toHaveBeenCalled();
  });
});
