// The loss landscape view (k1widgets/widgets/landscape.py): a heatmap with contour lines or a 3-D
// surface on a canvas, one slider over the scales, hover values, the centre marked.
//
// bqplot has no contour lines and no 3-D, so this view draws on a canvas itself. Python sends every
// scale at once (float32 `losses`, scales x rows x columns, rows are beta from the bottom, columns
// alpha) and the contour segments it computed (`contours`, 4 floats each in grid-index units,
// `contourOffsets` per scale), so the slider, the 3-D toggle and hovering never wait for the kernel.
import "./landscape.css";

/** Anchors of the viridis colour map (the same as k1widgets/plot/heatmap.py). */
export const VIRIDIS = [
  [68, 1, 84],
  [72, 40, 120],
  [62, 74, 137],
  [49, 104, 142],
  [38, 130, 142],
  [31, 158, 137],
  [53, 183, 121],
  [110, 206, 88],
  [181, 222, 43],
  [253, 231, 37],
];

/** @param {number} t in [0, 1] @returns {number[]} rgb */
export function colorAt(t) {
  if (!Number.isFinite(t)) return [220, 220, 220];
  const pos = Math.min(Math.max(t, 0), 1) * (VIRIDIS.length - 1);
  const i = Math.min(Math.floor(pos), VIRIDIS.length - 2);
  const f = pos - i;
  return VIRIDIS[i].map((a, k) => Math.round(a * (1 - f) + VIRIDIS[i + 1][k] * f));
}

/** A Float32Array over a DataView / ArrayBuffer / typed array / plain array. */
export function floats(v) {
  if (!v) return new Float32Array(0);
  if (v instanceof Float32Array) return v;
  if (v instanceof DataView) return new Float32Array(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));
  if (v instanceof ArrayBuffer) return new Float32Array(v);
  if (ArrayBuffer.isView(v)) return new Float32Array(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));
  return Float32Array.from(v);
}

/** @param {number} v */
export function fmt(v) {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return "0";
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-3 ? v.toExponential(2) : String(Number(v.toPrecision(4)));
}

/** The grid cell under canvas point (x, y) of a size x size heatmap of n x n cells; rows count from the bottom. */
export function cellAt(x, y, size, n) {
  const c = size / n;
  const j = Math.floor(x / c);
  const i = n - 1 - Math.floor(y / c);
  if (j < 0 || j >= n || i < 0 || i >= n) return null;
  return { i, j };
}

/** Orthographic projection of (x, y, z) after turning by azimuth `az` and tilting by elevation `el`. */
export function project(x, y, z, az, el) {
  const xr = x * Math.cos(az) - y * Math.sin(az);
  const yr = x * Math.sin(az) + y * Math.cos(az);
  return [xr, -(yr * Math.sin(el) + z * Math.cos(el)), yr * Math.cos(el) - z * Math.sin(el)];
}

/** The grid of scale `s` and the values colours follow (log10 when every value is positive). */
export function gridOf(all, s, n, log) {
  const raw = all.subarray(s * n * n, (s + 1) * n * n);
  const val = log ? raw.map((v) => Math.log10(v)) : raw;
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of val) {
    if (Number.isFinite(v)) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  }
  if (!(hi > lo)) hi = lo + 1;
  return { raw, val, lo, hi };
}

