// Unit tests of the progress view's render() with a fake anywidget model in happy-dom.
import { describe, expect, it, vi } from "vitest";
import { fakeModel } from "./fakeModel.js";
import widget, { fmtLoss, fmtTime } from "../progress.js";

const running = {
  progress: 0.25,
  epoch: 0,
  epochs: 2,
  batch: 49,
  batches: 200,
  elapsed: 1.5,
  remaining: 4.5,
  throughput: 33.3,
  trainLoss: 0.123456,
  validLoss: null,
  status: "running",
  message: "",
};

async function setup(state = running) {
  const model = fakeModel({ state: { ...state } });
  const el = document.createElement("div");
  document.body.append(el);
  const cleanup = await widget.render({ model, el });
  const q = (cls) => el.querySelector(`.k1w-progress-${cls}`);
  return { model, el, cleanup, q };
}

describe("progress view", () => {
  it("renders the state", async () => {
    const { el, q } = await setup();
    expect(el.querySelector(".k1w-progress")).not.toBeNull();
    expect(q("fill").style.width).toBe("25.0%");
    expect(q("percent").textContent).toBe("25%");
    expect(q("epoch").textContent).toBe("epoch 1/2");
    expect(q("batch").textContent).toBe("batch 50/200");
    expect(q("elapsed").textContent).toBe("elapsed 1.5s");
    expect(q("remaining").textContent).toBe("remaining 4.5s");
    expect(q("throughput").textContent).toBe("33 batches/s");
    expect(q("loss").textContent).toBe("loss 0.1235 train, - valid");
    expect(q("status").textContent).toBe("running");
    expect(q("cancel-run").disabled).toBe(false);
  });

  it("shows a NaN loss as NaN, not as a missing one", async () => {
    const { q } = await setup({ ...running, trainLoss: "NaN", validLoss: "Infinity" });
    expect(q("loss").textContent).toBe("loss NaN train, Infinity valid");
    expect(fmtLoss(null)).toBe("-");
    expect(fmtLoss(0.5)).toBe("0.5000");
  });

  it("updates when the model changes", async () => {
    const { model, q } = await setup();
    model.set("state", { ...running, progress: 1, epoch: 1, batch: 199, status: "done", remaining: 0 });
    expect(q("fill").style.width).toBe("100.0%");
    expect(q("epoch").textContent).toBe("epoch 2/2");
    expect(q("batch").textContent).toBe("batch 200/200");
    expect(q("remaining").textContent).toBe("");
    expect(q("status").textContent).toBe("done");
    expect(q("cancel-run").disabled).toBe(true);
    model.set("state", { ...running, status: "cancelled", message: "Run cancelled: cancelled by the user." });
    expect(q("status").textContent).toBe("Run cancelled: cancelled by the user.");
  });

  it("sends button clicks to Python", async () => {
    const { model, q } = await setup();
    q("cancel-batch").click();
    q("cancel-epoch").click();
    q("pause").click();
    expect(model.send.mock.calls.map((c) => c[0])).toEqual([
      { action: "cancel", scope: "batch" },
      { action: "cancel", scope: "epoch" },
      { action: "pause" },
    ]);
    model.set("state", { ...running, status: "paused" });
    expect(q("pause").textContent).toBe("Resume");
    q("pause").click();
    q("cancel-run").click();
    expect(model.send.mock.calls.slice(3).map((c) => c[0])).toEqual([
      { action: "resume" },
      { action: "cancel", scope: "run" },
    ]);
    expect(q("status").textContent).toBe("cancelling…");
  });

  it("cleans up its listeners and elements", async () => {
    const { model, el, cleanup, q } = await setup();
    const button = q("cancel-run");
    cleanup();
    expect(model.handlers["change:state"]).toEqual([]);
    expect(el.querySelector(".k1w-progress")).toBeNull();
    button.click();
    expect(model.send).not.toHaveBeenCalled();
  });

  it("formats times like the text progress bar", () => {
    expect(fmtTime(null)).toBe("-");
    expect(fmtTime(5.04)).toBe("5.0s");
    expect(fmtTime(125)).toBe("2m05s");
    expect(fmtTime(7300)).toBe("2h01m");
  });
});
