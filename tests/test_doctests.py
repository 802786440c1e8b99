"""Every example in a docstring of k1widgets runs as a doctest, in every module (new ones included)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import k1widgets


def _doctests() -> list[doctest.DocTest]:
    finder = doctest.DocTestFinder(exclude_empty=True)
    found = []
    for info in sorted(pkgutil.walk_packages(k1widgets.__path__, "k1widgets."), key=lambda m: m.name):
        module = importlib.import_module(info.name)
        found += [t for t in finder.find(module, info.name) if t.examples]
    return sorted(found, key=lambda t: t.name)


DOCTESTS = _doctests()


@pytest.mark.parametrize("test", DOCTESTS, ids=[t.name for t in DOCTESTS])
def test_docstring_example_runs(test, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    report: list[str] = []
    runner.run(test, out=report.append)
    assert runner.failures == 0, "".join(report)


def test_every_module_is_searched_for_examples():
    names = {t.name for t in DOCTESTS}
    assert {"k1widgets.learner.Learner", "k1widgets.settings.core.Settings", "k1widgets.live.Series"} <= names
    modules = {t.name.split(".")[1] for t in DOCTESTS}
    assert {"learner", "data", "plot", "selector", "settings", "widgets", "persist"} <= modules
