"""Static fallbacks travel with the views: what exports, GitHub and terminals show instead of a widget."""

from __future__ import annotations

import importlib
import io

import traitlets
from conftest import makeLearner

import k1widgets as k1lib
from k1widgets import display
from k1widgets.widgets.base import StaticFallback, View

WIDGET = display.WIDGET_VIEW


class Thing:
    """A core object of a kind another branch might add, with its static picture."""

    def __repr__(self) -> str:
        return "Thing(3 parts). Use..."

    def _repr_html_(self) -> str:
        return "<b>three parts</b>"


class ThingView(View):
    _esm = "export default { render() {} };"
    parts = traitlets.Int(3).tag(sync=True)

    def __init__(self, thing: Thing) -> None:
        super().__init__()


def bundleOf(view):
    data = view._repr_mimebundle_()
    return data[0] if isinstance(data, tuple) else data


def test_a_new_view_carries_its_objects_fallback_without_code_of_its_own(monkeypatch):
    monkeypatch.setitem(display.VIEWS, f"{__name__}.Thing", f"{__name__}:ThingView")
    thing = Thing()
    view = display.view(thing)
    assert view.staticSource is thing
    data = bundleOf(view)
    assert data["text/html"] == "<b>three parts</b>"
    assert data["text/plain"] == "Thing(3 parts). Use..."  # not "ThingView(...)" or "<... object at 0x...>"
    assert data[WIDGET]["model_id"] == view.model_id
    view.close()


def test_fallback_takes_text_html_and_svg_when_the_object_has_them():
    class Drawing:
        def _repr_svg_(self):
            return "<svg></svg>"

    class Blank:
        def _repr_html_(self):
            return None  # "nothing to show" is left out

    assert display.fallback(Drawing())["image/svg+xml"] == "<svg></svg>"
    assert set(display.fallback(Blank())) == {"text/plain"}


def test_every_registered_view_has_a_static_fallback():
    for core, path in display.VIEWS.items():
        module, name = path.split(":")
        cls = getattr(importlib.import_module(module), name)
        assert issubclass(cls, StaticFallback), f"{path} (the view of {core}) should build on View or StaticFallback"


def test_each_existing_view_exports_its_picture():
    l = makeLearner()
    l.ProgressBar.stream = io.StringIO()
    l.run(1)
    expected = [
        (l.Loss.plot(), '<div class="k1w-plot-static"><svg'),
        (l.moduleSelector, '<pre class="k1w-tree-static">'),
        (k1lib.settings, '<table class="k1w-settings-static">'),
        (l.ProgressBar, '<div class="k1w-progress-static" data-status="done"'),
    ]
    for obj, start in expected:
        view = obj.widget()
        data = bundleOf(view)
        assert data["text/html"].startswith(start), (type(view).__name__, data["text/html"][:80])
        assert "object at 0x" not in data["text/plain"]
        view.close()
