// Unit tests of the data view's and the stats table's render() with a fake anywidget model in happy-dom.
import { describe, expect, it } from "vitest";
import dataWidget from "../data.js";
import statsWidget from "../stats.js";
import { fakeModel } from "./fakeModel.js";

const card = {
  title: ".train",
  batches: 126,
  batchSize: 64,
  samples: 8064,
  batch: [
    { name: "xb", shape: [64], dtype: "bfloat16" },
    { name: "yb", shape: [64], dtype: "bfloat16" },
  ],
  sample: { columns: ["xb", "yb"], rows: [["4.469", "87"]], total: 64 },
  index: 0,
};

describe("data view", () => {
  it("renders a card per loader and steps through batches", async () => {
    const model = fakeModel({ loaders: [card, { ...card, title: ".valid", batches: 1, index: 0 }] });
    const el = document.createElement("div");
    const cleanup = await dataWidget.render({ model, el });
    const cards = el.querySelectorAll(".k1w-data-card");
    expect(cards.length).toBe(2);
    expect(cards[0].querySelector(".k1w-data-title").textContent).toBe(".train");
    expect(cards[0].querySelector(".k1w-data-batches").textContent).toBe("126 batches");
    expect(cards[0].querySelector(".k1w-data-shapes").textContent).toContain("xb64bfloat16");
    expect(cards[0].querySelector(".k1w-data-index").textContent).toBe("batch 1: first 1 of 64");
    expect(cards[0].querySelector(".k1w-data-prev").disabled).toBe(true);
    expect(cards[1].querySelector(".k1w-data-next").disabled).toBe(true);
    cards[0].querySelector(".k1w-data-next").click();
    expect(model.send).toHaveBeenLastCalledWith({ action: "batch", loader: 0, index: 1 });
    cleanup();
    expect(el.querySelector(".k1w-data")).toBeNull();
  });
});

describe("stats table", () => {
  it("renders label/value rows or a table with columns", async () => {
    const model = fakeModel({ title: "Loss", columns: [], rows: [["last train loss", "0.1235"]] });
    const el = document.createElement("div");
    const cleanup = await statsWidget.render({ model, el });
    expect(el.querySelector(".k1w-stats-title").textContent).toBe("Loss");
    expect(el.querySelector("th").textContent).toBe("last train loss");
    expect(el.querySelector("td").textContent).toBe("0.1235");
    model.set("columns", ["epoch", "train", "valid"]);
    model.set("rows", [["0", "1.5", "1.2"]]);
    expect([...el.querySelectorAll("th")].map((e) => e.textContent)).toEqual(["epoch", "train", "valid"]);
    cleanup();
    expect(model.handlers["change:rows"]).toEqual([]);
  });
});
