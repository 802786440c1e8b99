// The module tree view (k1widgets/widgets/tree.py): a collapsible tree of a model with props as
// coloured tags, a CSS box that re-selects as you type, a filter box and a details panel.
//
// Python sends the whole structure once, columnar (`structure`), and the selection (`props`) on
// every CSS change; rows are built only for expanded nodes (at most CHILD_LIMIT children per node
// until "show more"), so a 5,000-module model stays smooth. Expanding, collapsing and filtering
// never talk to the kernel. The browser sends `cssText` (debounced) and `focus` (a clicked node).
import "./tree.css";

export const CHILD_LIMIT = 100;
export const FILTER_LIMIT = 300;
export const EXPAND_ALL_BELOW = 200;
export const DEBOUNCE_MS = 300;

/**
 * @typedef {{n: number, names: string[], name: number[], classes: string[], cls: number[],
 *   parent: number[], nParams: number[]}} Structure
 * @typedef {{names: string[], nodes: number[][]}} Props
 * @typedef {{n: number, parent: number[], children: number[][], depth: number[],
 *   name: (i: number) => string, cls: (i: number) => string, nParams: number[]}} Tree
 */

/** @param {Partial<Structure> | undefined} s @returns {Tree} */
export function indexTree(s) {
  const n = s?.n ?? 0;
  const parent = s?.parent ?? [];
  /** @type {number[][]} */
  const children = Array.from({ length: n }, () => []);
  const depth = new Array(n).fill(0);
  for (let i = 1; i < n; i++) {
    children[parent[i]].push(i);
    depth[i] = depth[parent[i]] + 1;
  }
  const names = s?.names ?? [];
  const nameIdx = s?.name ?? [];
  const classes = s?.classes ?? [];
  const clsIdx = s?.cls ?? [];
  return {
    n,
    parent,
    children,
    depth,
    name: (i) => names[nameIdx[i]],
    cls: (i) => classes[clsIdx[i]],
    nParams: s?.nParams ?? new Array(n).fill(0),
  };
}

/** Dotted torch path of node i ("(root)" for the root). @param {Tree} tree @param {number} i */
export function pathOf(tree, i) {
  const parts = [];
  while (i > 0) {
    parts.unshift(tree.name(i));
    i = tree.parent[i];
  }
  return parts.join(".") || "(root)";
}

/**
 * Props per node, and how many selected nodes each subtree holds below its root.
 * @param {Tree} tree @param {Partial<Props> | undefined} props
 */
export function propsByNode(tree, props) {
  /** @type {string[][]} */
  const byNode = Array.from({ length: tree.n }, () => []);
  const names = props?.names ?? [];
  names.forEach((p, k) => {
    for (const i of props?.nodes?.[k] ?? []) if (i < tree.n) byNode[i].push(p);
  });
  const inside = new Array(tree.n).fill(0);
  for (let i = tree.n - 1; i > 0; i--) inside[tree.parent[i]] += inside[i] + (byNode[i].length ? 1 : 0);
  const selected = byNode.reduce((a, ps) => a + (ps.length ? 1 : 0), 0);
  return { byNode, inside, selected };
}

/** A stable pastel colour per prop. @param {string} prop */
export function tagColor(prop) {
  let h = 0;
  for (const ch of prop) h = (h * 31 + ch.charCodeAt(0)) % 360;
  return `hsl(${h}, 70%, 85%)`;
}

/** 1234 -> "1.2k". @param {number} n */
export function formatCount(n) {
  if (n < 1000) return String(n);
  if (n < 1e6) return `${(n / 1e3).toFixed(n < 1e4 ? 1 : 0)}k`;
  return `${(n / 1e6).toFixed(n < 1e7 ? 1 : 0)}M`;
}

/**
 * The rows of the expanded tree, pre-order: {kind: "node", i} or {kind: "more", parent, hidden}.
 * @param {Tree} tree @param {Set<number>} expanded @param {Map<number, number>} limits
 */
