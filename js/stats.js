// A small titled table (k1widgets/widgets/stats.py): `title`, optional `columns`, `rows` of text cells.
import "./stats.css";

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

/** @param {{model: any, el: HTMLElement}} ctx */
function render({ model, el }) {
  const root = make("div", "k1w-stats");
  const title = make("div", "k1w-stats-title");
  const table = make("table", "k1w-stats-table");
  root.append(title, table);
  el.append(root);

  function update() {
    title.textContent = model.get("title") || "";
    title.hidden = !title.textContent;
    const columns = model.get("columns") || [];
    const rows = model.get("rows") || [];
    table.replaceChildren();
    if (columns.length) {
      const head = make("tr", "");
      for (const c of columns) head.append(make("th", "", String(c)));
      table.append(head);
    }
    for (const r of rows) {
      const tr = make("tr", "");
      r.forEach((/** @type {any} */ c, /** @type {number} */ i) =>
        tr.append(make(!columns.length && i === 0 ? "th" : "td", "", String(c))),
      );
      table.append(tr);
    }
    root.dataset.empty = rows.length ? "false" : "true";
  }

  const events = ["change:title", "change:columns", "change:rows"];
  for (const ev of events) model.on(ev, update);
  update();
  return () => {
    for (const ev of events) model.off(ev, update);
    root.remove();
  };
}

export default { render };
