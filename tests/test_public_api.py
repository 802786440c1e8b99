"""The public API: a checked-in list of names, each resolving; changes need a CHANGELOG entry."""

from __future__ import annotations

import k1widgets

PUBLIC = [
    "Callback",
    "Callbacks",
    "CallbacksView",
    "CancelBatchException",
    "CancelEpochException",
    "CancelRunException",
    "DashboardView",
    "Domain",
    "Learner",
    "ModuleSelector",
    "PlotView",
    "ProgressView",
    "Range",
    "RunHandle",
    "SelectorSyntaxError",
    "Settings",
    "SettingsPanel",
    "SliceablePlot",
    "TreeView",
    "__version__",
    "callbacks",
    "data",
    "select",
    "settings",
]


def test_public_names_are_the_checked_in_list():
    assert sorted(k1widgets.__all__) == sorted(PUBLIC)
    for name in PUBLIC:
        assert getattr(k1widgets, name) is not None


def test_unknown_names_raise_attribute_error():
    import pytest

    with pytest.raises(AttributeError, match="has no attribute 'Lerner'"):
        k1widgets.Lerner  # noqa: B018


def test_readme_import_style_works():
    import k1widgets as k1lib

    assert k1lib.data.Data.fromDataset and k1lib.data.FunctionDataset.exp
