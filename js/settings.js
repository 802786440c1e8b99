// SettingsPanel view: nested, collapsible sections of settings with one editor per value type.
//
// Synced traits (from Python): `tree` (see k1widgets.settings.settingsTree), `errors` ({path: message}),
// `title`. Edits go back as custom messages: {type: "set", path, value} and {type: "reset", path}.
// Python validates and applies them; this view never decides whether a value is valid. The search box
// and the collapsed sections live only here (no kernel round trip).
import "./settings.css";

const P = "k1w-settings";

/**
 * @param {string} tag
 * @param {string} [cls]
 * @param {string} [text]
 * @returns {HTMLElement}
 */
function mk(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** The structure of a tree (everything but the values): a change rebuilds the DOM. */
function shape(nodes) {
  return nodes.map((n) => [
    n.path,
    n.kind,
    n.docs,
    n.env,
    n.sensitive,
    n.choices || null,
    n.children ? shape(n.children) : null,
  ]);
}

const EDITABLE_SENSITIVE = new Set(["str", "int", "float"]);

/**
 * Builds the editor of one value and returns {element, update(node, error)}.
 * @param {any} node
 * @param {(msg: object) => void} send
 */
function makeEditor(node, send) {
  const path = node.path;
  if (node.sensitive) {
    if (!EDITABLE_SENSITIVE.has(node.kind)) {
      const span = mk("span", `${P}-value ${P}-redacted`, "<redacted>");
      return { element: span, update: () => {} };
    }
    // write-only: the current value never reaches the browser
    const input = /** @type {HTMLInputElement} */ (mk("input", `${P}-editor ${P}-secret`));
    input.type = "password";
    input.placeholder = "<redacted>";
    input.autocomplete = "off";
    const commit = () => {
      if (input.value === "") return;
      send({ type: "set", path, value: input.value });
      input.value = "";
    };
    input.addEventListener("change", commit);
    input.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter") {
        ev.preventDefault();
        commit();
      }
    });
    return { element: input, update: () => {} };
  }
  if (node.kind === "bool") {
    const input = /** @type {HTMLInputElement} */ (mk("input", `${P}-editor`));
    input.type = "checkbox";
    input.checked = !!node.value;
    input.addEventListener("change", () => send({ type: "set", path, value: input.checked }));
    return { element: input, update: (n) => (input.checked = !!n.value) };
  }
  if (node.kind === "choice") {
    const select = /** @type {HTMLSelectElement} */ (mk("select", `${P}-editor`));
    for (const text of node.choices) select.append(mk("option", "", text));
    select.selectedIndex = node.choiceIndex;
    select.addEventListener("change", () => send({ type: "set", path, value: select.selectedIndex }));
    return { element: select, update: (n) => (select.selectedIndex = n.choiceIndex) };
  }
  if (node.kind === "int" || node.kind === "float" || node.kind === "str") {
    const input = /** @type {HTMLInputElement} */ (mk("input", `${P}-editor`));
    input.type = "text";
    input.spellcheck = false;
    if (node.kind !== "str") input.inputMode = node.kind === "int" ? "numeric" : "decimal";
    input.value = node.text;
    let shown = node.text; // the value Python last told us
    let dirty = false; // typed but not sent yet
    const commit = () => {
      if (!dirty) return;
      dirty = false;
      send({ type: "set", path, value: input.value });
    };
    input.addEventListener("input", () => (dirty = true));
    input.addEventListener("change", commit);
    input.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter") {
        ev.preventDefault();
        commit();
      } else if (ev.key === "Escape") {
        dirty = false;
        input.value = shown;
      }
    });
    return {
      element: input,
      update: (n, error) => {
        const changed = n.text !== shown;
        shown = n.text;
        // never overwrite what the user is typing, nor a rejected entry they may want to fix
        if (!dirty && (changed || !error)) input.value = n.text;
      },
    };
  }
  const span = mk("span", `${P}-value`, node.text);
  return { element: span, update: (n) => (span.textContent = n.text) };
}

