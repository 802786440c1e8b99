"""CSS module selection: the grammar, the cached index, the `ModuleSelector` tree, the tree view's data.

``l.css = "..."`` (or ``select(model, css)``) gives every module of a model a set of props; callbacks
ask the tree which modules and parameters carry theirs. `css` parses (with caret errors), `index`
matches rules against cached model records, `tree` builds `ModuleSelector`, `state` is the plain
data the tree view shows.
"""

from __future__ import annotations

from k1widgets.selector.css import DEFAULT_PROP, Rule, SelectorSyntaxError, parse
from k1widgets.selector.state import hookedState, nodeDetails, propsState, ruleFor, treeState
from k1widgets.selector.tree import ModuleSelector, SelectorWarning, UnknownModuleError, quietWarnings, select

__all__ = [
    "DEFAULT_PROP",
    "ModuleSelector",
    "Rule",
    "SelectorSyntaxError",
    "SelectorWarning",
    "UnknownModuleError",
    "hookedState",
    "nodeDetails",
    "parse",
    "propsState",
    "quietWarnings",
    "ruleFor",
    "select",
    "treeState",
]