export function visibleRows(tree, expanded, limits) {
  /** @type {Array<{kind: string, i: number, depth: number, hidden?: number}>} */
  const rows = [];
  if (!tree.n) return rows;
  /** @param {number} i */
  const visit = (i) => {
    rows.push({ kind: "node", i, depth: tree.depth[i] });
    if (!expanded.has(i)) return;
    const kids = tree.children[i];
    const limit = limits.get(i) ?? CHILD_LIMIT;
    for (const j of kids.slice(0, limit)) visit(j);
    if (kids.length > limit) rows.push({ kind: "more", i, depth: tree.depth[i] + 1, hidden: kids.length - limit });
  };
  visit(0);
  return rows;
}

/**
 * Rows for a filter: nodes whose name, class or path contains the query (case-insensitive), with
 * their ancestors for context, pre-order; at most FILTER_LIMIT matches.
 * @param {Tree} tree @param {string} query
 */
export function filterRows(tree, query) {
  const q = query.trim().toLowerCase();
  const matched = new Set();
  const shown = new Set();
  let total = 0;
  const paths = new Array(tree.n);
  for (let i = 0; i < tree.n; i++) {
    paths[i] = i ? (tree.parent[i] ? `${paths[tree.parent[i]]}.${tree.name(i)}` : tree.name(i)) : "";
    const hay = `${tree.name(i)} ${tree.cls(i)} ${paths[i]}`.toLowerCase();
    if (!hay.includes(q)) continue;
    total++;
    if (matched.size >= FILTER_LIMIT) continue;
    matched.add(i);
    for (let j = i; j >= 0 && !shown.has(j); j = j ? tree.parent[j] : -1) shown.add(j);
  }
  const rows = [];
  for (let i = 0; i < tree.n; i++) if (shown.has(i)) rows.push({ kind: "node", i, depth: tree.depth[i] });
  return { rows, matched, total };
}

/** Nodes expanded at first: everything for small trees, else the top two levels and the focus. */
export function initialExpanded(/** @type {Tree} */ tree, /** @type {number} */ focus) {
  const expanded = new Set();
  for (let i = 0; i < tree.n; i++) {
    if (tree.children[i].length && (tree.n <= EXPAND_ALL_BELOW || tree.depth[i] < 2)) expanded.add(i);
  }
  for (let j = focus > 0 ? tree.parent[focus] : -1; j >= 0; j = j ? tree.parent[j] : -1) expanded.add(j);
  return expanded;
}

/**
 * @param {string} tag @param {string} cls @param {string} [text]
 * @returns {HTMLElement}
 */
function make(tag, cls, text = "") {
  const e = document.createElement(tag);
  e.className = cls;
  if (text) e.textContent = text;
  return e;
}

