// The control bar of a k1widgets plot: "follow latest", a two-handle range slider, "log y".
//
// The slider holds a window in the first panel's x units. It maps that window proportionally onto
// every panel and sets the bqplot x scales itself (through model.widget_manager), so zooming works
// while the kernel is busy; Python gets the new value when it can and re-decimates the lines.
import "./plot.css";

/** Proportional window of a panel with extent `ext`, matching `value` on the first panel's `ext0`. */
export function mapWindow(value, ext0, ext) {
  const w0 = ext0[1] - ext0[0];
  if (!(w0 > 0)) return [ext[0], ext[1]];
  const f0 = (value[0] - ext0[0]) / w0;
  const f1 = (value[1] - ext0[0]) / w0;
  const w = ext[1] - ext[0];
  return [ext[0] + f0 * w, ext[0] + f1 * w];
}

/** Where a "follow latest" window goes when the first extent grows from `old` to `next` (as in Python). */
export function followWindow(value, old, next) {
  if (!value || value.length < 2 || !old || (value[0] <= old[0] + 1e-9 && value[1] >= old[1] - 1e-9)) {
    return [next[0], next[1]];
  }
  const width = value[1] - value[0];
  return [Math.max(next[0], next[1] - width), next[1]];
}

/** A window moved by a drag of `kind` ("lo", "hi" or "band") by `dx` x units, kept inside `ext`. */
export function dragWindow(kind, start, dx, ext) {
  let [lo, hi] = start;
  const minWidth = (ext[1] - ext[0]) * 1e-4;
  if (kind === "lo") lo = Math.min(Math.max(ext[0], lo + dx), hi - minWidth);
  else if (kind === "hi") hi = Math.max(Math.min(ext[1], hi + dx), lo + minWidth);
  else {
    const w = hi - lo;
    lo = Math.min(Math.max(ext[0], lo + dx), ext[1] - w);
    hi = lo + w;
  }
  return [lo, hi];
}

/**
 * Round tick positions over [lo, hi] for a linear axis: at most `n + 1`, steps of 1, 2, 2.5 or 5 × 10^k,
 * each a whole multiple of the step (zero is exactly 0). The same rule as Python's `plot.niceTicks`.
 */
export function niceTicks(lo, hi, n) {
  if (!(Number.isFinite(lo) && Number.isFinite(hi)) || !(hi > lo) || !(n >= 1)) return Number.isFinite(lo) ? [lo] : [];
  const raw = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw * (1 - 1e-9));
  const first = Math.ceil(lo / step - 1e-9);
  const last = Math.floor(hi / step + 1e-9);
  const out = [];
  for (let k = first; k <= last; k++) out.push(k === 0 ? 0 : Math.min(Math.max(k * step, lo), hi));
  return out;
}

