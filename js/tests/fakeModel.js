// A fake anywidget model for render() tests: get/set (set fires "change:<key>" listeners), on/off,
// save_changes and send as spies, and a widget_manager whose get_model resolves `managerModels[id]`.
import { vi } from "vitest";

export function fakeModel(state, managerModels = {}) {
  const handlers = {};
  return {
    state,
    handlers,
    get: (k) => state[k],
    set: (k, v) => {
      const changes = typeof k === "object" ? k : { [k]: v };
      for (const [key, value] of Object.entries(changes)) {
        state[key] = value;
        for (const f of handlers[`change:${key}`] || []) f();
      }
    },
    on: (ev, f) => {
      (handlers[ev] ||= []).push(f);
    },
    off: (ev, f) => {
      handlers[ev] = (handlers[ev] || []).filter((g) => g !== f);
    },
    save_changes: vi.fn(),
    send: vi.fn(),
    widget_manager: { get_model: vi.fn(async (id) => managerModels[id]) },
  };
}