function render({ model, el }) {
  el.classList.add(P);
  const head = mk("div", `${P}-head`);
  const title = mk("span", `${P}-title`);
  const search = /** @type {HTMLInputElement} */ (mk("input", `${P}-search`));
  search.type = "search";
  search.placeholder = "Filter settings…";
  search.setAttribute("aria-label", "Filter settings");
  search.setAttribute("data-lm-suppress-shortcuts", "true");
  head.append(title, search);
  const body = mk("div", `${P}-body`);
  const empty = mk("div", `${P}-empty`, "No setting matches the filter.");
  empty.hidden = true;
  el.append(head, body, empty);

  const send = (msg) => model.send(msg);
  const collapsed = new Set(); // paths of collapsed sections: view-only state, kept across rebuilds
  /** @type {Map<string, any>} */
  let items = new Map();
  let currentShape = "";

  function buildSection(node, parent, depth) {
    const section = mk("div", `${P}-section`);
    section.dataset.path = node.path;
    const toggle = /** @type {HTMLButtonElement} */ (mk("button", `${P}-toggle`));
    toggle.type = "button";
    const caret = mk("span", `${P}-caret`);
    toggle.append(caret, mk("span", `${P}-key`, node.key));
    if (node.docs) toggle.append(mk("span", `${P}-docs`, node.docs));
    const children = mk("div", `${P}-children`);
    toggle.addEventListener("click", () => {
      if (collapsed.has(node.path)) collapsed.delete(node.path);
      else collapsed.add(node.path);
      applyFilter();
    });
    section.append(toggle, children);
    parent.append(section);
    items.set(node.path, { node, section, toggle, caret, children });
    for (const child of node.children) build(child, children, depth + 1);
  }

  function buildRow(node, parent, depth) {
    const row = mk("div", `${P}-row`);
    row.style.setProperty("--k1w-depth", String(depth)); // keeps editors aligned across nesting levels
    row.dataset.path = node.path;
    row.dataset.kind = node.kind;
    const key = mk("label", `${P}-key`, node.key);
    key.title = node.path;
    const editor = makeEditor(node, send);
    editor.element.setAttribute("aria-label", node.path);
    // keys typed into an editor are for the editor, not JupyterLab's notebook shortcuts (Enter, Escape...)
    editor.element.setAttribute("data-lm-suppress-shortcuts", "true");
    const cell = mk("div", `${P}-edit`);
    cell.append(editor.element);
    const tools = mk("div", `${P}-tools`);
    if (node.env) {
      const badge = mk("span", `${P}-env`, `env ${node.env}`);
      badge.title = `Read from the environment variable ${node.env} when the setting was defined`;
      tools.append(badge);
    }
    const reset = /** @type {HTMLButtonElement} */ (mk("button", `${P}-reset`, "reset"));
    reset.type = "button";
    reset.addEventListener("click", () => send({ type: "reset", path: node.path }));
    tools.append(reset);
    const docs = mk("div", `${P}-docs`, node.docs || "");
    const error = mk("div", `${P}-error`);
    error.setAttribute("role", "alert");
    row.append(key, cell, tools, error, docs);
    parent.append(row);
    items.set(node.path, { node, row, editor, reset, error });
  }

  function build(node, parent, depth) {
    if (node.kind === "settings") buildSection(node, parent, depth);
    else buildRow(node, parent, depth);
  }

  function update() {
    const tree = model.get("tree") || [];
    const s = JSON.stringify(shape(tree));
    if (s !== currentShape) {
      currentShape = s;
      items = new Map();
      body.replaceChildren();
      for (const node of tree) build(node, body, 0);
    }
    const errors = model.get("errors") || {};
    const visit = (nodes) => {
      for (const node of nodes) {
        const item = items.get(node.path);
        if (!item) continue;
        item.node = node;
        if (node.children) {
          visit(node.children);
          continue;
        }
        const message = errors[node.path] || "";
        item.editor.update(node, message);
        item.row.classList.toggle(`${P}-invalid`, !!message);
        item.row.classList.toggle(`${P}-changed`, !node.isDefault);
        item.error.textContent = message;
        item.error.hidden = !message;
        item.reset.disabled = !!node.isDefault;
        item.reset.title = node.isDefault ? "At its default" : `Reset to the default: ${node.defaultText}`;
      }
    };
    visit(tree);
    applyFilter();
  }

  function matches(node, q) {
    const text = [node.key, node.path, node.docs, node.env || "", node.sensitive ? "" : node.text];
    return text.join(" ").toLowerCase().includes(q);
  }

  /** Shows what matches the search box; returns whether anything in `nodes` is visible. */
  function filterNodes(nodes, q, forced) {
    let any = false;
    for (const node of nodes) {
      const item = items.get(node.path);
      if (!item) continue;
      const self = forced || !q || matches(node, q);
      if (node.children) {
        const inner = filterNodes(node.children, q, self && !!q);
        const show = self || inner;
        item.section.hidden = !show;
        const open = q ? show : !collapsed.has(node.path);
        item.section.classList.toggle(`${P}-collapsed`, !open);
        item.caret.textContent = open ? "▾" : "▸";
        item.toggle.setAttribute("aria-expanded", String(open));
        any = any || show;
      } else {
        item.row.hidden = !self;
        any = any || self;
      }
    }
    return any;
  }

  function applyFilter() {
    const q = search.value.trim().toLowerCase();
    const any = filterNodes(model.get("tree") || [], q, false);
    empty.hidden = any || (model.get("tree") || []).length === 0;
  }

  const onTitle = () => (title.textContent = model.get("title") || "Settings");
  search.addEventListener("input", applyFilter);
  model.on("change:tree", update);
  model.on("change:errors", update);
  model.on("change:title", onTitle);
  onTitle();
  update();
  return () => {
    model.off("change:tree", update);
    model.off("change:errors", update);
    model.off("change:title", onTitle);
  };
}

export default { render };
