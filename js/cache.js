// The cache view of a @checkpoint function (k1widgets/widgets/cache.py).
// Python pushes one `state` dict: {function, folder, hits, misses, totalSize, entries: [{name, key,
// sizeText, ageText, status, arguments, seconds}], error?}. Buttons send {action: "delete", name},
// {action: "clear"} and {action: "refresh"} as custom messages; Python deletes and pushes the new state.
import "./cache.css";

const P = "k1w-cache";

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

/**
 * @param {number} n
 * @param {string} one
 * @param {string} many
 */
function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

/** @param {number | null | undefined} s */
function fmtSeconds(s) {
  if (s == null || !Number.isFinite(s)) return "";
  return s < 1 ? `${(s * 1000).toFixed(0)} ms` : `${s.toFixed(1)} s`;
}

/** @param {{model: any, el: HTMLElement}} ctx */
function render({ model, el }) {
  const root = mk("div", P);
  const head = mk("div", `${P}-head`);
  const title = mk("span", `${P}-title`);
  const summary = mk("span", `${P}-summary`);
  const refresh = /** @type {HTMLButtonElement} */ (mk("button", `${P}-refresh`, "Refresh"));
  const clear = /** @type {HTMLButtonElement} */ (mk("button", `${P}-clear`, "Clear all"));
  refresh.type = clear.type = "button";
  head.append(title, summary, refresh, clear);
  const folder = mk("div", `${P}-folder`);
  const error = mk("div", `${P}-error`);
  const table = mk("table", `${P}-table`);
  const thead = mk("thead");
  const headRow = mk("tr");
  for (const h of ["key", "size", "age", "took", "status", "arguments", ""]) headRow.append(mk("th", "", h));
  thead.append(headRow);
  const tbody = mk("tbody");
  table.append(thead, tbody);
  const empty = mk("div", `${P}-empty`, "No entries yet: call the function to fill its cache.");
  root.append(head, folder, error, table, empty);
  el.append(root);

  const onRefresh = () => model.send({ action: "refresh" });
  const onClear = () => {
    clear.disabled = true;
    model.send({ action: "clear" });
  };
  refresh.addEventListener("click", onRefresh);
  clear.addEventListener("click", onClear);
  // one listener for every row's delete button (rows are rebuilt on each update)
  const onRowClick = (/** @type {Event} */ ev) => {
    const button = /** @type {HTMLElement} */ (ev.target).closest(`.${P}-delete`);
    if (!button) return;
    const name = button.getAttribute("data-name");
    /** @type {HTMLButtonElement} */ (button).disabled = true;
    model.send({ action: "delete", name });
  };
  tbody.addEventListener("click", onRowClick);

  function update() {
    const s = model.get("state") || {};
    const entries = Array.isArray(s.entries) ? s.entries : [];
    title.textContent = s.function || "";
    summary.textContent =
      `${plural(entries.length, "entry", "entries")}, ${s.totalSize || "0 B"}` +
      ` · ${plural(s.hits || 0, "hit", "hits")}, ${plural(s.misses || 0, "miss", "misses")}`;
    folder.textContent = s.folder ? `in ${s.folder}` : "";
    error.textContent = s.error || "";
    error.hidden = !s.error;
    clear.disabled = entries.length === 0;
    empty.hidden = entries.length > 0;
    table.hidden = entries.length === 0;
    const rows = entries.map((/** @type {any} */ e) => {
      const tr = mk("tr", `${P}-row`);
      tr.setAttribute("data-name", e.name);
      tr.dataset.status = e.status;
      const key = mk("td", `${P}-key`, e.name);
      key.title = e.name;
      const status = mk("td", `${P}-status`);
      status.append(mk("span", `${P}-badge ${P}-${e.status === "ok" ? "ok" : "corrupt"}`, e.status));
      const args = mk("td", `${P}-args`, e.arguments || "");
      args.title = e.arguments || "";
      const del = mk("button", `${P}-delete`, "Delete");
      del.setAttribute("data-name", e.name);
      del.title = `Delete ${e.name}`;
      const action = mk("td", `${P}-action`);
      action.append(del);
      tr.append(
        key,
        mk("td", `${P}-size`, e.sizeText || ""),
        mk("td", `${P}-age`, e.ageText ? `${e.ageText} ago` : ""),
        mk("td", `${P}-took`, fmtSeconds(e.seconds)),
        status,
        args,
        action,
      );
      return tr;
    });
    tbody.replaceChildren(...rows);
  }

  model.on("change:state", update);
  update();
  return () => {
    model.off("change:state", update);
    refresh.removeEventListener("click", onRefresh);
    clear.removeEventListener("click", onClear);
    tbody.removeEventListener("click", onRowClick);
    root.remove();
  };
}

export default { render };
