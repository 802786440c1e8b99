// Unit tests of the dashboard header's render() with a fake anywidget model in happy-dom.
import { describe, expect, it } from "vitest";
import widget, { fmtValue } from "../dashboard.js";
import { fakeModel } from "./fakeModel.js";

const header = {
  model: { class: "Network", parameters: 1021, trainable: 1000, device: "cpu", dtype: "float32", modules: 29 },
  data: {
    train: { batches: 126, batch: [{ name: "xb", shape: [64], dtype: "bfloat16" }] },
    valid: { batches: 31, batch: [] },
  },
  opt: { class: "Adam", groups: [{ params: 22, values: { lr: 0.01, betas: [0.9, 0.999], amsgrad: false } }] },
  lossF: "lambda x, y: ((x.squeeze() - y)**2).mean()",
  missing: [],
};
const run = {
  status: "running",
  message: "",
  running: true,
  progress: 0.5,
  epoch: 1,
  epochs: 4,
  batch: 9,
  batches: 157,
};
const hypers = { keys: ["lr", "betas"], groups: [{ index: 0, values: { lr: 0.01, betas: [0.9, 0.999] } }] };

async function setup(state = {}) {
  const model = fakeModel({ header: { ...header }, run: { ...run }, hypers, pending: {}, notice: {}, busy: "", ...state });
  const el = document.createElement("div");
  document.body.append(el);
  const cleanup = await widget.render({ model, el });
  const q = (cls) => el.querySelector(`.k1w-dash-${cls}`);
  return { model, el, cleanup, q };
}

describe("dashboard header", () => {
  it("shows model, data, optimizer, loss function and status", async () => {
    const { q } = await setup();
    expect(q("model").textContent).toContain("Model: Network");
    expect(q("model").textContent).toContain("1,021 parameters (1,000 trainable)");
    expect(q("model").textContent).toContain("cpu · float32 · 29 modules");
    expect(q("data").textContent).toContain("train: 126 batches; xb 64 bfloat16");
    expect(q("opt").textContent).toContain("Optimizer: Adam");
    expect(q("opt").textContent).toContain("lr 0.01, betas 0.9, 0.999, amsgrad false");
    expect(q("lossf").textContent).toBe("loss: lambda x, y: ((x.squeeze() - y)**2).mean()");
    expect(q("status").textContent).toBe("running");
    expect(q("where").textContent).toBe("50% · epoch 2/4 · batch 10/157");
    expect(q("bar-fill").style.width).toBe("50.0%");
  });

  it("enables the controls that make sense", async () => {
    const { model, q } = await setup();
    expect(q("run-button").disabled).toBe(true); // running
    expect(q("pause").disabled).toBe(false);
    expect(q("cancel-run").disabled).toBe(false);
    model.set("run", { ...run, status: "done", running: false });
    expect(q("run-button").disabled).toBe(false);
    expect(q("cancel-run").disabled).toBe(true);
    model.set("busy", "save");
    expect(q("run-button").disabled).toBe(true);
    model.set("busy", "");
    model.set("header", { ...header, missing: ["lossF"] });
    model.set("run", { ...run, status: "idle", running: false });
    expect(q("run-button").disabled).toBe(true);
    expect(q("missing").textContent).toBe("not set: lossF");
  });

  it("sends every control to Python", async () => {
    const { model, q } = await setup({ run: { ...run, status: "paused", running: true } });
    expect(q("pause").textContent).toBe("Resume");
    q("pause").click();
    q("cancel-batch").click();
    q("cancel-epoch").click();
    q("cancel-run").click();
    q("filename").value = "run1";
    q("save").click(); // disabled while the learner runs: nothing sent
    model.set("run", { ...run, status: "done", running: false });
    q("save").click();
    q("epochs").value = "5";
    q("run-button").click();
    expect(model.send.mock.calls.map((c) => c[0])).toEqual([
      { event: "rendered" },
      { action: "resume" },
      { action: "cancel", scope: "batch" },
      { action: "cancel", scope: "epoch" },
      { action: "cancel", scope: "run" },
      { action: "save", fileName: "run1" },
      { action: "run", epochs: 5 },
    ]);
  });

  it("edits hyper-parameters and shows them pending until applied", async () => {
    const { model, el } = await setup();
    const lr = el.querySelector('input.k1w-dash-hyper[data-name="lr"]');
    const betas = el.querySelector('input.k1w-dash-hyper[data-name="betas"]');
    expect(lr.value).toBe("0.01");
    expect(betas.value).toBe("0.9, 0.999");
    lr.value = "0.002";
    lr.dispatchEvent(new Event("change", { bubbles: true }));
    expect(model.send).toHaveBeenLastCalledWith({ action: "hyper", group: 0, name: "lr", value: "0.002" });
    expect(model.send.mock.calls[0][0]).toEqual({ event: "rendered" });
    model.set("pending", { "0.lr": 0.002 });
    expect(lr.classList.contains("pending")).toBe(true);
    model.set("run", { ...run, progress: 0.6 }); // a refresh while pending keeps what the user typed
    expect(lr.value).toBe("0.002");
    model.set("hypers", { ...hypers, groups: [{ index: 0, values: { lr: 0.002, betas: [0.9, 0.999] } }] });
    model.set("pending", {});
    expect(lr.classList.contains("pending")).toBe(false);
    expect(lr.value).toBe("0.002");
    expect(el.querySelector('input.k1w-dash-hyper[data-name="lr"]')).toBe(lr); // never rebuilt while the shape holds
  });

  it("shows notices", async () => {
    const { model, q } = await setup();
    expect(q("notice").hidden).toBe(true);
    model.set("notice", { seq: 1, kind: "ok", text: "Saved to /tmp/run1.pth and /tmp/run1.model.pth" });
    expect(q("notice").hidden).toBe(false);
    expect(q("notice").dataset.kind).toBe("ok");
    expect(q("notice").textContent).toContain("Saved to /tmp/run1.pth");
  });

  it("cleans up its listeners and elements", async () => {
    const { model, el, cleanup, q } = await setup();
    const button = q("cancel-run");
    cleanup();
    expect(model.send).toHaveBeenLastCalledWith({ event: "removed" });
    model.send.mockClear();
    for (const ev of ["change:header", "change:run", "change:busy", "change:hypers", "change:pending", "change:notice"]) {
      expect(model.handlers[ev]).toEqual([]);
    }
    expect(el.querySelector(".k1w-dashboard-header")).toBeNull();
    button.click();
    expect(model.send).not.toHaveBeenCalled();
  });

  it("formats values", () => {
    expect(fmtValue(0.1 + 0.2)).toBe("0.3");
    expect(fmtValue([0.9, 0.999])).toBe("0.9, 0.999");
    expect(fmtValue(null)).toBe("-");
    expect(fmtValue(1e-8)).toBe("1e-8");
  });
});
