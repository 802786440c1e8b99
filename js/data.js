// The data view (k1widgets/widgets/data.py): one card per loader with counts, a batch's shapes and
// dtypes, and a table of samples; ◀ / ▶ send {action: "batch", loader, index}.
import "./data.css";

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

/** @param {number | null | undefined} n */
function count(n) {
  return n == null ? "-" : n.toLocaleString("en-US");
}

/** @param {{model: any, el: HTMLElement}} ctx */
function render({ model, el }) {
  const root = make("div", "k1w-data");
  el.append(root);

  /** @param {Event} ev */
  function onClick(ev) {
    const target = /** @type {HTMLElement} */ (ev.target);
    const card = /** @type {HTMLElement | null} */ (target.closest("[data-loader]"));
    if (!card || !(target instanceof HTMLButtonElement)) return;
    const loader = Number(card.dataset.loader);
    const index = Number(card.dataset.index) + (target.classList.contains("k1w-data-next") ? 1 : -1);
    if (index >= 0) model.send({ action: "batch", loader, index });
  }
  root.addEventListener("click", onClick);

  function update() {
    root.replaceChildren();
    (model.get("loaders") || []).forEach((/** @type {any} */ d, /** @type {number} */ i) => {
      const card = make("div", "k1w-data-card");
      card.dataset.loader = String(i);
      card.dataset.index = String(d.index || 0);
      card.append(make("div", "k1w-data-title", d.title || "DataLoader"));
      const facts = make("div", "k1w-data-facts");
      facts.append(
        make("span", "k1w-data-batches", `${count(d.batches)} batches`),
        make("span", "k1w-data-batchsize", `batch size ${count(d.batchSize)}`),
        make("span", "k1w-data-samples", `${count(d.samples)} samples`),
      );
      card.append(facts);
      const shapes = make("table", "k1w-data-shapes");
      for (const b of d.batch || []) {
        const tr = make("tr", "");
        const shape = (b.shape || []).join(" × ") || "scalar";
        tr.append(make("th", "", b.name), make("td", "", shape), make("td", "", b.dtype || ""));
        shapes.append(tr);
      }
      card.append(shapes);
      const sample = d.sample || {};
      if ((sample.rows || []).length) {
        const nav = make("div", "k1w-data-nav");
        const prev = make("button", "k1w-data-prev", "◀");
        const next = make("button", "k1w-data-next", "▶");
        /** @type {HTMLButtonElement} */ (prev).disabled = !d.index;
        /** @type {HTMLButtonElement} */ (next).disabled = d.batches != null && d.index >= d.batches - 1;
        nav.append(
          prev,
          make("span", "k1w-data-index", `batch ${(d.index || 0) + 1}: first ${sample.rows.length} of ${sample.total}`),
          next,
        );
        card.append(nav);
        const table = make("table", "k1w-data-sample");
        const head = make("tr", "");
        head.append(make("th", "", "#"));
        for (const c of sample.columns || []) head.append(make("th", "", c));
        table.append(head);
        sample.rows.forEach((/** @type {string[]} */ r, /** @type {number} */ j) => {
          const tr = make("tr", "");
          tr.append(make("td", "k1w-data-row", String(j)));
          for (const c of r) tr.append(make("td", "", c));
          table.append(tr);
        });
        card.append(table);
      } else if (d.note) {
        card.append(make("div", "k1w-data-note", d.note));
      }
      root.append(card);
    });
  }

  model.on("change:loaders", update);
  update();
  return () => {
    model.off("change:loaders", update);
    root.removeEventListener("click", onClick);
    root.remove();
  };
}

export default { render };
