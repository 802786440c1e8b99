"""LossLandscape: the loss around the trained weights, on a plane of two random directions, at 8 scales.

``l.LossLandscape.plot()`` evaluates ``lossF(model_W(α,β)(xb), yb)`` with ``W(α, β) = W + α·d1 + β·d2`` on
an aligned ``points × points`` grid of α, β in ``[-scale, scale]`` for each scale (k1lib's eight,
0.01 … 2.818, by default), prints its progress, and returns a `Landscape`: in Jupyter an interactive
heatmap with contour lines, a 3-D surface toggle, a scale slider and hover values; elsewhere an SVG.

What k1lib got wrong, done right:

- **One fixed batch** (``samples`` training samples, prepared by the batch callbacks) for every grid
  point, so the surface shows the weights' effect, not batch noise.
- **Filter-normalized Gaussian directions** (Li et al. 2018) from a seeded generator (``seed``); biases
  and other 1-d parameters stay put unless ``biases=True``.
- **The trained weights exactly at the centre**: ``points`` is odd and the grid is symmetric, so
  (0, 0) is a grid point; its value is the model's own loss on the batch (a plain forward pass).
- **Batched**: ``functional_call`` + ``vmap`` in chunks sized from the activation memory, with a
  per-point loop where vmap cannot run a module (see `k1widgets.callbacks.surface`).
- **Errors surface**, never swallowed; **the model is untouched** (weights, ``requires_grad``, train/eval
  flags) and the global RNG states are left as they were.

It costs nothing until used: no hooks, no checkpoint methods.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import numpy as np
import torch

from k1widgets import display
from k1widgets.callbacks.callback import Callback
from k1widgets.callbacks.probe import fixedBatch
from k1widgets.callbacks.snapshot import RngState
from k1widgets.callbacks.surface import directions, evaluate
from k1widgets.plot.heatmap import landscapeSvg

__all__ = ["DEFAULT_SCALES", "Landscape", "LossLandscape"]

DEFAULT_SCALES = tuple(round(10 ** (i * 0.35 - 2), 3) for i in range(8))
"""k1lib's eight scales: 0.01, 0.022, 0.05, 0.112, 0.251, 0.562, 1.259, 2.818."""


