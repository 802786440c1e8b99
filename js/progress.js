// The live progress view of a run (k1widgets/widgets/progress.py).
// Python pushes one `state` dict per update (<= settings.live.hz); buttons send
// {action: "cancel", scope} / {action: "pause"} / {action: "resume"} as custom messages.
import "./progress.css";

/** @param {number | null | undefined} s seconds */
export function fmtTime(s) {
  if (s == null || !Number.isFinite(s)) return "-";
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  const sec = Math.floor(s % 60);
  if (m < 60) return `${m}m${String(sec).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

/** @param {number | string | null | undefined} x a loss; Python sends NaN and infinities as text */
export function fmtLoss(x) {
  if (typeof x === "string") return x;
  return x == null || !Number.isFinite(x) ? "-" : x.toPrecision(4);
}

const STATUS_TEXT = {
  idle: "idle",
  running: "running",
  paused: "paused",
  done: "done",
  cancelled: "cancelled",
  error: "stopped by an error",
};

/**
 * @param {string} tag
 * @param {string} cls
 * @param {string} [text]
 */
function make(tag, cls, text = "") {
  const e = document.createElement(tag);
  e.className = cls;
  e.textContent = text;
  return e;
}

/** @param {{model: any, el: HTMLElement}} ctx */
function render({ model, el }) {
  const root = make("div", "k1w-progress");
  const bar = make("div", "k1w-progress-bar");
  const fill = make("div", "k1w-progress-fill");
  const percent = make("span", "k1w-progress-percent");
  bar.append(fill, percent);

  const stats = make("div", "k1w-progress-stats");
  const field = (/** @type {string} */ name) => {
    const s = make("span", `k1w-progress-${name}`);
    stats.append(s);
    return s;
  };
  const epoch = field("epoch");
  const batch = field("batch");
  const elapsed = field("elapsed");
  const remaining = field("remaining");
  const throughput = field("throughput");
  const loss = field("loss");

  const controls = make("div", "k1w-progress-controls");
  const status = make("span", "k1w-progress-status");
  const pause = make("button", "k1w-progress-pause", "Pause");
  const cancelBatch = make("button", "k1w-progress-cancel-batch", "Cancel batch");
  const cancelEpoch = make("button", "k1w-progress-cancel-epoch", "Cancel epoch");
  const cancelRun = make("button", "k1w-progress-cancel-run", "Cancel run");
  controls.append(status, pause, cancelBatch, cancelEpoch, cancelRun);
  root.append(bar, stats, controls);
  el.append(root);

  /** @type {Array<[HTMLElement, () => void]>} */
  const clicks = [
    [pause, () => model.send({ action: model.get("state")?.status === "paused" ? "resume" : "pause" })],
    [cancelBatch, () => model.send({ action: "cancel", scope: "batch" })],
    [cancelEpoch, () => model.send({ action: "cancel", scope: "epoch" })],
    [
      cancelRun,
      () => {
        model.send({ action: "cancel", scope: "run" });
        status.textContent = "cancelling…";
      },
    ],
  ];
  for (const [button, f] of clicks) button.addEventListener("click", f);

  function update() {
    const s = model.get("state") || {};
    const p = Math.max(0, Math.min(1, s.progress || 0));
    fill.style.width = `${(p * 100).toFixed(1)}%`;
    percent.textContent = `${Math.round(p * 100)}%`;
    const epochs = s.epochs || 0;
    epoch.textContent = `epoch ${Math.min((s.epoch || 0) + 1, Math.max(epochs, 1))}/${epochs}`;
    batch.textContent = `batch ${Math.min((s.batch || 0) + 1, Math.max(s.batches || 0, 1))}/${s.batches || 0}`;
    elapsed.textContent = `elapsed ${fmtTime(s.elapsed)}`;
    const finished = s.status === "done" || s.status === "cancelled" || s.status === "error";
    remaining.textContent = finished ? "" : `remaining ${fmtTime(s.remaining)}`;
    throughput.textContent = s.throughput == null ? "" : `${Math.round(s.throughput)} batches/s`;
    loss.textContent = `loss ${fmtLoss(s.trainLoss)} train, ${fmtLoss(s.validLoss)} valid`;
    status.textContent = s.message || STATUS_TEXT[s.status] || s.status || "";
    root.dataset.status = s.status || "idle";
    const live = s.status === "running" || s.status === "paused";
    pause.textContent = s.status === "paused" ? "Resume" : "Pause";
    for (const b of [pause, cancelBatch, cancelEpoch, cancelRun]) b.disabled = !live;
  }

  model.on("change:state", update);
  update();
  return () => {
    model.off("change:state", update);
    for (const [button, f] of clicks) button.removeEventListener("click", f);
    root.remove();
  };
}

export default { render };