function fmt(v) {
  if (!Number.isFinite(v)) return "";
  if (Math.abs(v) >= 1e5 || (Math.abs(v) < 1e-3 && v !== 0)) return v.toExponential(2);
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

const SEND_MS = 100;

function render({ model, el: host }) {
  host.classList.add("k1w-plot-control");
  const follow = el("button", "k1w-follow", "follow latest");
  const loLabel = el("span", "k1w-lo");
  const track = el("div", "k1w-track");
  const band = el("div", "k1w-band");
  const hLo = el("div", "k1w-handle k1w-handle-lo");
  const hHi = el("div", "k1w-handle k1w-handle-hi");
  const hiLabel = el("span", "k1w-hi");
  const log = el("button", "k1w-log", "log y");
  for (const h of [hLo, hHi]) h.tabIndex = 0;
  follow.title = "keep the newest data in view while it grows";
  log.title = "toggle a logarithmic y axis";
  track.title = "drag the handles or the band to zoom every panel; double-click to show everything";
  track.append(band, hLo, hHi);
  host.append(follow, loLabel, track, hiLabel, log);

  let scaleModels = [];
  let roundAxisModels = []; // axes over the first scale whose ticks are set here, round for the window shown
  const axisTicks = new WeakMap(); // the ticks last set on each of them
  let local = null; // the window chosen here and not yet acknowledged by Python
  let lastExt = null;
  let drag = null;
  let lastSend = 0;
  let sendTimer = null;
  let alive = true;
  let selfSet = false;

  const exts = () => model.get("extents") || [];
  const current = () => local || model.get("value") || [];

  function draw() {
    const e = exts();
    const v = current();
    follow.classList.toggle("k1w-on", !!model.get("followLatest"));
    log.classList.toggle("k1w-on", !!model.get("log"));
    if (!e.length || v.length < 2) return;
    const [a, b] = e[0];
    const w = b - a || 1;
    const p0 = Math.max(0, Math.min(100, ((v[0] - a) / w) * 100));
    const p1 = Math.max(0, Math.min(100, ((v[1] - a) / w) * 100));
    hLo.style.left = `${p0}%`;
    hHi.style.left = `${p1}%`;
    band.style.left = `${p0}%`;
    band.style.width = `${Math.max(0, p1 - p0)}%`;
    loLabel.textContent = fmt(v[0]);
    hiLabel.textContent = fmt(v[1]);
  }

  function applyScales() {
    const e = exts();
    const v = current();
    if (!e.length || v.length < 2) return;
    scaleModels.forEach((m, i) => {
      if (!m || !e[i]) return;
      let [lo, hi] = mapWindow(v, e[0], e[i]);
      if (!(hi > lo)) [lo, hi] = [lo - 0.5, lo + 0.5];
      if (i === 0) setRoundTicks(lo, hi); // before the domain changes: one redraw with both
      if (m.get("min") !== lo || m.get("max") !== hi) {
        m.set({ min: lo, max: hi });
        m.save_changes();
      }
    });
  }

  function setRoundTicks(lo, hi) {
    for (const a of roundAxisModels) {
      if (!a) continue;
      const ticks = niceTicks(lo, hi, Math.max(1, (a.get("num_ticks") || 6) - 1));
      if (JSON.stringify(axisTicks.get(a)) === JSON.stringify(ticks)) continue;
      axisTicks.set(a, ticks);
      a.set("tick_values", ticks); // this view only: Python never sets these axes' ticks
    }
  }

  function update() {
    draw();
    applyScales();
  }

  function send() {
    lastSend = Date.now();
    sendTimer = null;
    if (!local) return;
    selfSet = true; // our own change: Python has not acknowledged it yet, so `local` stays
    model.set("value", [local[0], local[1]]);
    selfSet = false;
    model.save_changes();
  }

  function sendSoon(now) {
    if (now) {
      if (sendTimer) clearTimeout(sendTimer);
      send();
    } else if (!sendTimer) {
      sendTimer = setTimeout(send, Math.max(0, SEND_MS - (Date.now() - lastSend)));
    }
  }

  function resolve(refs) {
    return Promise.all(
      (refs || []).map((r) =>
        typeof r === "string" ? model.widget_manager.get_model(r.replace(/^IPY_MODEL_/, "")) : Promise.resolve(r),
      ),
    );
  }

  async function resolveScales() {
    const [scales, axes] = await Promise.all([resolve(model.get("scales")), resolve(model.get("roundAxes"))]);
    if (!alive) return;
    scaleModels = scales;
    roundAxisModels = axes;
    applyScales();
  }

  function onExtents() {
    const e = exts();
    if (local && e.length && model.get("followLatest")) local = followWindow(local, lastExt, e[0]);
    lastExt = e.length ? e[0] : null;
    if (!drag) update();
  }

  function onValue() {
    if (drag || selfSet) return;
    const v = model.get("value") || [];
    if (local && v.length === 2 && Math.abs(v[0] - local[0]) < 1e-9 && Math.abs(v[1] - local[1]) < 1e-9) {
      local = null; // Python has caught up
    }
    update();
  }

  function onZoomSeq() {
    local = null;
    update();
  }

  function pointerDown(kind) {
    return (ev) => {
      const e = exts();
      const v = current();
      if (!e.length || v.length < 2) return;
      ev.preventDefault();
      ev.stopPropagation();
      drag = { kind, x: ev.clientX, start: [v[0], v[1]] };
      if (ev.target.setPointerCapture && ev.pointerId !== undefined) {
        try {
          ev.target.setPointerCapture(ev.pointerId);
        } catch {
          // synthetic events have no active pointer
        }
      }
    };
  }

  function pointerMove(ev) {
    if (!drag) return;
    const e = exts()[0];
    const rect = track.getBoundingClientRect();
    const dx = ((ev.clientX - drag.x) / (rect.width || 1)) * (e[1] - e[0]);
    local = dragWindow(drag.kind, drag.start, dx, e);
    if (model.get("followLatest") && local[1] < e[1] - 1e-9) model.set("followLatest", false);
    update();
    sendSoon(false);
  }

  function pointerUp() {
    if (!drag) return;
    drag = null;
    sendSoon(true);
  }

  function resetAll() {
    const e = exts();
    if (!e.length) return;
    local = [e[0][0], e[0][1]];
    model.set("followLatest", true);
    update();
    sendSoon(true);
  }

  function toggleFollow() {
    const on = !model.get("followLatest");
    model.set("followLatest", on);
    const e = exts();
    const v = current();
    if (on && e.length && v.length === 2) {
      const w = v[1] - v[0];
      local = [Math.max(e[0][0], e[0][1] - w), e[0][1]];
      update();
      sendSoon(true);
    } else {
      draw();
      model.save_changes();
    }
  }

  function toggleLog() {
    model.set("log", !model.get("log"));
    model.save_changes();
    draw();
  }

  function keyDown(kind) {
    return (ev) => {
      const step = { ArrowLeft: -1, ArrowRight: 1 }[ev.key];
      const e = exts();
      const v = current();
      if (!step || !e.length || v.length < 2) return;
      ev.preventDefault();
      local = dragWindow(kind, v, (step * (e[0][1] - e[0][0])) / 100, e[0]);
      if (local[1] < e[0][1] - 1e-9) model.set("followLatest", false);
      update();
      sendSoon(true);
    };
  }

  const downLo = pointerDown("lo");
  const downHi = pointerDown("hi");
  const downBand = pointerDown("band");
  const keyLo = keyDown("lo");
  const keyHi = keyDown("hi");
  hLo.addEventListener("pointerdown", downLo);
  hHi.addEventListener("pointerdown", downHi);
  band.addEventListener("pointerdown", downBand);
  hLo.addEventListener("keydown", keyLo);
  hHi.addEventListener("keydown", keyHi);
  window.addEventListener("pointermove", pointerMove);
  window.addEventListener("pointerup", pointerUp);
  track.addEventListener("dblclick", resetAll);
  follow.addEventListener("click", toggleFollow);
  log.addEventListener("click", toggleLog);
  model.on("change:extents", onExtents);
  model.on("change:value", onValue);
  model.on("change:zoomSeq", onZoomSeq);
  model.on("change:followLatest", draw);
  model.on("change:log", draw);
  model.on("change:scales", resolveScales);
  model.on("change:roundAxes", resolveScales);

  lastExt = exts().length ? exts()[0] : null;
  draw();
  resolveScales();
  model.send({ event: "rendered" }); // Python skips live redraws while no view shows the plot

  return () => {
    alive = false;
    model.send({ event: "removed" });
    if (sendTimer) clearTimeout(sendTimer);
    window.removeEventListener("pointermove", pointerMove);
    window.removeEventListener("pointerup", pointerUp);
    model.off("change:extents", onExtents);
    model.off("change:value", onValue);
    model.off("change:zoomSeq", onZoomSeq);
    model.off("change:followLatest", draw);
    model.off("change:log", draw);
    model.off("change:scales", resolveScales);
    model.off("change:roundAxes", resolveScales);
  };
}

export default { render };