class Landscape:
    """A computed loss landscape: ``losses[s, i, j]`` at α = ``coords[j] * scales[s]``, β = ``coords[i] * scales[s]``.

    Attributes:
        scales: the half-widths of the planes, increasing.
        coords: the unit grid in [-1, 1] (odd length; ``coords[len // 2] == 0``).
        losses: float64 array ``(scales, points, points)``; rows are β, columns α.
        centre: the loss at the trained weights (the centre of every plane).
        info: how it was computed: ``mode`` ("vmap"/"loop"), ``chunk``, ``fallback``, ``seconds``, ``seed``,
            ``samples``, ``biases``.
    """

    def __init__(
        self, scales: np.ndarray, coords: np.ndarray, losses: np.ndarray, centre: float, info: dict[str, Any]
    ) -> None:
        self.scales, self.coords, self.losses, self.centre, self.info = scales, coords, losses, centre, info

    def alphas(self, s: int) -> np.ndarray:
        """The α (and β) values of scale number ``s``."""
        out: np.ndarray = self.coords * self.scales[s]
        return out

    def __repr__(self) -> str:
        i = self.info
        n = len(self.coords)
        lo, hi = float(np.nanmin(self.losses)), float(np.nanmax(self.losses))
        how = f"vmap in chunks of {i['chunk']}" if i["mode"] == "vmap" else "a per-point loop"
        if i.get("fallback"):
            how += f" (vmap could not run the model: {i['fallback']})"
        return f"""Loss landscape: {len(self.scales)} scales ({self.scales[0]:g} … {self.scales[-1]:g}) \
× {n}×{n} points around the trained weights
- centre loss {self.centre:.4g}; losses {lo:.4g} … {hi:.4g}
- 2 filter-normalized Gaussian directions (seed {i["seed"]}, biases {"included" if i["biases"] else "fixed"}), \
one fixed batch of {i["samples"]} samples
- computed with {how} in {i["seconds"]:.2f} s
Use...
- ls.losses[s]: the grid of scale s (rows β, columns α); ls.alphas(s): its α values
- ls.widget(): the interactive view (heatmap, contours, 3-D, scale slider, hover values)"""

    def svg(self, *, cell: int = 150) -> str:
        """A static SVG: one heatmap with contour lines per scale, the centre marked."""
        return landscapeSvg(self.losses, self.scales, self.coords, cell=cell)

    def _repr_html_(self) -> str:
        return f'<div class="k1w-landscape-static">{self.svg()}</div>'

    def widget(self) -> Any:
        """The interactive view: heatmap + contours or 3-D surface, scale slider, hover values."""
        return display.view(self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return display.mimebundle(self, include, exclude)


class LossLandscape(Callback):
    """Quickly looks at the loss landscape around the current weights (``l.LossLandscape.plot()``)."""

    order = 10

    def __init__(self) -> None:
        super().__init__()
        self.last: Landscape | None = None

    def plot(
        self,
        *,
        scales: Any = DEFAULT_SCALES,
        points: int = 21,
        samples: int = 512,
        seed: int = 0,
        biases: bool = False,
        batch: tuple[Any, Any] | None = None,
        chunk: int | None = None,
        mode: str = "auto",
        quiet: bool = False,
    ) -> Landscape:
        """Computes the landscape (printing progress unless ``quiet``) and returns it.

        Args:
            scales: half-widths of the planes (α, β in ``[-scale, scale]``).
            points: grid points per side, odd so that the trained weights are a grid point.
            samples: training samples in the fixed evaluation batch.
            seed: seed of the two random directions.
            biases: also move 1-d parameters (biases, norm scales), each scaled as one filter.
            batch: evaluate on this ``(xb, yb)`` instead (already prepared for the model).
            chunk: grid points per vmap call (None: from the activation memory).
            mode: "auto" (vmap, falling back to a loop), "vmap" or "loop".
            quiet: print nothing.

        Raises:
            ValueError: an even ``points``, an empty or non-positive ``scales``.
        """
        l: Any = self.learner
        if l is None or l.model is None or l.lossF is None:
            msg = "LossLandscape.plot() needs a learner with a model and a loss function (l.model, l.lossF)."
            raise RuntimeError(msg)
        if isinstance(points, bool) or not isinstance(points, int) or points < 3 or points % 2 == 0:
            hint = f" Use {points + 1}." if isinstance(points, int) and points > 2 and points % 2 == 0 else ""
            msg = (
                f"points must be an odd whole number >= 3, so that the trained weights sit on the grid, "
                f"got {points!r}.{hint}"
            )
            raise ValueError(msg)
        sc = np.asarray(scales, dtype=np.float64).ravel()
        if not len(sc) or not np.all(np.isfinite(sc)) or np.any(sc <= 0):
            msg = f"scales must be positive numbers (half-widths of the planes), got {scales!r}."
            raise ValueError(msg)
        if batch is None and l.data is None:
            msg = "LossLandscape.plot() needs l.data (or batch=(xb, yb)) to measure the loss on."
            raise RuntimeError(msg)
        model = l.model
        t0 = time.perf_counter()
        rng = RngState()
        modes = [(m, m.training) for m in model.modules()]
        try:
            xb, yb = batch if batch is not None else fixedBatch(l, samples)
            model.eval()
            with torch.no_grad():
                centre = float(l.lossF(model(xb), yb))
            dirs = directions(model, seed, biases=biases)
            coords = np.linspace(-1.0, 1.0, points)
            coords[points // 2] = 0.0
            a, b = np.meshgrid(coords, coords)  # rows β, columns α
            losses = np.empty((len(sc), points, points))
            info: dict[str, Any] = {"mode": mode, "chunk": chunk, "fallback": ""}
            fallback = ""
            for s, scale in enumerate(sc):
                self._progress(s, len(sc), scale, quiet)
                vals, info = evaluate(
                    model, l.lossF, (xb, yb), dirs, a.ravel() * scale, b.ravel() * scale, chunk=chunk, mode=mode
                )
                chunk = info["chunk"]
                if info["mode"] == "loop" and mode == "auto":
                    mode = "loop"  # found out on the first plane: no need to try vmap again
                    fallback = info["fallback"]
                info["fallback"] = fallback or info["fallback"]
                grid = vals.reshape(points, points)
                grid[points // 2, points // 2] = centre
                losses[s] = grid
        finally:
            for m, training in modes:
                m.training = training
            rng.restore()
        info.update(seconds=time.perf_counter() - t0, seed=seed, samples=_count(xb), biases=biases)
        self.last = Landscape(sc, coords, losses, centre, info)
        if not quiet:
            sys.stdout.write(
                f"\rLossLandscape: {len(sc)}/{len(sc)} scales, finished [{-sc[-1]:.3g}, {sc[-1]:.3g}] range "
                f"({len(sc) * points * points:,} points in {info['seconds']:.2f} s)\n"
            )
            sys.stdout.flush()
        return self.last

    @staticmethod
    def _progress(s: int, n: int, scale: float, quiet: bool) -> None:
        if not quiet:
            sys.stdout.write(f"\rLossLandscape: {s}/{n} scales, computing [{-scale:.3g}, {scale:.3g}] range   ")
            sys.stdout.flush()

    def _reprUse(self) -> str:
        return "- cb.plot(): to compute the landscape around the current weights and show it\n- cb.last: the last one"


def _count(xb: Any) -> int:
    try:
        return len(xb)
    except TypeError:
        return 1