function make(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

const SIZE = 360;

/** @param {{model: any, el: HTMLElement}} ctx */
function render({ model, el }) {
  const root = make("div", "k1w-landscape");
  const head = make("div", "k1w-landscape-head");
  const title = make("span", "k1w-landscape-title", "Loss landscape");
  const range = make("span", "k1w-landscape-range");
  head.append(title, range);
  const body = make("div", "k1w-landscape-body");
  const canvas = /** @type {HTMLCanvasElement} */ (make("canvas", "k1w-landscape-canvas"));
  canvas.width = SIZE;
  canvas.height = SIZE;
  const tip = make("div", "k1w-landscape-tip");
  tip.style.display = "none";
  const legend = make("div", "k1w-landscape-legend");
  const legendHi = make("span", "k1w-landscape-hi");
  const legendBar = make("div", "k1w-landscape-bar");
  const legendLo = make("span", "k1w-landscape-lo");
  legend.append(legendHi, legendBar, legendLo);
  body.append(canvas, tip, legend);
  const controls = make("div", "k1w-landscape-controls");
  const sliderLabel = make("span", "k1w-landscape-scale");
  const slider = /** @type {HTMLInputElement} */ (make("input", "k1w-landscape-slider"));
  slider.type = "range";
  slider.step = "1";
  slider.title = "the scale: alpha and beta run over [-scale, scale]";
  const mode = make("button", "k1w-landscape-mode");
  mode.title = "switch between the heatmap with contour lines and a 3-D surface (drag to turn it)";
  controls.append(make("span", "k1w-landscape-label", "scale"), slider, sliderLabel, mode);
  root.append(head, body, controls);
  el.append(root);
  legendBar.style.background = `linear-gradient(to top, ${VIRIDIS.map((c) => `rgb(${c.join(",")})`).join(",")})`;

  const ctx = canvas.getContext ? canvas.getContext("2d") : null;
  let scale = model.get("scale") || 0;
  let az = -0.6;
  let elev = 0.9;
  let drag = null;
  let cache = null;

  const data = () => {
    const shape = model.get("shape") || [0, 0];
    const key = model.get("losses");
    if (!cache || cache.key !== key) {
      cache = {
        key,
        all: floats(key),
        segs: floats(model.get("contours")),
        offsets: model.get("contourOffsets") || [],
      };
    }
    return { S: shape[0], n: shape[1], ...cache };
  };

  function drawHeatmap(g, n, segs, a, b) {
    const c = SIZE / n;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const [r, gg, bb] = colorAt((g.val[i * n + j] - g.lo) / (g.hi - g.lo));
        ctx.fillStyle = `rgb(${r},${gg},${bb})`;
        ctx.fillRect(j * c, SIZE - (i + 1) * c, c + 0.5, c + 0.5);
      }
    }
    ctx.strokeStyle = "rgba(255,255,255,0.75)";
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (let k = a; k < b; k++) {
      const [x0, y0, x1, y1] = segs.subarray(4 * k, 4 * k + 4);
      ctx.moveTo((x0 + 0.5) * c, SIZE - (y0 + 0.5) * c);
      ctx.lineTo((x1 + 0.5) * c, SIZE - (y1 + 0.5) * c);
    }
    ctx.stroke();
    const m = (n - 1) / 2;
    dot((m + 0.5) * c, SIZE - (m + 0.5) * c);
  }

  function vertices(g, n, coords) {
    const pts = [];
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const z = Number.isFinite(g.val[i * n + j]) ? ((g.val[i * n + j] - g.lo) / (g.hi - g.lo) - 0.5) * 1.2 : 0;
        const [x, y, d] = project(coords[j], coords[i], z, az, elev);
        pts.push([SIZE / 2 + x * SIZE * 0.33, SIZE / 2 + y * SIZE * 0.33, d]);
      }
    }
    return pts;
  }

  function drawSurface(g, n, coords) {
    const p = vertices(g, n, coords);
    const quads = [];
    for (let i = 0; i < n - 1; i++) {
      for (let j = 0; j < n - 1; j++) {
        const idx = [i * n + j, i * n + j + 1, (i + 1) * n + j + 1, (i + 1) * n + j];
        const depth = idx.reduce((s, k) => s + p[k][2], 0) / 4;
        const t = idx.reduce((s, k) => s + (g.val[k] - g.lo) / (g.hi - g.lo), 0) / 4;
        quads.push({ idx, depth, t });
      }
    }
    quads.sort((q, r) => r.depth - q.depth); // far first (painter's algorithm)
    ctx.strokeStyle = "rgba(0,0,0,0.15)";
    ctx.lineWidth = 0.5;
    for (const q of quads) {
      const [r, gg, bb] = colorAt(q.t);
      ctx.fillStyle = `rgb(${r},${gg},${bb})`;
      ctx.beginPath();
      q.idx.forEach((k, m) => (m ? ctx.lineTo(p[k][0], p[k][1]) : ctx.moveTo(p[k][0], p[k][1])));
      ctx.closePath();
      ctx.fill();
      ctx.stroke();
    }
    const m = ((n * n - 1) / 2) | 0;
    dot(p[m][0], p[m][1]);
    return p;
  }

  function dot(x, y) {
    ctx.fillStyle = "#d62728";
    ctx.strokeStyle = "white";
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    ctx.arc(x, y, 4, 0, 2 * Math.PI);
    ctx.fill();
    ctx.stroke();
  }

  let projected = null;

  function draw() {
    const { S, n, all, segs, offsets } = data();
    const scales = model.get("scales") || [];
    const coords = model.get("coords") || [];
    const log = !!model.get("logColor");
    const is3d = !!model.get("view3d");
    slider.min = "0";
    slider.max = String(Math.max(S - 1, 0));
    slider.value = String(scale);
    const sc = scales[scale] ?? 0;
    sliderLabel.textContent = `${fmt(sc)}`;
    range.textContent = `scale ${fmt(sc)}: \u03b1, \u03b2 \u2208 [${fmt(-sc)}, ${fmt(sc)}], centre loss ${fmt(model.get("centre"))}`;
    mode.textContent = is3d ? "heatmap" : "3-D surface";
    root.dataset.scale = String(scale);
    root.dataset.mode = is3d ? "3d" : "heatmap";
    if (!S || !n) return;
    const g = gridOf(all, scale, n, log);
    legendHi.textContent = fmt(log ? 10 ** g.hi : g.hi);
    legendLo.textContent = fmt(log ? 10 ** g.lo : g.lo);
    legend.title = log ? "colours follow log10(loss) over this scale's range" : "colours follow the loss";
    if (!ctx) return;
    ctx.clearRect(0, 0, SIZE, SIZE);
    ctx.fillStyle = "white";
    ctx.fillRect(0, 0, SIZE, SIZE);
    if (is3d) projected = drawSurface(g, n, coords);
    else {
      projected = null;
      drawHeatmap(g, n, segs, offsets[scale] ?? 0, offsets[scale + 1] ?? 0);
    }
  }

  function hover(ev) {
    const { n, all } = data();
    if (!n) return;
    const rect = canvas.getBoundingClientRect();
    const kx = rect.width ? SIZE / rect.width : 1;
    const x = (ev.clientX - rect.left) * kx;
    const y = (ev.clientY - rect.top) * kx;
    let cell = null;
    if (model.get("view3d") && projected) {
      let best = 144;
      projected.forEach((p, k) => {
        const d = (p[0] - x) ** 2 + (p[1] - y) ** 2;
        if (d < best) [best, cell] = [d, { i: Math.floor(k / n), j: k % n }];
      });
    } else cell = cellAt(x, y, SIZE, n);
    if (!cell) {
      tip.style.display = "none";
      return;
    }
    const sc = (model.get("scales") || [])[scale] ?? 0;
    const coords = model.get("coords") || [];
    const loss = all[scale * n * n + cell.i * n + cell.j];
    tip.textContent = `\u03b1 = ${fmt(coords[cell.j] * sc)}, \u03b2 = ${fmt(coords[cell.i] * sc)}, loss = ${fmt(loss)}`;
    tip.style.display = "block";
    tip.style.left = `${Math.min(ev.clientX - rect.left + 12, SIZE - 150)}px`;
    tip.style.top = `${ev.clientY - rect.top + 12}px`;
  }

  const onInput = () => {
    scale = Number(slider.value);
    draw();
    model.set("scale", scale);
    model.save_changes();
  };
  const onMode = () => {
    model.set("view3d", !model.get("view3d"));
    model.save_changes();
    draw();
  };
  const onDown = (ev) => {
    if (model.get("view3d")) drag = { x: ev.clientX, y: ev.clientY, az, elev };
  };
  const onMove = (ev) => {
    if (drag) {
      az = drag.az + (ev.clientX - drag.x) * 0.01;
      elev = Math.min(Math.max(drag.elev + (ev.clientY - drag.y) * 0.01, 0.1), 1.5);
      draw();
    }
    hover(ev);
  };
  const onUp = () => {
    drag = null;
  };
  const onLeave = () => {
    drag = null;
    tip.style.display = "none";
  };
  const onScale = () => {
    scale = model.get("scale") || 0;
    draw();
  };
  slider.addEventListener("input", onInput);
  mode.addEventListener("click", onMode);
  canvas.addEventListener("mousedown", onDown);
  canvas.addEventListener("mousemove", onMove);
  canvas.addEventListener("mouseup", onUp);
  canvas.addEventListener("mouseleave", onLeave);
  const traits = ["scale", "view3d", "losses", "contours", "scales", "shape", "logColor"];
  const handlers = traits.map((t) => [`change:${t}`, t === "scale" ? onScale : draw]);
  for (const [ev, f] of handlers) model.on(ev, f);
  draw();
  return () => {
    for (const [ev, f] of handlers) model.off(ev, f);
    slider.removeEventListener("input", onInput);
    mode.removeEventListener("click", onMode);
    canvas.removeEventListener("mousedown", onDown);
    canvas.removeEventListener("mousemove", onMove);
    canvas.removeEventListener("mouseup", onUp);
    canvas.removeEventListener("mouseleave", onLeave);
  };
}

export default { render };
