"""The public API: a checked-in list of names, each resolving; changes need a CHANGELOG entry."""

from __future__ import annotations

import k1widgets

PUBLIC = [
    "CacheView",
    "Callback",
    "Callbacks",
    "CallbacksView",
    "CancelBatchException",
    "CancelEpochException",
    "CancelRunException",
    "DashboardView",
    "Domain",
    "Harvester",
    "Learner",
    "ModuleSelector",
    "PlotView",
    "ProgressView",
    "Range",
    "RunHandle",
    "Runner",
    "Sampler",
    "SelectorSyntaxError",
    "Settings",
    "SettingsPanel",
    "SliceablePlot",
    "TreeView",
    "__version__",
    "callbacks",
    "checkpoint",
    "cultivate",
    "data",
    "farming",
    "label",
    "schedule",
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


def test_checkpoint_is_the_decorator():
    from k1widgets import checkpoint
    from k1widgets.persist.checkpoint import Checkpointed

    assert callable(checkpoint)
    assert isinstance(checkpoint(lambda: 1), Checkpointed)


def test_readme_import_style_works():
    import k1widgets as k1lib

    assert k1lib.data.Data.fromDataset and k1lib.data.FunctionDataset.exp


# the documented submodule paths (README, CONTRIBUTING) and what each must provide
SUBMODULES = {
    "k1widgets.callbacks": ["Callback", "Callbacks", "Loss", "ProgressBar", "CancelOnLowLoss", "CHECKPOINTS"],
    "k1widgets.data": ["Data", "DataLoader", "FunctionDataset"],
    "k1widgets.selector": ["ModuleSelector", "select", "parse", "SelectorSyntaxError", "Rule", "treeState"],
    "k1widgets.selector.css": ["parse", "Rule", "SelectorSyntaxError", "DEFAULT_PROP"],
    "k1widgets.settings": ["Settings", "settings", "SettingsValueError", "UnknownSettingError", "settingsTree"],
    "k1widgets.plot": ["SliceablePlot", "Panel", "Range", "Domain", "decimateWindow", "minmaxIndices"],
    "k1widgets.persist": ["atomicWrite"],
    "k1widgets.live": ["Series", "Feed", "CommandQueue"],
    "k1widgets.display": ["VIEWS", "view", "mimebundle", "show"],
    "k1widgets.widgets": ["PlotView", "ProgressView", "SettingsPanel", "TreeView", "View"],
}


def test_documented_submodule_paths_import():
    import importlib

    for module, names in SUBMODULES.items():
        m = importlib.import_module(module)
        missing = [n for n in names if not hasattr(m, n)]
        assert missing == [], f"{module} lacks {missing}"
    # the global settings object keeps shadowing its package's name, as k1lib's does
    assert isinstance(k1widgets.settings, k1widgets.Settings)


def test_every_registered_view_resolves():
    import importlib

    from k1widgets import display

    for core, view in display.VIEWS.items():
        module, _, name = core.rpartition(".")
        assert hasattr(importlib.import_module(module), name), core
        vModule, vName = view.split(":")
        assert hasattr(importlib.import_module(vModule), vName), view
