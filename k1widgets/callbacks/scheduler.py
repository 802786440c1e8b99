"""ParamScheduler: sets optimizer hyper-parameters of parts of the network from schedules, as training goes.

``ParamScheduler(css, *schedules)`` schedules, for the parameters of the modules ``css`` selects (their
whole subtrees), each schedule's ``param`` (``"lr"``, ``"momentum"``, ``"weight_decay"``...) from the
run's training progress. The schedules are usually `k1widgets.schedule` objects; any callable
``f(progress) -> value`` with a ``param`` attribute works.

How it touches the optimizer (each of k1lib's problems fixed):

- At ``startRun`` the param groups are split so that every group holds parameters scheduled the same
  way. A new group copies the hyper-parameters of the group its parameters came from (never
  ``opt.defaults``), so whatever the user set stays. Optimizer state is keyed by parameter, so
  splitting keeps every moment and step count.
- Only the scheduled hyper-parameters of the scheduled parameters change. Props in the css are
  accepted (every module a rule matches is selected, whatever its props).
- At ``endRun`` (also after a cancel or an error) the groups are put back as they were, with their
  scheduled hyper-parameters at the values they had before the run; the schedules keep the last
  progress they applied (``s.progress``, ``s.value``).
- Progress is the training progress of this run: 0 at its first training batch, 1 at its last
  (``epochs × training batches``, with ``l.run(epochs, batches)`` limits), validation batches excluded.
- Several schedulers may overlap: for the same hyper-parameter of the same parameter, the one whose
  css matched the deeper module wins (the more specific rule), then the one added last.
"""

from __future__ import annotations

import difflib
from typing import Any

from k1widgets import display
from k1widgets.callbacks.callback import Callback
from k1widgets.plot.curve import scheduleSvg

__all__ = ["ParamScheduler"]


