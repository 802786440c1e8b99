"""Core modules never import the widget libraries (ARCHITECTURE.md §1, STYLE.md §1)."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import k1widgets

# every module of the package (the folders' modules too), except the views
CORE = ["k1widgets"] + [
    m.name
    for m in pkgutil.walk_packages(k1widgets.__path__, "k1widgets.")
    if not m.name.startswith("k1widgets.widgets") and m.name != "k1widgets.experimental"
]
WIDGET_LIBRARIES = ["ipywidgets", "anywidget", "bqplot"]

PROBE = """
import importlib, json, sys
for name in {core!r}:
    importlib.import_module(name)
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in {libs!r})))
"""


def importedWidgetLibraries(modules):
    code = PROBE.format(core=modules, libs=WIDGET_LIBRARIES)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_core_modules_do_not_import_widget_libraries():
    assert importedWidgetLibraries(CORE) == []


def test_probe_sees_widget_libraries_when_they_are_imported():
    # the probe itself works: importing a view does load them
    assert "anywidget" in importedWidgetLibraries(["k1widgets.widgets.progress"])


def test_import_k1widgets_stays_light():
    # sweeps need xarray and pandas (and Dask when asked for): none of them loads with `import k1widgets`
    code = (
        "import sys, k1widgets\n"
        "print(sorted(m for m in ('xarray', 'pandas', 'dask', 'distributed') if m in sys.modules))\n"
        "k1widgets.label\n"
        "print(sorted(m for m in ('xarray', 'dask', 'distributed') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0] == "[]"
    assert out[1] == "['xarray']"  # the sweeps load on first use, still without Dask
