// The live sweep view (k1widgets/widgets/sweep.py): counts, ETA, Cancel, pickers, heatmap, point details.
// Python pushes `state` (counts and one heatmap slice) and `detail` (the clicked point); the pickers set
// the synced `choice`; a click on a cell sends {action: "select", row, col}; Cancel sends {action: "cancel"}.
import "./sweep.css";

export const VIRIDIS = ["#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c", "#28ae80", "#5ec962", "#addc30", "#fde725"];
const MISSING = "#c8c8c8";
const FAILED = "#d32f2f";
const RUNNING = "#90caf9";

/** The viridis colour of v on [lo, hi] (same stops and interpolation as k1widgets/farming/svg.py). */
export function colorOf(/** @type {number} */ v, /** @type {number} */ lo, /** @type {number} */ hi) {
  const t = hi <= lo ? 0.5 : Math.min(Math.max((v - lo) / (hi - lo), 0), 1);
  const pos = t * (VIRIDIS.length - 1);
  const i = Math.min(Math.floor(pos), VIRIDIS.length - 2);
  const f = pos - i;
  const a = VIRIDIS[i];
  const b = VIRIDIS[i + 1];
  let out = "#";
  for (const k of [1, 3, 5]) {
    const c = Math.round(parseInt(a.slice(k, k + 2), 16) * (1 - f) + parseInt(b.slice(k, k + 2), 16) * f);
    out += c.toString(16).padStart(2, "0");
  }
  return out;
}

