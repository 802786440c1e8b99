// The settings panel's render(): editors per type, messages sent on edits, errors, filter, cleanup.
import { describe, expect, it, vi } from "vitest";
import { fakeModel } from "./fakeModel.js";
import view from "../settings.js";

const leaf = (path, kind, text, extra = {}) => ({
  key: path.split(".").pop(),
  path,
  kind,
  text,
  docs: `docs of ${path}`,
  env: null,
  sensitive: false,
  isDefault: true,
  defaultText: text,
  ...extra,
});

function sampleTree() {
  return [
    leaf("displayCutoff", "int", "50"),
    leaf("cancelRun_newLine", "bool", "True", { value: true }),
    leaf("name", "str", "run-1"),
    leaf("device", "choice", "'cpu'", { choices: ["'cpu'", "'cuda'"], choiceIndex: 0 }),
    leaf("password", "str", "<redacted>", { sensitive: true, env: "K1W_PW", defaultText: "<redacted>" }),
    leaf("shape", "readonly", "(1, 2)"),
    {
      ...leaf("live", "settings", "<Settings>"),
      docs: "live views",
      children: [leaf("live.hz", "float", "10.0", { env: "K1W_LIVE_HZ" })],
    },
  ];
}

function setup(tree = sampleTree(), errors = {}) {
  const model = fakeModel({ tree, errors, title: "Settings" });
  const el = document.createElement("div");
  document.body.append(el);
  const cleanup = view.render({ model, el });
  const row = (path) => el.querySelector(`.k1w-settings-row[data-path="${path}"]`);
  const editor = (path) => row(path).querySelector(".k1w-settings-editor");
  return { model, el, cleanup, row, editor };
}

const type = (input, text) => {
  input.value = text;
  input.dispatchEvent(new Event("input"));
  input.dispatchEvent(new Event("change"));
};