class ParamScheduler(Callback):
    """Schedules a param in parts of the network.

    Args:
        css: selects the parts of the network to schedule (``"*"`` for everything; the grammar of
            ``l.css``, props allowed and ignored).
        schedules: schedules with a ``param`` each (``linear(1e-3, 1e-2, "lr")``), at most one per param.

    Example:
        >>> from k1widgets import Learner, schedule
        >>> l = Learner.sample()
        >>> cbs = l.cbs.withParamScheduler("Linear", schedule.hump(1e-4, 1e-2, "lr"))
        >>> cbs = l.cbs.append(ParamScheduler("#0: slow", schedule.linear(1e-3, 1e-4, "lr")), "slowFirst")
        >>> _ = l.run(1)  # doctest: +NORMALIZE_WHITESPACE
        Progress: ...
        >>> l.opt.param_groups[0]["lr"]   # the user's lr is back after the run
        0.003
    """

    def __init__(self, css: str, *schedules: Any) -> None:
        from k1widgets.selector import parse

        super().__init__()
        if not isinstance(css, str):
            msg = f"ParamScheduler's first argument is a CSS selector string such as 'SkipBlock' or '*', got {css!r}."
            raise TypeError(msg)
        parse(css)  # SelectorSyntaxError with a caret, now rather than at the run's start
        if not schedules:
            msg = "ParamScheduler needs at least one schedule: ParamScheduler('*', schedule.linear(1e-3, 1e-2, 'lr'))."
            raise ValueError(msg)
        seen: dict[str, int] = {}
        for i, s in enumerate(schedules):
            if not callable(s):
                msg = (
                    f"Schedule {i} is not callable: {s!r:.80}. Use k1widgets.schedule.Fn(f, 'lr') or linear/smooth/..."
                )
                raise TypeError(msg)
            param = getattr(s, "param", None)
            if not isinstance(param, str):
                msg = (
                    f"Schedule {i} does not say which hyper-parameter it schedules (param is {param!r}). "
                    f"Give one: linear(1e-3, 1e-2, 'lr'), s + 'lr', or s.param = 'lr'."
                )
                raise ValueError(msg)
            if param in seen:
                msg = (
                    f"Schedules {seen[param]} and {i} both schedule {param!r}; one ParamScheduler takes one per param."
                )
                raise ValueError(msg)
            seen[param] = i
        self.css = css
        self.schedules: dict[str, Any] = {s.param: s for s in schedules}
        self.progress: float | None = None
        self._groups: dict[str, list[dict[str, Any]]] = {}  # param -> the groups where this scheduler sets it
        self._plan: _Plan | None = None
        self._total = 0
        self._perEpoch: int | None = None

    # ------------------------------------------------------------------ selection
    @property
    def selector(self) -> Any:
        """The `ModuleSelector` of the learner's model with this scheduler's css."""
        from k1widgets.selector import select

        l: Any = self.learner
        model = l.model if l is not None else None
        if model is None:
            msg = "ParamScheduler.selector needs the scheduler in a learner with a model: l.cbs.append(ps) first."
            raise RuntimeError(msg)
        return select(model, self.css)

    def _claims(self) -> dict[int, int]:
        """id(parameter) -> depth of the deepest selected module holding it."""
        root = self.selector
        depths: dict[int, int] = {}

        def visit(node: Any) -> None:
            if node.props:  # matched by some rule, whatever its props
                d = node.depth
                for p in node.nn.parameters():
                    if depths.get(id(p), -1) < d:
                        depths[id(p)] = d

        root.apply(visit)
        return depths

    # ------------------------------------------------------------------ checkpoints
    def startRun(self) -> None:
        """The first active scheduler splits the param groups for every active scheduler."""
        l: Any = self.learner
        self.progress = None
        self._total, self._perEpoch = _trainingSteps(l)
        if self._plan is not None:  # set up by an earlier scheduler in this run
            return
        others = [cb for cb in l.cbs if isinstance(cb, ParamScheduler) and not cb.suspended]
        plan = _Plan(l.opt, others)
        for ps in others:
            ps._plan = plan
            ps._groups = plan.groupsOf(ps)

    def startBatch(self) -> None:
        """Sets each schedule's value for this training batch."""
        l: Any = self.learner
        if not l.model.training or self._plan is None:
            return
        if self._perEpoch is not None:
            step = l.epoch * self._perEpoch + min(l.batch, self._perEpoch - 1)
            x = step / max(self._total - 1, 1)
        else:
            x = float(l.progress or 0.0)
        x = min(max(x, 0.0), 1.0)
        self.progress = x
        for param, s in self.schedules.items():
            groups = self._groups.get(param)
            if not groups:
                continue
            if hasattr(s, "progress"):
                s.progress = x
            value = s(x)
            for g in groups:
                g[param] = _like(g.get(param), value)

    def endRun(self) -> None:
        """Puts the param groups back as they were before the run (the first scheduler to get here does it)."""
        plan, self._plan = self._plan, None
        self._groups = {}
        if plan is not None:
            plan.restore()

    # ------------------------------------------------------------------ display
    def _reprHead(self) -> str:
        parts = ", ".join(f"{p}: {getattr(s, 'label', '') or 'custom'}" for p, s in self.schedules.items())
        return f"Callback `{self.name}` (css {self.css!r}; {parts})"

    def _reprUse(self) -> str:
        return """- ps.schedules["lr"]: to get the schedule for a specific param
- ps.selector: to view the selected modules
- ps.progress: the training progress last applied (0 → 1)"""

    def widget(self) -> Any:
        """A view of the schedules with a marker at the current progress, live while the learner runs."""
        return display.view(self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return display.mimebundle(self, include, exclude)

    def _repr_html_(self) -> str:
        plots = "".join(scheduleSvg(s) for s in self.schedules.values())
        head = f"ParamScheduler <code>{self.css}</code>"
        return f'<div class="k1w-scheduler-static"><div>{head}</div>{plots}</div>'

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state["_plan"], state["_groups"] = None, {}
        return state


def _like(old: Any, value: Any) -> Any:
    """``value`` as a float where the optimizer holds a float (a tensor lr stays a tensor, filled in place)."""
    if hasattr(old, "fill_") and hasattr(old, "dim") and old.dim() == 0:
        old.fill_(float(value))
        return old
    return float(value) if isinstance(value, int | float) or hasattr(value, "__float__") else value


def _trainingSteps(l: Any) -> tuple[int, int | None]:
    """(total training batches of this run, training batches per epoch), or (0, None) when unknown."""
    try:
        perEpoch = len(l.data.train)
    except TypeError:
        return 0, None
    limit = l.cbs._byName.get("_batchLimit")  # l.run(epochs, batches) caps every epoch
    if limit is not None:
        perEpoch = min(perEpoch, int(limit.limit))
    if perEpoch < 1:
        return 0, None
    return max(int(l.epochs), 1) * perEpoch, perEpoch


class _Plan:
    """One run's split of the optimizer's param groups among the active schedulers, and how to undo it."""

    def __init__(self, opt: Any, schedulers: list[ParamScheduler]) -> None:
        self.opt = opt
        self.original = list(opt.param_groups)
        self.saved = [
            (g, list(g["params"]), {k: _copyValue(v) for k, v in g.items() if k != "params"}) for g in self.original
        ]
        known = {k for g in self.original for k in g if k != "params"}
        for ps in schedulers:
            for hyper in ps.schedules:
                if hyper not in known:
                    close = difflib.get_close_matches(hyper, known, n=1) or [
                        k for k in known if k.lower() == hyper.lower()
                    ]
                    hint = f" Did you mean {close[0]!r}?" if close else ""
                    msg = (
                        f"{ps.name} schedules {hyper!r}, but the optimizer's param groups have no such "
                        f"hyper-parameter (they have: {', '.join(sorted(known))}).{hint}"
                    )
                    raise ValueError(msg)
        # owner[(id(param), hyper)] = index of the winning scheduler
        owner: dict[tuple[int, str], int] = {}
        rank: dict[tuple[int, str], tuple[int, int]] = {}
        for i, ps in enumerate(schedulers):
            for pid, depth in ps._claims().items():
                for hyper in ps.schedules:
                    key = (pid, hyper)
                    if key not in rank or (depth, i) >= rank[key]:
                        rank[key], owner[key] = (depth, i), i
        self.scheduled = {h for ps in schedulers for h in ps.schedules}
        byParam: dict[int, tuple[tuple[str, int], ...]] = {}
        for (pid, hyper), i in owner.items():
            byParam[pid] = (*byParam.get(pid, ()), (hyper, i))
        self.assign: dict[int, dict[str, list[dict[str, Any]]]] = {i: {} for i in range(len(schedulers))}
        self.index = {id(ps): i for i, ps in enumerate(schedulers)}
        groups: list[dict[str, Any]] = []
        for g, params, hypers in self.saved:
            parts: dict[tuple[tuple[str, int], ...], list[Any]] = {}
            for p in params:
                parts.setdefault(tuple(sorted(byParam.get(id(p), ()))), []).append(p)
            for j, (claims, members) in enumerate(parts.items()):
                if j == 0:
                    group = g
                    group["params"] = members
                else:
                    group = {**{k: _copyValue(v) for k, v in hypers.items()}, "params": members}
                groups.append(group)
                for hyper, i in claims:
                    self.assign[i].setdefault(hyper, []).append(group)
        opt.param_groups[:] = groups

    def groupsOf(self, ps: ParamScheduler) -> dict[str, list[dict[str, Any]]]:
        return self.assign.get(self.index[id(ps)], {})

    def restore(self) -> None:
        if self.opt is None:  # already restored
            return
        for g, params, hypers in self.saved:
            g["params"] = params
            for k in self.scheduled:
                if k in hypers:
                    g[k] = _copyValue(hypers[k])
        self.opt.param_groups[:] = self.original
        self.opt = None


def _copyValue(v: Any) -> Any:
    if hasattr(v, "clone") and hasattr(v, "detach"):
        return v.detach().clone()
    if isinstance(v, list):
        return list(v)
    return v
