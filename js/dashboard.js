// The Learner dashboard's header and controls (k1widgets/widgets/dashboard.py: DashboardHeader).
// Python pushes `header` (rarely changes), `run` (every update), `hypers`, `pending`, `notice` and `busy`; the controls send
// {action: "run", epochs} / "pause" / "resume" / {action: "cancel", scope} / {action: "save", fileName}
// / {action: "hyper", group, name, value}. Inputs are built once and never replaced while focused.
import "./dashboard.css";

/**
 * @param {string} tag
 * @param {string} cls
 * @param {string} [text]
 */
function make(tag, cls, text = "") {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  e.textContent = text;
  return e;
}

/** @param {any} n */
function count(n) {
  return n == null ? "-" : Number(n).toLocaleString("en-US");
}

/** @param {any} v */
export function fmtValue(v) {
  if (v == null) return "-";
  if (Array.isArray(v)) return v.map(fmtValue).join(", ");
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
  return String(v);
}

/** @param {any[]} batch */
function batchText(batch) {
  return (batch || [])
    .map((b) => `${b.name} ${(b.shape || []).join("×") || "scalar"} ${b.dtype || ""}`.trim())
    .join(", ");
}

const STATUS_TEXT = {
  idle: "idle",
  running: "running",
  paused: "paused",
  done: "done",
  cancelled: "cancelled",
  error: "error",
};