describe("settings panel", () => {
  it("renders one editor per value type, docs, env badges and nested sections", () => {
    const { el, row, editor, cleanup } = setup();
    expect(el.classList.contains("k1w-settings")).toBe(true);
    expect(el.querySelector(".k1w-settings-title").textContent).toBe("Settings");
    expect(editor("displayCutoff").type).toBe("text");
    expect(editor("displayCutoff").value).toBe("50");
    expect(editor("cancelRun_newLine").type).toBe("checkbox");
    expect(editor("cancelRun_newLine").checked).toBe(true);
    expect(editor("name").value).toBe("run-1");
    expect(editor("device").tagName).toBe("SELECT");
    expect([...editor("device").options].map((o) => o.textContent)).toEqual(["'cpu'", "'cuda'"]);
    expect(row("shape").querySelector(".k1w-settings-editor")).toBeNull();
    expect(row("shape").querySelector(".k1w-settings-value").textContent).toBe("(1, 2)");
    expect(row("displayCutoff").querySelector(".k1w-settings-docs").textContent).toBe("docs of displayCutoff");
    expect(row("live.hz").querySelector(".k1w-settings-env").textContent).toBe("env K1W_LIVE_HZ");
    expect(row("displayCutoff").querySelector(".k1w-settings-env")).toBeNull();
    const section = el.querySelector('.k1w-settings-section[data-path="live"]');
    expect(section.contains(row("live.hz"))).toBe(true);
    expect(section.querySelector(".k1w-settings-toggle").textContent).toContain("live views");
    cleanup();
  });

  it("shows sensitive values as a write-only password field", () => {
    const { row, editor, model } = setup();
    const input = editor("password");
    expect(input.type).toBe("password");
    expect(input.value).toBe("");
    expect(input.placeholder).toBe("<redacted>");
    type(input, "new-secret");
    expect(model.send).toHaveBeenCalledWith({ type: "set", path: "password", value: "new-secret" });
    expect(input.value).toBe(""); // not kept in the page
    expect(row("password").querySelector(".k1w-settings-env").textContent).toBe("env K1W_PW");
  });

  it("sends edits as messages: text, checkbox, dropdown, reset", () => {
    const { model, editor, row } = setup();
    type(editor("displayCutoff"), "80");
    expect(model.send).toHaveBeenLastCalledWith({ type: "set", path: "displayCutoff", value: "80" });
    editor("cancelRun_newLine").click();
    expect(model.send).toHaveBeenLastCalledWith({ type: "set", path: "cancelRun_newLine", value: false });
    const select = editor("device");
    select.selectedIndex = 1;
    select.dispatchEvent(new Event("change"));
    expect(model.send).toHaveBeenLastCalledWith({ type: "set", path: "device", value: 1 });
    type(editor("live.hz"), "2.5");
    expect(model.send).toHaveBeenLastCalledWith({ type: "set", path: "live.hz", value: "2.5" });
    expect(model.save_changes).not.toHaveBeenCalled(); // edits are requests, Python owns the values
    expect(row("displayCutoff").querySelector(".k1w-settings-reset").disabled).toBe(true);
  });

  it("follows values pushed from Python and enables reset when a value differs from its default", () => {
    const { model, editor, row } = setup();
    const tree = sampleTree();
    tree[0] = { ...tree[0], text: "75", isDefault: false };
    tree[1] = { ...tree[1], value: false, text: "False", isDefault: false };
    tree[6].children[0] = { ...tree[6].children[0], text: "2.0", isDefault: false };
    model.set("tree", tree);
    expect(editor("displayCutoff").value).toBe("75");
    expect(editor("cancelRun_newLine").checked).toBe(false);
    expect(editor("live.hz").value).toBe("2.0");
    const reset = row("live.hz").querySelector(".k1w-settings-reset");
    expect(reset.disabled).toBe(false);
    expect(reset.title).toContain("10.0");
    expect(row("live.hz").classList.contains("k1w-settings-changed")).toBe(true);
    reset.click();
    expect(model.send).toHaveBeenLastCalledWith({ type: "reset", path: "live.hz" });
  });

  it("shows an error next to the field, keeps the rejected text, clears it when fixed", () => {
    const { model, editor, row } = setup();
    const input = editor("displayCutoff");
    type(input, "abc");
    model.set("errors", { displayCutoff: "displayCutoff takes a whole number, got 'abc'." });
    const error = row("displayCutoff").querySelector(".k1w-settings-error");
    expect(error.hidden).toBe(false);
    expect(error.textContent).toContain("whole number");
    expect(row("displayCutoff").classList.contains("k1w-settings-invalid")).toBe(true);
    expect(input.value).toBe("abc"); // the user can fix what they typed
    // a rejected checkbox goes back to the value Python holds
    editor("cancelRun_newLine").click();
    model.set("errors", { cancelRun_newLine: "ValueError: nope" });
    expect(editor("cancelRun_newLine").checked).toBe(true);
    model.set("errors", {});
    expect(error.hidden).toBe(true);
    expect(input.value).toBe("50");
  });

  it("sends on Enter once, and keeps notebook shortcuts out of the editors", () => {
    const { model, editor } = setup();
    const input = editor("displayCutoff");
    input.value = "64";
    input.dispatchEvent(new Event("input"));
    const enter = new KeyboardEvent("keydown", { key: "Enter", cancelable: true });
    input.dispatchEvent(enter);
    expect(enter.defaultPrevented).toBe(true);
    input.dispatchEvent(new Event("change")); // the blur that follows sends nothing more
    expect(model.send).toHaveBeenCalledTimes(1);
    expect(model.send).toHaveBeenLastCalledWith({ type: "set", path: "displayCutoff", value: "64" });
    expect(input.getAttribute("data-lm-suppress-shortcuts")).toBe("true");
    const secret = editor("password");
    secret.value = "x";
    secret.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", cancelable: true }));
    expect(model.send).toHaveBeenLastCalledWith({ type: "set", path: "password", value: "x" });
    expect(secret.value).toBe("");
  });

  it("does not overwrite text the user is typing", () => {
    const { model, editor } = setup();
    const input = editor("name");
    input.value = "half-typ";
    input.dispatchEvent(new Event("input"));
    const tree = sampleTree();
    tree[2] = { ...tree[2], text: "from-python" };
    model.set("tree", tree);
    expect(input.value).toBe("half-typ");
    input.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape" }));
    expect(input.value).toBe("from-python");
  });

  it("filters by key, docs and env; sections collapse and expand", () => {
    const { el, row } = setup();
    const search = el.querySelector(".k1w-settings-search");
    search.value = "hz";
    search.dispatchEvent(new Event("input"));
    expect(row("live.hz").hidden).toBe(false);
    expect(row("displayCutoff").hidden).toBe(true);
    search.value = "K1W_PW";
    search.dispatchEvent(new Event("input"));
    expect(row("password").hidden).toBe(false);
    expect(el.querySelector('.k1w-settings-section[data-path="live"]').hidden).toBe(true);
    search.value = "live views"; // a section's docs match: all its keys show
    search.dispatchEvent(new Event("input"));
    expect(row("live.hz").hidden).toBe(false);
    search.value = "no such thing";
    search.dispatchEvent(new Event("input"));
    expect(el.querySelector(".k1w-settings-empty").hidden).toBe(false);
    search.value = "";
    search.dispatchEvent(new Event("input"));
    expect(el.querySelector(".k1w-settings-empty").hidden).toBe(true);
    const section = el.querySelector('.k1w-settings-section[data-path="live"]');
    const toggle = section.querySelector(".k1w-settings-toggle");
    expect(toggle.getAttribute("aria-expanded")).toBe("true");
    toggle.click();
    expect(section.classList.contains("k1w-settings-collapsed")).toBe(true);
    expect(toggle.getAttribute("aria-expanded")).toBe("false");
    toggle.click();
    expect(section.classList.contains("k1w-settings-collapsed")).toBe(false);
  });

  it("rebuilds when keys are added, keeping collapsed sections", () => {
    const { model, el, row } = setup();
    el.querySelector('.k1w-settings-section[data-path="live"] .k1w-settings-toggle').click();
    const tree = sampleTree();
    tree.push(leaf("extra", "int", "3"));
    model.set("tree", tree);
    expect(row("extra")).not.toBeNull();
    const section = el.querySelector('.k1w-settings-section[data-path="live"]');
    expect(section.classList.contains("k1w-settings-collapsed")).toBe(true);
  });

  it("cleans up its listeners", () => {
    const { model, editor, cleanup } = setup();
    cleanup();
    for (const ev of ["change:tree", "change:errors", "change:title"]) expect(model.handlers[ev]).toEqual([]);
    const tree = sampleTree();
    tree[0] = { ...tree[0], text: "99" };
    model.set("tree", tree);
    expect(editor("displayCutoff").value).toBe("50");
  });
});
