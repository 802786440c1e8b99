"""label: the decorator that turns a function into a `Runner` (or a `Harvester` / `Sampler`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from k1widgets.farming.harvester import Harvester
from k1widgets.farming.runner import Runner
from k1widgets.farming.sampler import Sampler

__all__ = ["label"]


def label(
    var_names: str | Sequence[str] | None,
    fn_args: str | Sequence[str] | None = None,
    var_dims: Mapping[str, str | Sequence[str]] | None = None,
    var_coords: Mapping[str, Any] | None = None,
    constants: Mapping[str, Any] | None = None,
    resources: Mapping[str, Any] | None = None,
    attrs: Mapping[str, Any] | None = None,
    harvester: bool | str = False,
    sampler: bool | str = False,
    engine: str | None = None,
    **default_runner_settings: Any,
) -> Callable[[Callable[..., Any]], Runner | Harvester | Sampler]:
    """Decorator that wraps a function as a `Runner` (xyzpy's ``label``).

    Args:
        var_names: the names of the outputs (a str for one; None if it returns a dict or a Dataset).
        fn_args: the argument names (default: from the signature).
        var_dims: each output's internal dimensions, ``{"curve": ["epoch"]}``.
        var_coords: the values of internal dimensions.
        constants: arguments given to every call (saved as coordinates or attributes).
        resources: like constants, never saved.
        attrs: more attributes for the dataset.
        harvester: True wraps it as an in-memory `Harvester`; a str as one storing into that file.
        sampler: the same for a `Sampler`.
        engine: the harvester's or sampler's engine (default ``"pickle"``).
        default_runner_settings: defaults for every run (``executor``, ``num_workers``, ...).

    Example:
        >>> @label(var_names=["sum", "diff"])
        ... def foo(x, y):
        ...     return x + y, x - y
        >>> foo(1, 2)  # can still call it normally
        (3, -1)
    """

    def wrap(fn: Callable[..., Any]) -> Runner | Harvester | Sampler:
        runner = Runner(
            fn,
            var_names,
            fn_args=fn_args,
            var_dims=var_dims,
            var_coords=var_coords,
            constants=constants,
            resources=resources,
            attrs=attrs,
            **default_runner_settings,
        )
        if harvester:
            return Harvester(
                runner, data_name=harvester if isinstance(harvester, str) else None, engine=engine or "pickle"
            )
        if sampler:
            return Sampler(runner, data_name=sampler if isinstance(sampler, str) else None, engine=engine or "pickle")
        return runner

    return wrap
