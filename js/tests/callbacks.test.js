// Unit tests of the callbacks table's render() with a fake anywidget model in happy-dom.
import { describe, expect, it } from "vitest";
import widget from "../callbacks.js";
import { fakeModel } from "./fakeModel.js";

const rows = [
  { name: "ProgressBar", cls: "ProgressBar", order: 10, checkpoints: ["startRun", "startBatch"], suspended: false, pending: "" },
  { name: "Loss", cls: "Loss", order: 20, checkpoints: ["endLoss"], suspended: true, pending: "" },
];

async function setup(state = {}) {
  const model = fakeModel({ rows, selected: "", details: {}, error: "", ...state });
  const el = document.createElement("div");
  document.body.append(el);
  const cleanup = await widget.render({ model, el });
  const row = (name) => el.querySelector(`tr[data-name="${name}"]`);
  return { model, el, cleanup, row };
}

describe("callbacks table", () => {
  it("renders rows in dispatch order with their checkpoints", async () => {
    const { el, row } = await setup();
    const names = [...el.querySelectorAll(".k1w-callbacks-name")].map((e) => e.textContent);
    expect(names).toEqual(["ProgressBar", "Loss"]);
    expect([...row("ProgressBar").querySelectorAll(".k1w-callbacks-chip")].map((e) => e.textContent)).toEqual([
      "startRun",
      "startBatch",
    ]);
    expect(row("ProgressBar").querySelector(".k1w-callbacks-toggle").checked).toBe(true);
    expect(row("Loss").querySelector(".k1w-callbacks-toggle").checked).toBe(false);
    expect(row("Loss").dataset.suspended).toBe("true");
    expect(row("Loss").textContent).toContain("suspended");
  });

  it("sends toggles and detaches, and selects rows", async () => {
    const { model, row } = await setup();
    const toggle = row("ProgressBar").querySelector(".k1w-callbacks-toggle");
    toggle.checked = false;
    toggle.dispatchEvent(new Event("change", { bubbles: true }));
    row("Loss").querySelector(".k1w-callbacks-detach").click();
    expect(model.send.mock.calls.map((c) => c[0])).toEqual([
      { action: "suspend", name: "ProgressBar", on: true },
      { action: "detach", name: "Loss" },
    ]);
    row("Loss").querySelector(".k1w-callbacks-name").click();
    expect(model.get("selected")).toBe("Loss");
    expect(model.save_changes).toHaveBeenCalled();
    expect(row("Loss").classList.contains("selected")).toBe(true);
  });

  it("shows pending edits, details and errors", async () => {
    const { model, el, row } = await setup();
    model.set("rows", [{ ...rows[0], pending: "suspend" }, rows[1]]);
    expect(row("ProgressBar").textContent).toContain("suspending…");
    expect(el.querySelector(".k1w-callbacks-details").hidden).toBe(true);
    model.set("details", { name: "Loss", text: "Callback `Loss`, use..." });
    expect(el.querySelector(".k1w-callbacks-details").hidden).toBe(false);
    expect(el.querySelector(".k1w-callbacks-details-text").textContent).toBe("Callback `Loss`, use...");
    model.set("error", "Unknown callback 'Los'.");
    expect(el.querySelector(".k1w-callbacks-error").textContent).toBe("Unknown callback 'Los'.");
  });

  it("cleans up", async () => {
    const { model, el, cleanup } = await setup();
    cleanup();
    expect(model.handlers["change:rows"]).toEqual([]);
    expect(el.querySelector(".k1w-callbacks")).toBeNull();
  });
});
