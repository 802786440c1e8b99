"""The CSS selector grammar, the ModuleSelector tree, the Learner integration and the tree view's Python side."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest
import torch
from conftest import Network, makeLearner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from k1widgets import selector
from k1widgets.selector import (
    ModuleSelector,
    SelectorSyntaxError,
    SelectorWarning,
    UnknownModuleError,
    parse,
    quietWarnings,
    select,
)

SEED = Path(__file__).resolve().parents[2] / "shared" / "seeds" / "001_08d77749070166aa.txt"
README_CSS = """
#bulk > Linear: a
#bulk > #1: b
SkipBlock Sequential: c
SkipBlock LeakyReLU
"""
HOOK_CSS = """SkipBlock #0: HookParam
SkipBlock: HookModule"""


def seedTrees() -> list[str]:
    """The two `l.moduleSelector` outputs printed in the seed README, un-indented (trailing spaces kept)."""
    text = SEED.read_text() if SEED.exists() else ""
    blocks = re.findall(r"^    ModuleSelector:\n(?:    .*\n)+", text, re.M)
    return ["\n".join(line[4:] for line in b.rstrip("\n").split("\n")) for b in blocks]


def propsByPath(mS: ModuleSelector) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    mS.apply(lambda node: out.__setitem__(node.path, node.props) if node.props else None)
    return out


# ---------------------------------------------------------------------------------------------- seed README
@pytest.mark.skipif(not SEED.exists(), reason="the seed README is not beside the checkout")
def test_readme_trees_are_reproduced():
    # the seed's words line by line; its columns do not line up, ours do (see test_repr_columns_line_up)
    hooks, css = seedTrees()
    for ours, seed in ((repr(select(Network(), HOOK_CSS)), hooks), (repr(select(Network(), README_CSS)), css)):
        assert [(len(a) - len(a.lstrip()), a.split()) for a in ours.splitlines()] == [
            (len(b) - len(b.lstrip()), b.split()) for b in seed.splitlines()
        ]


def test_repr_columns_line_up():
    text = repr(select(nn.Sequential(nn.Linear(1, 2), nn.Sequential(nn.ReLU())), "*"))
    assert text.splitlines() == [
        "ModuleSelector:",
        "root: Sequential     all",
        "    0: Linear        all",
        "    1: Sequential    all",
        "        0: ReLU      all",
    ]
    columns = {line.index("all") for line in text.splitlines()[1:]}
    assert len(columns) == 1


def test_non_ascii_class_names_are_identifiers_too():
    class Ébloc(nn.Module):
        def __init__(self):
            super().__init__()
            self.größe = nn.Linear(1, 1)

    model = nn.Sequential(Ébloc(), nn.Linear(1, 1))
    assert [str(r) for r in parse("Ébloc: a; Ébloc > #größe: b")] == ["Ébloc: a", "Ébloc > #größe: b"]
    mS = select(model, "Ébloc: a\n#größe: b")
    assert mS[0].props == ("a",) and mS[0]["größe"].props == ("b",)
    with pytest.raises(SelectorSyntaxError, match="unexpected '€'"):
        parse("€uro")


def test_readme_css_props():
    mS = select(Network(), README_CSS)
    assert mS.bulk[0].props == ("a",)
    assert mS.bulk[5].props == ("a",)
    assert mS.bulk[1].props == ("b",)
    for block in (2, 3, 4):
        assert mS.bulk[block].props == ()
        assert mS.bulk[block].seq.props == ("c",)
        assert [mS.bulk[block].seq[i].props for i in range(6)] == [(), ("all",), (), ("all",), (), ("all",)]
    assert "anything" in mS.bulk[2].seq[1]  # `all` answers every prop
    assert "a" not in mS.bulk[2].seq[0]


def test_readme_learner_css_selects_hooks():
    l = makeLearner()
    l.css = HOOK_CSS
    mS = l.moduleSelector
    assert [p for p, _ in mS.named_modules("HookModule")] == ["bulk.2", "bulk.3", "bulk.4"]
    assert [p for p, _ in mS.named_parameters("HookParam")] == [
        f"bulk.{b}.seq.0.{w}" for b in (2, 3, 4) for w in ("weight", "bias")
    ]
    assert all(p is q for (_, p), q in zip(mS.named_parameters("HookParam"), mS.parameters("HookParam"), strict=True))


# ---------------------------------------------------------------------------------------------- grammar
@pytest.mark.parametrize(
    ("css", "expected"),
    [
        (
            "Linear",
            {
                "bulk.0": ("all",),
                "bulk.5": ("all",),
                **{f"bulk.{b}.seq.{i}": ("all",) for b in (2, 3, 4) for i in (0, 2, 4)},
            },
        ),
        ("#bulk", {"bulk": ("all",)}),
        ("#root: r", {"": ("r",)}),
        ("#bulk > Linear: x", {"bulk.0": ("x",), "bulk.5": ("x",)}),
        ("Network > Linear: x", {}),
        ("SkipBlock > * > Linear: x", {f"bulk.{b}.seq.{i}": ("x",) for b in (2, 3, 4) for i in (0, 2, 4)}),
        (
            "#2 Linear, #3 LeakyReLU: m",
            {**{f"bulk.2.seq.{i}": ("m",) for i in (0, 2, 4)}, **{f"bulk.3.seq.{i}": ("m",) for i in (1, 3, 5)}},
        ),
        ("#bulk>#1:p", {"bulk.1": ("p",)}),
        ("  #bulk   >   #1  :  p  ", {"bulk.1": ("p",)}),
        ("#bulk\t>\t#1:\tp", {"bulk.1": ("p",)}),
        ("#bulk>#1: infinity war", {"bulk.1": ("infinity", "war")}),
        ("#bulk>#1: infinity, war", {"bulk.1": ("infinity", "war")}),
        ("#bulk>#1: infinity,war,war", {"bulk.1": ("infinity", "war")}),
        ("#bulk>#1: a; #bulk>#1: b\n#bulk>#1: a", {"bulk.1": ("a", "b")}),
        ("Network: x; Network Network: y", {"": ("x",)}),
        ("* > #seq: s", {f"bulk.{b}.seq": ("s",) for b in (2, 3, 4)}),
        ("#4 *: d", {"bulk.4.seq": ("d",), **{f"bulk.4.seq.{i}": ("d",) for i in range(6)}}),
        ("Sequential Sequential > LeakyReLU: z", {f"bulk.{b}.seq.{i}": ("z",) for b in (2, 3, 4) for i in (1, 3, 5)}),
        ("", {}),
        ("\n ; \n;", {}),
    ],
)
def test_grammar(css, expected):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SelectorWarning)
        assert propsByPath(select(Network(), css)) == expected


def test_parse_rules_and_normal_form():
    rules = parse("a, #b > *: p q; C")
    assert [str(r) for r in rules] == ["a: p q", "#b > *: p q", "C: all"]
    assert rules[1].compounds == ("#b", "*") and rules[1].combinators == (">",)
    assert rules[0].statement == "a, #b > *: p q" and rules[2].offset == len("a, #b > *: p q; ")


@pytest.mark.parametrize(
    ("css", "reason", "statement", "position"),
    [
        ("conv > linear:", "expected a property name after ':'", "conv > linear:", 14),
        ("#a: ,", "expected a property name after ':'", "#a: ,", 5),
        ("a >", "after '>'", "a >", 3),
        ("a > > b", "got a second '>'", "a > > b", 4),
        ("> Linear", "'>' needs", "> Linear", 0),
        ("Linear#0", "followed directly by '#'", "Linear#0", 6),
        ("Lin*", "partial wildcards", "Lin*", 3),
        ("*Norm", "'*' stands alone", "*Norm", 1),
        ("#bulk.2", "'#bulk > #2'", "#bulk.2", 5),
        ("nn.Linear", "bare class name", "nn.Linear", 2),
        ("0: x", "select a module by its name with '#0'", "0: x", 0),
        ("a,,b", "before ','", "a,,b", 2),
        ("a, : p", "before ':'", "a, : p", 3),
        (": p", "before ':'", ": p", 0),
        ("#", "expected a module name after '#'", "#", 1),
        ("a + b", "sibling combinator '+'", "a + b", 2),
        ("a ~ b", "sibling combinator '~'", "a ~ b", 2),
        ("a: x:y", "unexpected ':'", "a: x:y", 4),
        ("Linear[0]", "followed directly by '['", "Linear[0]", 6),
        ("a:b;  c >  ", "after '>'", "c >", 3),
    ],
)
def test_syntax_errors_have_a_caret(css, reason, statement, position):
    with pytest.raises(SelectorSyntaxError, match=re.escape(reason)) as info:
        parse(css)
    e = info.value
    assert isinstance(e, ValueError)
    assert (e.statement, e.position) == (statement, position)
    assert e.caretLine == " " * position + "^"
    assert str(e) == f"{e.reason}\n  {statement}\n  {' ' * position}^"
    assert css[e.offset :].startswith(statement[position:])


def test_syntax_error_message_matches_the_style_guide():
    with pytest.raises(SelectorSyntaxError) as info:
        parse("a: x\nconv > linear:")
    assert str(info.value) == "expected a property name after ':'\n  conv > linear:\n                ^"
    assert info.value.lineno == 2 and info.value.offset == len("a: x\nconv > linear:")


def test_parse_rejects_non_strings():
    with pytest.raises(TypeError, match="CSS must be a string"):
        parse(["Linear"])


# ---------------------------------------------------------------------------------------------- warnings
def test_unknown_class_warns_with_the_closest_class():
    with pytest.warns(
        SelectorWarning, match=r"'Linaer: x' matches no module.*no module of class 'Linaer' \(did you mean 'Linear'\?\)"
    ):
        mS = select(Network(), "Linaer: x")
    assert mS.warnings == [
        "CSS rule 'Linaer: x' matches no module: the model has no module of class 'Linaer' (did you mean 'Linear'?)."
    ]


def test_unknown_name_and_empty_match_warn():
    with pytest.warns(SelectorWarning) as record:
        select(Network(), "#bulkk; Network > Linear; leakyrelu; SkipBlock > Linear")
    messages = [str(w.message) for w in record]
    assert "no module is named 'bulkk' (did you mean '#bulk'?)" in messages[0]
    assert "'Network Linear' would select 11" in messages[1]
    assert "(did you mean 'LeakyReLU'?)" in messages[2]
    assert "'SkipBlock > Linear: all' matches no module" in messages[3]
    assert record[0].filename == __file__  # points at the caller, not at k1widgets


def test_warnings_can_be_quiet_and_are_listed():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mS = select(Network(), "Nope", warn=False)
        with quietWarnings():
            select(Network(), "Nope")
    assert len(mS.warnings) == 1


# ---------------------------------------------------------------------------------------------- tree API
def test_tree_api():
    model = Network()
    mS = select(model, README_CSS)
    assert mS.name == "root" and mS.nn is model and mS.parent is None and mS.depth == 0 and mS.path == ""
    block = mS.bulk[2]
    assert block is mS.bulk["2"] and block is mS["bulk"]["2"]
    assert block.nn is model.bulk[2] and block.name == "2" and block.depth == 2 and block.path == "bulk.2"
    assert block.parent is mS.bulk and block.root is mS
    assert [n for n, _ in mS.bulk.named_children()] == ["0", "1", "2", "3", "4", "5"]
    assert [c.nn for c in mS.bulk.children()] == list(model.bulk.children())
    assert [n for n, _ in mS.bulk.named_children("a")] == ["0", "5"]
    assert mS.deepestDepth == 4 and block.seq[0].deepestDepth == 0
    assert set(mS.bulk[0].directParams) == {"weight", "bias"}
    assert mS.bulk[0].weight is model.bulk[0].weight and mS.bulk[0]["bias"] is model.bulk[0].bias
    assert mS.bulk.directParams == {}
    assert mS.css == README_CSS and str(mS.rules[0]) == "#bulk > Linear: a"
    x = torch.randn(4, 1)
    assert torch.equal(mS(x), model(x))
    assert mS.learner is None and not mS.stale


def test_missing_children_raise_helpful_errors():
    mS = select(Network(), "")
    with pytest.raises(AttributeError, match=r"has no child or parameter 'bulkk'.*Did you mean 'bulk'\?"):
        _ = mS.bulkk
    assert not hasattr(mS, "nope")  # hasattr works: AttributeError, never KeyError
    with pytest.raises(UnknownModuleError, match=r"'bulk' \(Sequential\) has no child or parameter '9'") as info:
        mS.bulk[9]
    assert isinstance(info.value, KeyError) and str(info.value).startswith("'bulk'")  # no repr quotes


def test_prop_in_node():
    mS = select(Network(), "#0: a b; #1; #bulk: c")
    zero, one, bulk = mS.bulk[0], mS.bulk[1], mS.bulk
    assert "a" in zero and "b" in zero and "c" not in zero and "all" not in zero
    assert "anything" in one and "all" in one
    assert "c" in bulk and "a" not in bulk
    assert "a" not in mS


def test_named_modules_match_torch_with_and_without_props():
    model = Network()
    mS = select(model, "*")
    assert [(p, n.nn) for p, n in mS.named_modules()] == list(model.named_modules())
    assert [(p, n.nn) for p, n in mS.named_modules("all")] == list(model.named_modules())
    assert [(p, n.nn) for p, n in mS.bulk[2].named_modules("x")] == list(model.bulk[2].named_modules())
    assert [(p, q) for p, q in mS.bulk.named_parameters()] == list(model.bulk.named_parameters())
    assert list(select(model, "").named_modules("all")) == []


def test_shared_submodules_map_by_identity():
    lin, tanh = nn.Linear(2, 2), nn.Tanh()
    model = nn.Sequential(nn.Sequential(lin), lin, tanh)
    mS = select(model, "Tanh: HookModule")
    assert [n.nn for n in mS.modules("HookModule")] == [tanh]  # k1lib's zip hooks nothing here
    mS = select(model, "#root > #1: p")
    assert "p" in mS[1] and "p" not in mS[0][0]  # two places, one selected
    assert [(path, n.nn) for path, n in mS.named_modules("p")] == [("1", lin)]
    assert [name for name, _ in mS.named_parameters("p")] == ["1.weight", "1.bias"]
    assert [name for name, _ in select(model, "Linear").named_parameters("all")] == ["0.0.weight", "0.0.bias"]
    assert [p for p, _ in mS.named_modules()] == [p for p, _ in model.named_modules()]
    assert repr(select(model, "Linear: L")).count("Linear") == 2  # the tree shows both places


def test_a_module_reused_inside_itself_does_not_loop():
    seq = nn.Sequential(nn.Linear(1, 1))
    seq.add_module("self", seq)
    mS = select(seq, "*")
    assert [n.path for n in mS.modules()] == ["", "0"]


def test_repr_of_a_subtree_and_html():
    mS = select(Network(), README_CSS)
    assert repr(mS.bulk[2].seq).splitlines()[:3] == [
        "ModuleSelector:",
        "seq: Sequential     c",
        "    0: Linear",
    ]
    assert "<b>a</b>" in mS._repr_html_()


# ---------------------------------------------------------------------------------------------- caching
def test_records_are_cached_and_follow_structure_changes():
    model = Network()
    a = select(model, "Linear")
    b = select(model, "LeakyReLU")
    assert a._s.rec is b._s.rec
    model.bulk.append(nn.Linear(1, 1))  # registration: seen by the torch hook
    assert a.stale
    c = select(model, "Linear")
    assert c._s.rec is not a._s.rec and c.bulk[6].props == ("all",)
    model.bulk.insert(0, nn.ReLU())  # direct _modules edit: seen by the length check
    assert c.stale
    assert [n for n, _ in select(model, "").bulk.named_children()][:2] == ["0", "1"]


def test_cache_does_not_keep_models_alive():
    import gc
    import weakref

    model = Network()
    select(model, "Linear")
    ref = weakref.ref(model)
    del model
    gc.collect()
    assert ref() is None


# ---------------------------------------------------------------------------------------------- learner
def test_learner_css_rebuilds_the_selector():
    l = makeLearner()
    assert l.css == "*" and "HookModule" in l.moduleSelector.bulk[0]
    first = l.moduleSelector
    assert l.moduleSelector is first  # cached
    l.css = "Linear: HookParam"
    second = l.moduleSelector
    assert second is not first and "HookParam" in second.bulk[0] and "HookParam" not in second.bulk[1]
    assert second.learner is l
    l.model = Network()
    third = l.moduleSelector
    assert third.nn is l.model and third.css == "Linear: HookParam"
    l.model.bulk.append(nn.Linear(1, 1))
    assert l.moduleSelector is not third and "HookParam" in l.moduleSelector.bulk[6]


def test_learner_rejects_bad_css_and_keeps_the_old():
    l = makeLearner()
    l.css = "Linear"
    with pytest.raises(SelectorSyntaxError, match="after '>'"):
        l.css = "Linear >"
    assert l.css == "Linear"
    with pytest.raises(TypeError, match=r"l\.css must be a string"):
        l.css = 3


def test_learner_css_warns_at_once_when_the_model_is_known():
    l = makeLearner()
    with pytest.warns(SelectorWarning, match="did you mean 'Linear'"):
        l.css = "Linaer: HookModule"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        l.moduleSelector  # noqa: B018  (once per tree)


def test_learner_css_flushes_the_feed():
    l = makeLearner()
    seen = []
    l.feed.subscribe(lambda: seen.append(l.css))
    l.css = "Linear"
    l.css = "LeakyReLU"  # no throttle swallowing the second
    assert seen == ["Linear", "LeakyReLU"]


def test_css_changed_during_a_run_reaches_hooks_at_the_next_run():
    from k1widgets.callbacks import Callback

    class ReadsSelector(Callback):
        def __init__(self):
            super().__init__()
            self.runs = []

        def startRun(self):
            self.runs.append([p for p, _ in self.learner.moduleSelector.named_modules("HookModule")])

        def endBatch(self):
            if self.learner.batch == 0:
                self.learner.css = "#bulk: HookModule"

    l = makeLearner()
    l.css = "#0: HookModule"
    cb = ReadsSelector()
    l.cbs.append(cb)
    l.run(1)
    l.run(1)
    assert cb.runs == [["bulk.0", "bulk.2.seq.0", "bulk.3.seq.0", "bulk.4.seq.0"], ["bulk"]]


# ---------------------------------------------------------------------------------------------- property test
CLASSES = [type(name, (nn.Module,), {"forward": lambda self, x: x}) for name in ("A", "B", "C")]
NAMES = ["a", "b", "0", "1"]


@st.composite
def moduleTrees(draw, depth=0):
    cls = draw(st.sampled_from(CLASSES))
    module = cls()
    if depth < 4:
        names = draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=3 if depth < 2 else 2))
        for name in names:
            module.add_module(name, draw(moduleTrees(depth=depth + 1)))
    return module


compounds = st.sampled_from(["A", "B", "C", "*", "#a", "#b", "#0", "#1", "#root"])
selectors = st.lists(st.tuples(st.sampled_from([" ", " > ", ">", "  "]), compounds), max_size=3).flatmap(
    lambda rest: compounds.map(lambda first: (first, rest))
)
props = st.lists(st.sampled_from(["p", "q", "HookModule"]), max_size=2)


def referenceProps(model: nn.Module, rules: list[tuple[list[str], list[str], list[str]]]) -> dict[str, set[str]]:
    """A plain CSS matcher: for every place, walk the ancestor chain with backtracking."""

    def compoundMatches(compound, place):
        name, cls = place
        return compound == "*" or compound == "#" + name or compound == cls

    def matches(chain, comps, combs, k, pos):
        if not compoundMatches(comps[k], chain[pos]):
            return False
        if k == 0:
            return True
        if combs[k - 1] == ">":
            return pos > 0 and matches(chain, comps, combs, k - 1, pos - 1)
        return any(matches(chain, comps, combs, k - 1, p) for p in range(pos))

    out: dict[str, set[str]] = {}

    def visit(module, name, path, chain):
        chain = [*chain, (name, type(module).__name__)]
        for comps, combs, ps in rules:
            if matches(chain, comps, combs, len(comps) - 1, len(chain) - 1):
                out.setdefault(path, set()).update(ps or ["all"])
        for childName, child in module.named_children():
            visit(child, childName, f"{path}.{childName}" if path else childName, chain)

    visit(model, "root", "", [])
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(model=moduleTrees(), rules=st.lists(st.tuples(selectors, props), min_size=1, max_size=4))
def test_random_selectors_agree_with_a_reference_matcher(model, rules):
    statements, ref = [], []
    for (first, rest), ps in rules:
        text = first + "".join(comb + comp for comb, comp in rest)
        statements.append(text + (": " + ", ".join(ps) if ps else ""))
        ref.append(([first, *(c for _, c in rest)], [">" if ">" in comb else " " for comb, _ in rest], ps))
    css = "\n".join(statements)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SelectorWarning)
        mS = select(model, css)
    ours = {path: set(p) for path, p in propsByPath(mS).items()}
    assert ours == referenceProps(model, ref)
    # and the module-level answers agree with torch's walk
    assert [(p, n.nn) for p, n in mS.named_modules()] == list(model.named_modules())


# ---------------------------------------------------------------------------------------------- view, without a browser
def test_tree_view_state_is_small_and_complete():
    from k1widgets.widgets.tree import TreeView

    view = TreeView(select(Network(), README_CSS))
    try:
        s = view.structure
        assert s["n"] == 29 and s["parent"][:3] == [-1, 0, 1]
        assert [s["names"][i] for i in s["name"][:3]] == ["root", "bulk", "0"]
        assert [s["classes"][i] for i in s["cls"][:3]] == ["Network", "Sequential", "Linear"]
        assert s["nParams"][0] == sum(p.numel() for p in view.selector.nn.parameters())
        assert view.props["names"] == ["a", "b", "c", "all"] and view.props["nodes"][0] == [2, 28]
        assert view.cssText == README_CSS and view.error == {} and view.warnings == []
    finally:
        view.close()


def test_tree_view_edits_the_learner_css_and_follows_it():
    l = makeLearner()
    view = l.moduleSelector.widget()
    try:
        assert view.learner is l
        view.set_state({"cssText": "SkipBlock LeakyReLU"})  # what a front-end message does
        assert l.css == "SkipBlock LeakyReLU"
        assert view.props["names"] == ["all"] and len(view.props["nodes"][0]) == 9
        view.set_state({"cssText": "SkipBlock >"})
        assert l.css == "SkipBlock LeakyReLU"  # a broken selector never reaches the learner
        assert view.error["statement"] == "SkipBlock >" and view.error["position"] == 11
        assert view.error["message"].endswith("\n  SkipBlock >\n             ^")
        view.set_state({"cssText": "Linaer: x"})  # warnings are listed, not raised
        assert view.error == {} and "did you mean 'Linear'" in view.warnings[0]
        l.css = "#bulk > Linear: a"  # Python -> box and tree
        assert view.cssText == "#bulk > Linear: a" and view.props == {"names": ["a"], "nodes": [[2, 28]]}
        assert view.warnings == []
        view.set_state({"focus": 5})
        assert view.details["path"] == "bulk.2.seq" and view.details["rule"] == "#2 > #seq"
        assert view.details["ruleCount"] == 1 and view.details["params"] == []
        view.set_state({"focus": 2})
        assert view.details["params"] == [["weight", [10, 1], 10], ["bias", [10], 10]]
        assert view.details["classCount"] == 11
    finally:
        view.close()


def test_tree_view_without_learner_reselects_locally():
    model = Network()
    mS = select(model, "")
    view = mS.bulk[2].widget()
    try:
        assert view.focus == 4 and view.details["path"] == "bulk.2"
        view.set_state({"cssText": "Linear: L"})
        assert view.selector.css == "Linear: L" and view.selector.nn is model and mS.css == ""
        assert view.props["names"] == ["L"]
    finally:
        view.close()


def test_mimebundle_has_text_and_html():
    bundle = select(Network(), "Linear")._repr_mimebundle_()
    assert bundle["text/plain"].startswith("ModuleSelector:\nroot: Network")
    assert "text/html" in bundle


def test_selector_does_not_import_widgets():
    import subprocess
    import sys

    code = "import k1widgets.selector, sys; print(any(m in sys.modules for m in ('ipywidgets', 'anywidget', 'bqplot')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"


def test_selector_module_exports():
    assert set(selector.__all__) >= {"ModuleSelector", "SelectorSyntaxError", "SelectorWarning", "parse", "select"}
