// The legend and line picker of a k1widgets hook view (HookModule / HookParam).
//
// Clicking a name hides or shows that line in every panel: the legend sets `curves_subset` on each
// panel's bqplot Lines model itself (through model.widget_manager), so it works while the kernel is
// busy. Hovering a line in a panel shows its module path next to the pointer; clicking a line pins
// it (bold in every panel) and tells Python (`picked`), which shows that module's histogram.
import "./hooks.css";

/** The `curves_subset` that shows every line but the hidden ones ([] = all, [-1] = none). */
export function curvesSubset(n, hidden) {
  if (!hidden.length) return [];
  const hide = new Set(hidden);
  const keep = [];
  for (let i = 0; i < n; i++) if (!hide.has(i)) keep.push(i);
  return keep.length ? keep : [-1];
}

/** Index of a bqplot curve (`g.curve`) among its siblings, for a `path.line` event target; -1 otherwise. */
export function curveIndex(target) {
  if (!target || !target.classList || !target.classList.contains("line")) return -1;
  const curve = target.parentNode;
  if (!curve || !curve.classList || !curve.classList.contains("curve")) return -1;
  return Array.prototype.indexOf.call(curve.parentNode.children, curve);
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function render({ model, el: host }) {
  host.classList.add("k1w-hooks-legend");
  const bar = el("div", "k1w-hooks-bar");
  const all = el("button", "k1w-hooks-all", "show all");
  const none = el("button", "k1w-hooks-none", "hide all");
  const info = el("span", "k1w-hooks-info", "hover a line to see its module; click it to pin it");
  bar.append(all, none, info);
  const list = el("div", "k1w-hooks-names");
  const tip = el("div", "k1w-hooks-tip");
  tip.style.display = "none";
  host.append(bar, list, tip);

  let markModels = [];
  let alive = true;
  let container = null;

  const names = () => model.get("names") || [];
  const details = () => model.get("details") || [];
  const hidden = () => model.get("hidden") || [];

  function drawList() {
    list.replaceChildren();
    const colors = model.get("colors") || [];
    const hide = new Set(hidden());
    const picked = model.get("picked");
    names().forEach((name, i) => {
      const item = el("span", "k1w-hooks-name");
      item.dataset.index = String(i);
      item.title = details()[i] || name;
      const sw = el("span", "k1w-hooks-swatch");
      sw.style.background = colors[i % colors.length] || "#888";
      item.append(sw, document.createTextNode(name));
      item.classList.toggle("k1w-off", hide.has(i));
      item.classList.toggle("k1w-picked", picked === i);
      list.append(item);
    });
  }

  function applySubset() {
    const subset = curvesSubset(names().length, hidden());
    for (const m of markModels) {
      if (!m) continue;
      const cur = m.get("curves_subset") || [];
      if (JSON.stringify(cur) !== JSON.stringify(subset)) {
        m.set("curves_subset", subset);
        m.save_changes();
      }
    }
  }

  function setHidden(h) {
    model.set("hidden", h);
    model.save_changes();
    drawList();
    applySubset();
  }

  function onListClick(ev) {
    const item = ev.target.closest ? ev.target.closest(".k1w-hooks-name") : null;
    if (!item) return;
    const i = Number(item.dataset.index);
    const h = new Set(hidden());
    if (h.has(i)) h.delete(i);
    else h.add(i);
    setHidden([...h].sort((a, b) => a - b));
  }

  function markPicked() {
    if (!container) return;
    const picked = model.get("picked");
    for (const path of container.querySelectorAll(".k1w-hooks-panel path.line")) {
      path.classList.toggle("k1w-picked-line", curveIndex(path) === picked);
    }
  }

  function onOver(ev) {
    const i = curveIndex(ev.target);
    if (i < 0) return;
    tip.textContent = details()[i] || names()[i] || "";
    tip.style.display = "block";
    const r = host.getBoundingClientRect();
    tip.style.left = `${ev.clientX - r.left + 12}px`;
    tip.style.top = `${ev.clientY - r.top + 12}px`;
  }

  function onOut(ev) {
    if (curveIndex(ev.target) >= 0) tip.style.display = "none";
  }

  function onClick(ev) {
    const i = curveIndex(ev.target);
    if (i < 0) return;
    info.textContent = `picked: ${details()[i] || names()[i]}`;
    model.set("picked", i);
    model.save_changes();
    drawList();
    markPicked();
  }

  async function resolveMarks() {
    const refs = model.get("marks") || [];
    const models = await Promise.all(
      refs.map((r) =>
        typeof r === "string" ? model.widget_manager.get_model(r.replace(/^IPY_MODEL_/, "")) : Promise.resolve(r),
      ),
    );
    if (!alive) return;
    markModels = models;
    applySubset();
  }

  function attachContainer() {
    // the panels are siblings of this legend inside the view's box (.k1w-hooks)
    const c = host.closest ? host.closest(".k1w-hooks") : null;
    if (c === container) return;
    if (container) detachContainer();
    container = c;
    if (!container) return;
    container.addEventListener("mouseover", onOver);
    container.addEventListener("mouseout", onOut);
    container.addEventListener("click", onClick);
  }

  function detachContainer() {
    if (!container) return;
    container.removeEventListener("mouseover", onOver);
    container.removeEventListener("mouseout", onOut);
    container.removeEventListener("click", onClick);
    container = null;
  }

  const onNames = () => {
    drawList();
    applySubset();
  };
  const onPicked = () => {
    drawList();
    markPicked();
  };
  all.addEventListener("click", () => setHidden([]));
  none.addEventListener("click", () => setHidden(names().map((_, i) => i)));
  list.addEventListener("click", onListClick);
  model.on("change:names", onNames);
  model.on("change:hidden", onNames);
  model.on("change:colors", drawList);
  model.on("change:picked", onPicked);
  model.on("change:marks", resolveMarks);

  drawList();
  resolveMarks();
  // the box is in the DOM only after render returns: look for it on the next frames
  let tries = 0;
  const find = () => {
    if (!alive) return;
    attachContainer();
    if (!container && tries++ < 50) setTimeout(find, 100);
  };
  setTimeout(find, 0);

  return () => {
    alive = false;
    detachContainer();
    model.off("change:names", onNames);
    model.off("change:hidden", onNames);
    model.off("change:colors", drawList);
    model.off("change:picked", onPicked);
    model.off("change:marks", resolveMarks);
  };
}

export default { render };