/** @param {{model: any, el: HTMLElement}} ctx */
function render({ model, el }) {
  const root = make("div", "k1w-tree");
  const cssBox = /** @type {HTMLTextAreaElement} */ (make("textarea", "css-input"));
  cssBox.rows = 3;
  cssBox.spellcheck = false;
  cssBox.placeholder = "CSS, e.g.  SkipBlock LeakyReLU; #bulk > Linear: HookModule";
  const error = make("pre", "css-error");
  const warnings = make("ul", "css-warnings");
  const note = make("div", "note");
  const toolbar = make("div", "toolbar");
  const filter = /** @type {HTMLInputElement} */ (make("input", "filter-input"));
  filter.placeholder = "filter by name, class or path";
  const summary = make("span", "summary");
  const expandAll = make("button", "expand-all", "expand all");
  const collapseAll = make("button", "collapse-all", "collapse");
  toolbar.append(filter, summary, expandAll, collapseAll);
  const rowsEl = make("div", "rows");
  const details = make("div", "details");
  root.append(cssBox, error, warnings, note, toolbar, rowsEl, details);
  el.appendChild(root);

  let tree = indexTree(model.get("structure"));
  let sel = propsByNode(tree, model.get("props"));
  let focus = model.get("focus") ?? -1;
  let expanded = initialExpanded(tree, focus);
  /** @type {Map<number, number>} */
  let limits = new Map();
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let cssTimer;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let filterTimer;

  /** @type {Map<number, {label: string, title: string}>} */
  let hooked = hookedMap(model.get("hooked"));
  const hookedAt = (/** @type {number} */ i) => hooked.get(i);

  const drawRows = () => {
    const q = filter.value.trim();
    const filtered = q ? filterRows(tree, q) : null;
    const rows = filtered ? filtered.rows : visibleRows(tree, expanded, limits);
    const frag = document.createDocumentFragment();
    for (const r of rows) {
      if (r.kind === "more") {
        const more = make("div", "row more", `show ${Math.min(r.hidden ?? 0, CHILD_LIMIT)} more of ${r.hidden} hidden`);
        more.dataset.parent = String(r.i);
        more.style.paddingLeft = `${r.depth * 16 + 20}px`;
        frag.append(more);
        continue;
      }
      const i = r.i;
      const props = sel.byNode[i];
      const row = make("div", "row");
      row.dataset.index = String(i);
      row.style.paddingLeft = `${r.depth * 16}px`;
      if (props.length) row.classList.add("selected");
      if (i === focus) row.classList.add("focused");
      if (filtered?.matched.has(i)) row.classList.add("match");
      const hasKids = tree.children[i].length > 0;
      const open = filtered ? true : expanded.has(i);
      row.append(make("span", "toggle", hasKids ? (open ? "▾" : "▸") : ""));
      row.append(make("span", "name", tree.name(i)), make("span", "cls", tree.cls(i)));
      const np = make("span", "nparams", tree.nParams[i] ? formatCount(tree.nParams[i]) : "");
      np.title = `${tree.nParams[i]} parameters`;
      row.append(np);
      const tags = make("span", "tags");
      for (const p of props) {
        const t = make("span", "tag", p);
        t.style.background = tagColor(p);
        tags.append(t);
      }
      row.append(tags);
      const hk = hookedAt(i);
      if (hk) {
        const badge = make("span", "hooked", hk.label);
        badge.title = hk.title;
        row.append(badge);
        row.classList.add("is-hooked");
      }
      if (hasKids && !open && sel.inside[i]) row.append(make("span", "inside", `${sel.inside[i]} selected inside`));
      frag.append(row);
    }
    rowsEl.replaceChildren(frag);
    const shown = filtered ? `${filtered.total} match${filtered.total === 1 ? "" : "es"} · ` : "";
    summary.textContent = `${shown}${sel.selected} of ${tree.n} modules selected`;
  };

  const drawDetails = () => {
    details.replaceChildren();
    if (focus < 0 || focus >= tree.n) return;
    details.append(make("div", "path", pathOf(tree, focus)));
    const d = model.get("details") ?? {};
    if (d.index !== focus) {
      details.append(make("div", "pending", `${tree.cls(focus)} · …`));
      return;
    }
    const line = make("div", "rule-line");
    const code = make("code", "rule", d.rule);
    const add = make("button", "add-rule", "add to CSS");
    add.title = "append this rule to the CSS box";
    add.addEventListener("click", () => {
      const cur = cssBox.value.replace(/\s+$/, "");
      cssBox.value = cur ? `${cur}\n${d.rule}` : d.rule;
      sendCss();
    });
    line.append(make("span", "label", "selects it: "), code, add);
    const cls = make("div", "class-line", `${d.cls}: ${d.classCount} module${d.classCount === 1 ? "" : "s"} of this class`);
    details.append(line, cls);
    if (d.places > 1) details.append(make("div", "shared", `this module instance is used at ${d.places} places`));
    if (d.params?.length) {
      const table = make("table", "params");
      for (const [name, shape, numel] of d.params) {
        const tr = make("tr", "param");
        tr.append(make("td", "pname", name), make("td", "pshape", `[${shape.join(", ")}]`), make("td", "pnumel", String(numel)));
        table.append(tr);
      }
      details.append(table);
    } else {
      details.append(make("div", "no-params", "no parameters of its own"));
    }
  };

  const drawError = () => {
    const e = model.get("error") ?? {};
    error.textContent = e.message ?? "";
    error.hidden = !e.message;
    cssBox.classList.toggle("invalid", !!e.message);
  };

  const drawWarnings = () => {
    warnings.replaceChildren(...(model.get("warnings") ?? []).map((/** @type {string} */ w) => make("li", "warning", w)));
  };

  const drawNote = () => {
    note.textContent = model.get("note") ?? "";
    note.hidden = !note.textContent;
  };

  const sendCss = () => {
    clearTimeout(cssTimer);
    cssTimer = undefined;
    if (cssBox.value === model.get("cssText")) return;
    model.set("cssText", cssBox.value);
    model.save_changes();
  };

  cssBox.value = model.get("cssText") ?? "";
  drawError();
  drawWarnings();
  drawNote();
  drawRows();
  drawDetails();

  const onInput = () => {
    clearTimeout(cssTimer);
    cssTimer = setTimeout(sendCss, DEBOUNCE_MS);
  };
  cssBox.addEventListener("input", onInput);
  cssBox.addEventListener("blur", sendCss);
  filter.addEventListener("input", () => {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(drawRows, 120);
  });
  expandAll.addEventListener("click", () => {
    tree.children.forEach((kids, i) => kids.length && expanded.add(i));
    drawRows();
  });
  collapseAll.addEventListener("click", () => {
    expanded = new Set([0]);
    limits = new Map();
    drawRows();
  });
  rowsEl.addEventListener("click", (ev) => {
    const target = /** @type {HTMLElement} */ (ev.target);
    const more = /** @type {HTMLElement | null} */ (target.closest(".more"));
    if (more) {
      const p = Number(more.dataset.parent);
      limits.set(p, (limits.get(p) ?? CHILD_LIMIT) + CHILD_LIMIT);
      drawRows();
      return;
    }
    const row = /** @type {HTMLElement | null} */ (target.closest(".row"));
    if (!row) return;
    const i = Number(row.dataset.index);
    if (target.classList.contains("toggle") && tree.children[i].length) {
      if (expanded.has(i)) expanded.delete(i);
      else expanded.add(i);
      drawRows();
      return;
    }
    focus = i;
    model.set("focus", i);
    model.save_changes();
    drawRows();
    drawDetails();
  });

  const onStructure = () => {
    tree = indexTree(model.get("structure"));
    sel = propsByNode(tree, model.get("props"));
    focus = model.get("focus") ?? -1;
    expanded = initialExpanded(tree, focus);
    limits = new Map();
    drawRows();
    drawDetails();
  };
  const onProps = () => {
    sel = propsByNode(tree, model.get("props"));
    drawRows();
  };
  const onHooked = () => {
    hooked = hookedMap(model.get("hooked"));
    drawRows();
  };
  const onCssText = () => {
    const v = model.get("cssText") ?? "";
    if (cssBox.value !== v) {
      clearTimeout(cssTimer);
      cssTimer = undefined;
      cssBox.value = v;
    }
  };
  const onFocus = () => {
    focus = model.get("focus") ?? -1;
    drawRows();
    drawDetails();
  };
  /** @type {Array<[string, () => void]>} */
  const handlers = [
    ["change:structure", onStructure],
    ["change:props", onProps],
    ["change:cssText", onCssText],
    ["change:error", drawError],
    ["change:warnings", drawWarnings],
    ["change:note", drawNote],
    ["change:focus", onFocus],
    ["change:details", drawDetails],
    ["change:hooked", onHooked],
  ];
  for (const [ev, f] of handlers) model.on(ev, f);
  return () => {
    clearTimeout(cssTimer);
    clearTimeout(filterTimer);
    for (const [ev, f] of handlers) model.off(ev, f);
  };
}

/**
 * Which rows to mark as recorded by the hook callbacks: node index -> badge text and tooltip.
 * @param {{module?: number[], param?: number[]} | undefined} hooked
 */
export function hookedMap(hooked) {
  /** @type {Map<number, {label: string, title: string}>} */
  const out = new Map();
  const add = (/** @type {number[]} */ nodes, /** @type {string} */ label, /** @type {string} */ title) => {
    for (const i of nodes ?? []) {
      const cur = out.get(i);
      out.set(i, cur ? { label: `${cur.label}${label}`, title: `${cur.title}; ${title}` } : { label, title });
    }
  };
  add(hooked?.module ?? [], "◉", "HookModule records this module's outputs and gradients");
  add(hooked?.param ?? [], "◆", "HookParam records this module's parameters");
  return out;
}

export default { render };