/** @param {{model: any, el: HTMLElement}} ctx */
function render({ model, el }) {
  const root = make("div", "k1w-dashboard-header");
  const cards = make("div", "k1w-dash-cards");
  const cardModel = make("div", "k1w-dash-card k1w-dash-model");
  const cardData = make("div", "k1w-dash-card k1w-dash-data");
  const cardOpt = make("div", "k1w-dash-card k1w-dash-opt");
  const cardRun = make("div", "k1w-dash-card k1w-dash-run");
  cards.append(cardModel, cardData, cardOpt, cardRun);

  // controls: built once
  const controls = make("div", "k1w-dash-controls");
  const epochs = /** @type {HTMLInputElement} */ (make("input", "k1w-dash-epochs"));
  epochs.type = "number";
  epochs.min = "1";
  epochs.value = "3";
  epochs.title = "epochs to run";
  const runButton = make("button", "k1w-dash-run-button", "Run");
  const pause = make("button", "k1w-dash-pause", "Pause");
  const cancelBatch = make("button", "k1w-dash-cancel-batch", "Cancel batch");
  const cancelEpoch = make("button", "k1w-dash-cancel-epoch", "Cancel epoch");
  const cancelRun = make("button", "k1w-dash-cancel-run", "Cancel run");
  const fileName = /** @type {HTMLInputElement} */ (make("input", "k1w-dash-filename"));
  fileName.type = "text";
  fileName.placeholder = "file name";
  fileName.value = "learner";
  const save = make("button", "k1w-dash-save", "Save");
  const group = (/** @type {HTMLElement[]} */ ...items) => {
    const g = make("span", "k1w-dash-group");
    g.append(...items);
    return g;
  };
  controls.append(
    group(make("span", "k1w-dash-label", "epochs"), epochs, runButton),
    group(pause, cancelBatch, cancelEpoch, cancelRun),
    group(fileName, save),
  );

  const hypers = make("div", "k1w-dash-hypers");
  const notice = make("div", "k1w-dash-notice");
  root.append(cards, controls, hypers, notice);
  el.append(root);

  /** @type {Array<[HTMLElement, string, () => void]>} */
  const listeners = [
    [
      runButton,
      "click",
      () => {
        const n = Number(epochs.value);
        model.send({ action: "run", epochs: Number.isInteger(n) ? n : epochs.value });
      },
    ],
    [
      pause,
      "click",
      () => model.send({ action: (model.get("run") || {}).status === "paused" ? "resume" : "pause" }),
    ],
    [cancelBatch, "click", () => model.send({ action: "cancel", scope: "batch" })],
    [cancelEpoch, "click", () => model.send({ action: "cancel", scope: "epoch" })],
    [cancelRun, "click", () => model.send({ action: "cancel", scope: "run" })],
    [save, "click", () => model.send({ action: "save", fileName: fileName.value })],
  ];
  for (const [e, ev, f] of listeners) e.addEventListener(ev, f);

  /** @param {Event} ev */
  function onHyper(ev) {
    const input = /** @type {HTMLInputElement} */ (ev.target);
    if (!input.classList.contains("k1w-dash-hyper") || input.value === input.dataset.sent) return;
    input.dataset.sent = input.value; // Enter then blur: one message
    model.send({ action: "hyper", group: Number(input.dataset.group), name: input.dataset.name, value: input.value });
    input.classList.add("pending");
  }

  /** @param {KeyboardEvent} ev */
  function onKey(ev) {
    const target = /** @type {HTMLElement} */ (ev.target);
    if (target.tagName !== "INPUT") return;
    // typing in a field must not reach JupyterLab's notebook shortcuts (Enter, A, B, D D...)
    ev.stopPropagation();
    if (ev.key !== "Enter") return;
    if (target.classList.contains("k1w-dash-hyper")) onHyper(ev);
    else if (target === epochs) runButton.click();
    else if (target === fileName) save.click();
  }
  hypers.addEventListener("change", onHyper);
  root.addEventListener("keydown", onKey);

  /** @param {HTMLElement} card @param {string} title @param {string[]} lines */
  function fill(card, title, lines) {
    card.replaceChildren(make("div", "k1w-dash-card-title", title));
    for (const line of lines) card.append(make("div", "k1w-dash-line", line));
  }

  let hyperShape = "";
  function updateHypers() {
    const h = model.get("hypers") || { keys: [], groups: [] };
    const pending = model.get("pending") || {};
    const shape = JSON.stringify([h.keys, h.groups.length]);
    if (shape !== hyperShape) {
      hyperShape = shape;
      hypers.replaceChildren();
      if (!h.keys.length) return;
      const table = make("table", "k1w-dash-hyper-table");
      const head = make("tr", "");
      head.append(make("th", "", "hyper-parameters"));
      for (const k of h.keys) head.append(make("th", "", k));
      table.append(head);
      for (const g of h.groups) {
        const tr = make("tr", "");
        tr.append(make("td", "k1w-dash-hyper-group", `group ${g.index}`));
        for (const k of h.keys) {
          const td = make("td", "");
          const input = /** @type {HTMLInputElement} */ (make("input", "k1w-dash-hyper"));
          input.type = "text";
          input.dataset.group = String(g.index);
          input.dataset.name = k;
          td.append(input);
          tr.append(td);
        }
        table.append(tr);
      }
      hypers.append(table);
    }
    for (const input of /** @type {NodeListOf<HTMLInputElement>} */ (hypers.querySelectorAll("input.k1w-dash-hyper"))) {
      const g = h.groups[Number(input.dataset.group)] || { values: {} };
      const key = `${input.dataset.group}.${input.dataset.name}`;
      const v = g.values[input.dataset.name || ""];
      input.disabled = v === undefined;
      const isPending = key in pending;
      input.classList.toggle("pending", isPending);
      input.title = isPending ? "applying at the next batch…" : "Enter applies it at the next batch boundary";
      if (document.activeElement !== input && !isPending) {
        input.value = v === undefined ? "" : fmtValue(v);
        input.dataset.sent = input.value;
      }
    }
  }

  function update() {
    const s = { ...(model.get("header") || {}), ...(model.get("run") || {}) };
    const m = s.model || {};
    fill(
      cardModel,
      m.class ? `Model: ${m.class}` : "Model: not set",
      m.class
        ? [
            `${count(m.parameters)} parameters (${count(m.trainable)} trainable)`,
            `${m.device} · ${m.dtype} · ${count(m.modules)} modules`,
          ]
        : ["l.model = ..."],
    );
    const d = s.data || {};
    const dataLines = ["train", "valid"]
      .filter((k) => d[k])
      .map((k) => `${k}: ${count(d[k].batches)} batches; ${batchText(d[k].batch) || d[k].note || ""}`);
    fill(cardData, "Data", dataLines.length ? dataLines : ["l.data = ..."]);
    const o = s.opt || {};
    const optLines = (o.groups || []).map(
      (/** @type {any} */ g, /** @type {number} */ i) =>
        `group ${i} (${g.params} tensors): ` +
        Object.entries(g.values)
          .map(([k, v]) => `${k} ${fmtValue(v)}`)
          .join(", "),
    );
    fill(cardOpt, o.class ? `Optimizer: ${o.class}` : "Optimizer: not set", o.class ? optLines : ["l.opt = ..."]);

    cardRun.replaceChildren(make("div", "k1w-dash-card-title", "Run"));
    cardRun.append(make("div", "k1w-dash-line k1w-dash-lossf", `loss: ${s.lossF || "-"}`));
    const status = make("div", "k1w-dash-status", STATUS_TEXT[s.status] || s.status || "idle");
    status.dataset.status = s.status || "idle";
    cardRun.append(status);
    if (s.message) cardRun.append(make("div", "k1w-dash-line k1w-dash-message", s.message));
    const bar = make("div", "k1w-dash-bar");
    const fillBar = make("div", "k1w-dash-bar-fill");
    const p = Math.max(0, Math.min(1, s.progress || 0));
    fillBar.style.width = `${(p * 100).toFixed(1)}%`;
    bar.append(fillBar);
    cardRun.append(bar);
    const epochsN = s.epochs || 0;
    cardRun.append(
      make(
        "div",
        "k1w-dash-line k1w-dash-where",
        epochsN
          ? `${Math.round(p * 100)}% · epoch ${Math.min((s.epoch || 0) + 1, epochsN)}/${epochsN} · batch ${Math.min(
              (s.batch || 0) + 1,
              Math.max(s.batches || 0, 1),
            )}/${s.batches || 0}`
          : "no run yet",
      ),
    );
    if ((s.missing || []).length) {
      cardRun.append(make("div", "k1w-dash-line k1w-dash-missing", `not set: ${s.missing.join(", ")}`));
    }
    root.dataset.status = s.status || "idle";

    const live = s.status === "running" || s.status === "paused";
    const busy = model.get("busy") || "";
    /** @type {HTMLButtonElement} */ (runButton).disabled = !!s.running || !!busy || (s.missing || []).length > 0;
    /** @type {HTMLButtonElement} */ (save).disabled = !!s.running || !!busy;
    pause.textContent = s.status === "paused" ? "Resume" : "Pause";
    for (const b of [pause, cancelBatch, cancelEpoch, cancelRun]) /** @type {HTMLButtonElement} */ (b).disabled = !live;
    updateHypers();
  }

  function updateNotice() {
    const n = model.get("notice") || {};
    notice.textContent = n.text || "";
    notice.dataset.kind = n.kind || "";
    notice.hidden = !n.text;
  }

  const events = ["change:header", "change:run", "change:busy"];
  for (const ev of events) model.on(ev, update);
  model.on("change:hypers", updateHypers);
  model.on("change:pending", updateHypers);
  model.on("change:notice", updateNotice);
  update();
  updateNotice();
  model.send({ event: "rendered" }); // Python skips live updates while no view shows the dashboard
  return () => {
    model.send({ event: "removed" });
    for (const ev of events) model.off(ev, update);
    model.off("change:hypers", updateHypers);
    model.off("change:pending", updateHypers);
    model.off("change:notice", updateNotice);
    for (const [e, ev, f] of listeners) e.removeEventListener(ev, f);
    hypers.removeEventListener("change", onHyper);
    root.removeEventListener("keydown", onKey);
    root.remove();
  };
}

export default { render };
