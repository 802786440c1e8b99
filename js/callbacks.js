// The live table of a learner's callbacks (k1widgets/widgets/callbacks.py: CallbacksTable).
// Python pushes `rows` (dispatch order), `details` (the selected callback's text) and `error`.
// The browser sets `selected` on a row click and sends {action: "suspend", name, on} / {action: "detach", name}.
import "./callbacks.css";

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

const PENDING_TEXT = { suspend: "suspending…", restore: "restoring…", detach: "detaching…" };

/** @param {{model: any, el: HTMLElement}} ctx */
function render({ model, el }) {
  const root = make("div", "k1w-callbacks");
  const table = make("table", "k1w-callbacks-table");
  const error = make("div", "k1w-callbacks-error");
  const details = make("div", "k1w-callbacks-details");
  const detailsTitle = make("div", "k1w-callbacks-details-title");
  const detailsText = make("pre", "k1w-callbacks-details-text");
  details.append(detailsTitle, detailsText);
  root.append(table, error, details);
  el.append(root);

  /** @param {Event} ev */
  function onClick(ev) {
    const target = /** @type {HTMLElement} */ (ev.target);
    const row = /** @type {HTMLElement | null} */ (target.closest("tr[data-name]"));
    if (!row) return;
    const name = row.dataset.name || "";
    if (target.classList.contains("k1w-callbacks-detach")) {
      model.send({ action: "detach", name });
      return;
    }
    if (target.classList.contains("k1w-callbacks-toggle")) return; // handled by onChange
    model.set("selected", model.get("selected") === name ? "" : name);
    model.save_changes();
  }

  /** @param {Event} ev */
  function onChange(ev) {
    const target = /** @type {HTMLInputElement} */ (ev.target);
    if (!target.classList.contains("k1w-callbacks-toggle")) return;
    const row = /** @type {HTMLElement | null} */ (target.closest("tr[data-name]"));
    if (!row) return;
    // the box shows "active": unticking it suspends the callback
    model.send({ action: "suspend", name: row.dataset.name, on: !target.checked });
  }

  table.addEventListener("click", onClick);
  table.addEventListener("change", onChange);

  function update() {
    const rows = model.get("rows") || [];
    const selected = model.get("selected") || "";
    table.replaceChildren();
    const head = make("tr", "");
    for (const h of ["active", "#", "name", "class", "order", "checkpoints", ""]) head.append(make("th", "", h));
    table.append(head);
    rows.forEach((/** @type {any} */ r, /** @type {number} */ i) => {
      const tr = make("tr", "k1w-callbacks-row");
      tr.dataset.name = r.name;
      tr.dataset.suspended = r.suspended ? "true" : "false";
      if (r.name === selected) tr.classList.add("selected");
      if (r.pending) tr.classList.add("pending");
      const toggleCell = make("td", "");
      const toggle = /** @type {HTMLInputElement} */ (make("input", "k1w-callbacks-toggle"));
      toggle.type = "checkbox";
      toggle.checked = !r.suspended;
      toggle.title = r.suspended ? "suspended: tick to restore" : "active: untick to suspend";
      toggleCell.append(toggle);
      const checkpoints = make("td", "k1w-callbacks-checkpoints");
      for (const c of r.checkpoints || []) checkpoints.append(make("span", "k1w-callbacks-chip", c));
      const state = make("td", "k1w-callbacks-state");
      const detach = make("button", "k1w-callbacks-detach", "Detach");
      detach.title = `cbs.${r.name}.detach()`;
      state.append(detach);
      if (r.pending) state.append(make("span", "k1w-callbacks-pending", PENDING_TEXT[r.pending] || r.pending));
      else if (r.suspended) state.append(make("span", "k1w-callbacks-suspended", "suspended"));
      tr.append(
        toggleCell,
        make("td", "k1w-callbacks-index", String(i)),
        make("td", "k1w-callbacks-name", r.name),
        make("td", "k1w-callbacks-class", r.cls),
        make("td", "k1w-callbacks-order", String(r.order)),
        checkpoints,
        state,
      );
      table.append(tr);
    });
    error.textContent = model.get("error") || "";
    error.hidden = !error.textContent;
    const d = model.get("details") || {};
    details.hidden = !d.name;
    detailsTitle.textContent = d.name ? `cbs.${d.name}` : "";
    detailsText.textContent = d.text || "";
  }

  const events = ["change:rows", "change:selected", "change:details", "change:error"];
  for (const ev of events) model.on(ev, update);
  update();
  return () => {
    for (const ev of events) model.off(ev, update);
    table.removeEventListener("click", onClick);
    table.removeEventListener("change", onChange);
    root.remove();
  };
}

export default { render };