/** @param {number | null | undefined} s seconds */
export function fmtTime(s) {
  if (s == null || !Number.isFinite(s)) return "-";
  if (s < 60) return `${Math.round(s)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.floor(s % 60)).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

/** @param {number | null | undefined} v */
export function fmtValue(v) {
  if (v == null || !Number.isFinite(v)) return "-";
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2).replace("e-", "e−").replace("e+", "e");
  return Number(v.toPrecision(4)).toString();
}

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
  const root = make("div", "k1w-sweep");
  const title = make("div", "k1w-sweep-title");
  const bar = make("div", "k1w-sweep-bar");
  const counts = make("div", "k1w-sweep-counts");
  const cancel = make("button", "k1w-sweep-cancel", "Cancel");
  const head = make("div", "k1w-sweep-head");
  head.append(counts, cancel);
  const pickers = make("div", "k1w-sweep-pickers");
  const grid = make("div", "k1w-sweep-grid");
  const legend = make("div", "k1w-sweep-legend");
  const tip = make("div", "k1w-sweep-tip");
  const detail = make("div", "k1w-sweep-detail");
  root.append(title, bar, head, pickers, grid, legend, detail, tip);
  el.append(root);

  const onCancel = () => {
    model.send({ action: "cancel" });
    cancel.disabled = true;
    cancel.textContent = "Cancelling…";
  };
  cancel.addEventListener("click", onCancel);

  /** @param {Record<string, any>} change */
  function choose(change) {
    const c = { ...(model.get("choice") || {}), ...change };
    model.set("choice", c);
    model.save_changes();
  }

  /**
   * @param {string} label
   * @param {string} cls
   * @param {string[]} options
   * @param {string} value
   * @param {(v: string) => void} onChange
   */
  function picker(label, cls, options, value, onChange) {
    const wrap = make("label", `k1w-sweep-picker ${cls}`, `${label} `);
    const select = document.createElement("select");
    for (const o of options) {
      const opt = document.createElement("option");
      opt.value = o;
      opt.textContent = o;
      select.append(opt);
    }
    select.value = value;
    select.addEventListener("change", () => onChange(select.value));
    wrap.append(select);
    return wrap;
  }

  function drawPickers(/** @type {any} */ s) {
    pickers.replaceChildren();
    const dims = (s.dims || []).map((/** @type {any} */ d) => d.name);
    if (s.vars?.length) pickers.append(picker("value", "k1w-sweep-var", s.vars, s.var, (v) => choose({ var: v })));
    if (dims.length) pickers.append(picker("columns", "k1w-sweep-x", dims, s.x ?? "", (v) => choose({ x: v })));
    if (dims.length > 1) pickers.append(picker("rows", "k1w-sweep-y", dims, s.y ?? "", (v) => choose({ y: v })));
    for (const d of s.dims || []) {
      if (d.name === s.x || d.name === s.y || s.aggregate) continue;
      const idx = s.fixed?.[d.name] ?? 0;
      pickers.append(
        picker(d.name, "k1w-sweep-fixed", d.values, d.values[idx] ?? "", (v) => {
          const fixed = { ...(model.get("choice")?.fixed || {}), [d.name]: d.values.indexOf(v) };
          choose({ fixed });
        }),
      );
    }
  }

  /** @param {MouseEvent} ev */
  function showTip(ev) {
    const cell = /** @type {HTMLElement} */ (ev.target);
    if (!cell.classList?.contains("k1w-sweep-cell")) return;
    tip.textContent = cell.dataset.tip || "";
    tip.classList.toggle("k1w-sweep-tip-error", cell.dataset.status === "f");
    tip.style.display = tip.textContent ? "block" : "none";
    const box = root.getBoundingClientRect();
    const c = cell.getBoundingClientRect();
    tip.style.left = `${c.left - box.left + c.width + 4}px`;
    tip.style.top = `${c.top - box.top}px`;
  }
  const hideTip = () => {
    tip.style.display = "none";
  };
  /** @param {MouseEvent} ev */
  function onClick(ev) {
    const cell = /** @type {HTMLElement} */ (ev.target);
    if (!cell.classList?.contains("k1w-sweep-cell")) return;
    for (const c of grid.querySelectorAll(".k1w-sweep-selected")) c.classList.remove("k1w-sweep-selected");
    cell.classList.add("k1w-sweep-selected");
    model.send({ action: "select", row: Number(cell.dataset.row), col: Number(cell.dataset.col) });
  }
  grid.addEventListener("mouseover", showTip);
  grid.addEventListener("mouseleave", hideTip);
  grid.addEventListener("click", onClick);

  function drawGrid(/** @type {any} */ s) {
    const xl = s.xLabels || [];
    const yl = s.yLabels || [];
    const [lo, hi] = s.range || [0, 1];
    const selected = model.get("detail") || {};
    grid.replaceChildren();
    grid.style.gridTemplateColumns = `auto repeat(${xl.length}, minmax(28px, 56px))`;
    grid.append(make("div", "k1w-sweep-corner", s.y && s.x ? `${s.y} \\ ${s.x}` : (s.x ?? "")));
    for (const label of xl) grid.append(make("div", "k1w-sweep-xlabel", label));
    (s.status || []).forEach((/** @type {string} */ row, /** @type {number} */ i) => {
      grid.append(make("div", "k1w-sweep-ylabel", yl[i] ?? ""));
      [...row].forEach((st, j) => {
        const v = s.values?.[i]?.[j];
        const cell = make("div", "k1w-sweep-cell");
        cell.dataset.row = String(i);
        cell.dataset.col = String(j);
        cell.dataset.status = st;
        if (st === "o") {
          cell.style.background = colorOf(v, lo, hi);
          cell.textContent = fmtValue(v);
          cell.classList.add((v - lo) / (hi - lo || 1) > 0.6 ? "k1w-sweep-light" : "k1w-sweep-dark");
          cell.dataset.tip = `${s.var} = ${fmtValue(v)}`;
        } else if (st === "f") {
          cell.style.background = FAILED;
          cell.textContent = "✕";
          cell.dataset.tip = s.errors?.[`${i},${j}`] || "failed";
        } else if (st === "r") {
          cell.style.background = RUNNING;
          cell.textContent = "…";
          cell.dataset.tip = "running";
        } else {
          cell.style.background = MISSING;
          cell.dataset.tip = "missing";
        }
        if (selected.row === i && selected.col === j) cell.classList.add("k1w-sweep-selected");
        grid.append(cell);
      });
    });
    legend.replaceChildren();
    if (s.range) {
      const ramp = make("span", "k1w-sweep-ramp");
      ramp.style.background = `linear-gradient(to right, ${VIRIDIS.join(", ")})`;
      legend.append(make("span", "", fmtValue(lo)), ramp, make("span", "", fmtValue(hi)));
    }
    legend.append(make("span", "k1w-sweep-key k1w-sweep-key-missing", "missing"));
    legend.append(make("span", "k1w-sweep-key k1w-sweep-key-failed", "failed"));
    if (s.aggregate) legend.append(make("span", "", "(mean over the other parameters)"));
  }

  function update() {
    const s = model.get("state") || {};
    const c = s.counts || { done: 0, failed: 0, running: 0, pending: 0, total: 0 };
    title.textContent = s.title || "sweep";
    const frac = c.total ? (c.done + c.failed) / c.total : 0;
    bar.style.setProperty("--done", `${(100 * c.done) / Math.max(c.total, 1)}%`);
    bar.style.setProperty("--failed", `${(100 * (c.done + c.failed)) / Math.max(c.total, 1)}%`);
    bar.title = `${Math.round(frac * 100)}%`;
    counts.replaceChildren();
    for (const [key, text] of [
      ["done", `${c.done} done`],
      ["failed", `${c.failed} failed`],
      ["running", `${c.running} running`],
      ["pending", `${c.pending} pending`],
    ]) {
      counts.append(make("span", `k1w-sweep-${key}`, text));
    }
    counts.append(make("span", "k1w-sweep-total", `of ${c.total}`));
    const status = s.live ? `ETA ${fmtTime(s.eta)}` : s.cancelled ? "cancelled" : "";
    counts.append(make("span", "k1w-sweep-status", status));
    root.dataset.live = s.live ? "true" : "false";
    if (s.live) {
      if (cancel.textContent !== "Cancelling…") cancel.disabled = false;
    } else {
      cancel.disabled = true;
      cancel.textContent = "Cancel";
    }
    drawPickers(s);
    drawGrid(s);
  }

  function updateDetail() {
    const d = model.get("detail") || {};
    detail.replaceChildren();
    if (!d.params) return;
    const params = Object.entries(d.params)
      .map(([k, v]) => `${k}=${v}`)
      .join(", ");
    detail.append(make("div", "k1w-sweep-detail-params", params));
    const values = Object.entries(d.values || {})
      .map(([k, v]) => `${k}: ${typeof v === "number" ? fmtValue(v) : v}`)
      .join("   ");
    if (values) detail.append(make("div", "k1w-sweep-detail-values", values));
    if (d.error) {
      detail.append(make("div", "k1w-sweep-detail-error", d.error));
      if (d.traceback) detail.append(make("pre", "k1w-sweep-detail-traceback", d.traceback));
    } else if (!values) {
      detail.append(make("div", "k1w-sweep-detail-values", d.status === "r" ? "running" : "no result yet"));
    }
  }

  model.on("change:state", update);
  model.on("change:detail", updateDetail);
  update();
  updateDetail();
  return () => {
    model.off("change:state", update);
    model.off("change:detail", updateDetail);
    cancel.removeEventListener("click", onCancel);
    grid.removeEventListener("mouseover", showTip);
    grid.removeEventListener("mouseleave", hideTip);
    grid.removeEventListener("click", onClick);
    root.remove();
  };
}

export default { render };
