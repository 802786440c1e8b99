"""Writes notebooks/tour.ipynb from the cells below (run: python notebooks/make_tour.py)."""

from __future__ import annotations

from pathlib import Path

import nbformat

CELLS = [
    (
        "md",
        "# k1widgets tour\n\nThe seed README's network, trained with `import k1widgets as k1lib` as the only change. "
        "In JupyterLab every object below is a live widget; elsewhere it prints the seed's text.",
    ),
    (
        "code",
        "import torch\nfrom torch import nn, optim\nfrom functools import partial\nimport k1widgets as k1lib\n\n"
        "torch.manual_seed(0)  # the same tour every time",
    ),
    (
        "code",
        """class SkipBlock(nn.Module):
    def __init__(self, hiddenDim=10):
        super().__init__()
        def gen(): return nn.Linear(hiddenDim, hiddenDim), nn.LeakyReLU()
        self.seq = nn.Sequential(*gen(), *gen(), *gen())
    def forward(self, x):
        return self.seq(x) + x

class Network(nn.Module):
    def __init__(self, hiddenDim=10, blocks=3, block=SkipBlock):
        super().__init__()
        layers = [nn.Linear(1, hiddenDim), nn.LeakyReLU()]
        layers += [block(hiddenDim) for _ in range(blocks)]
        layers += [nn.Linear(hiddenDim, 1)]
        self.bulk = nn.Sequential(*layers)
    def forward(self, x):
        return self.bulk(x)""",
    ),
    (
        "code",
        '''def newL(*args, **kwargs):
    l = k1lib.Learner()
    l.model = Network(*args, **kwargs)
    l.data = k1lib.data.Data.fromDataset(k1lib.data.FunctionDataset.exp, batchSize=64)
    l.opt = optim.Adam(l.model.parameters(), lr=1e-2)
    l.lossF = lambda x, y: ((x.squeeze() - y)**2).mean()

    l.cbs.withModifyBatch(lambda x, y: (x[:, None], y))
    l.cbs.withDType(torch.float32);
    l.cbs.withCancelOnLowLoss(1, epochMode=True)
    l.css = """SkipBlock #0: HookParam
SkipBlock: HookModule"""

    def evaluate(self):
        xbs, ybs, ys = self.record(1, 3)
        xbs = torch.vstack(xbs).squeeze()
        ybs = torch.vstack([yb[:, None] for yb in ybs]).squeeze()
        ys = torch.vstack(ys).squeeze()
        return xbs, ybs, ys
    l.evaluate = partial(evaluate, l)
    return l
l = newL()
l.run(10);''',
    ),
    (
        "md",
        "## The dashboard\n\n`l` is a live dashboard: the model, data, optimizer and status at the top; **Run** "
        "trains in the background, **Pause**, **Cancel** and **Save** act at once, and editing `lr` applies it at "
        "the next batch. The tabs show the progress, the losses (tick *Compare runs* to overlay earlier runs), the "
        "hooks, the module tree, the callbacks, the finder, the loss landscape and the settings.",
    ),
    ("code", "l"),
    (
        "md",
        "Callbacks do everything around the loop. `l.cbs` is a live table: untick a callback to suspend it "
        "(as `l.cbs.suspend([...])` does), detach it, or click a row for its documentation. Each object documents "
        "itself, in a terminal as the seed's text and here as a widget:",
    ),
    ("code", "l.cbs"),
    ("code", "l.data"),
    ("code", "l.data.train"),
    ("code", "l.data.train.sample"),
    ("code", "l.Loss"),
    ("code", "l.Loss.epoch"),
    ("code", "l.cbs.timings"),
    (
        "md",
        "## Plots\n\n`l.Loss.plot()` is a `SliceablePlot`: drag the slider under it to zoom both panels, "
        "toggle the log scale, or slice it in code. The valid panel follows the train panel proportionally.",
    ),
    ("code", "l.Loss.plot()"),
    ("code", "l.Loss.plot()[120:]"),
    (
        "md",
        "## The loss landscape\n\n`l.LossLandscape.plot()` evaluates the loss around the trained weights along two "
        "random filter-normalized directions, on one fixed batch: drag the scale slider, hover for values, toggle 3-D.",
    ),
    ("code", "l.LossLandscape.plot()"),
    (
        "md",
        "## Hooks\n\n`HookParam` and `HookModule` record the parameters and modules `l.css` selects, live: "
        "click a name in the legend to hide a line, hover a line for its module, drag the slider to zoom every panel.",
    ),
    ("code", "l.HookParam"),
    ("code", "l.HookParam.plot()"),
    ("code", "l.HookParam[::2].plot()[50:]"),
    ("code", "l.HookModule.plot()"),
    ("code", "l.HookModule"),
    (
        "md",
        "## The module selector\n\n`l.css` chooses what the hooks watch. The tree view's CSS box and `l.css` are "
        "one state: type in the box, or set `l.css` here and watch the box follow.",
    ),
    ("code", "l.moduleSelector"),
    (
        "code",
        'l.css = """\n#bulk > Linear: a\n#bulk > #1: b\nSkipBlock Sequential: c\nSkipBlock LeakyReLU\n"""\n'
        "print(l.moduleSelector)",
    ),
    ("md", "## Settings\n\nEvery setting of k1widgets, documented and editable:"),
    ("code", "k1lib.settings"),
    (
        "md",
        "## ParamFinder\n\nThe seed's learning-rate finder on a fresh network: it sweeps, prints its suggestion and "
        "puts everything back (weights, optimizer, random state). **Use this lr** sets the suggestion on the "
        "optimizer.",
    ),
    ("code", "l = newL(); l.ParamFinder.plot(samples=1000)[:0.99]"),
    ("md", "Inference on a batch, in eval mode, without training or printing:"),
    ("code", "l(torch.tensor([0.0, 1.0, 2.0]))"),
    (
        "md",
        "## Training in the background\n\n`background=True` returns at once with a handle; the progress view's "
        "buttons (or `h.cancel()`, `h.pause()`, `h.resume()`) steer the run from any front-end.",
    ),
    ("code", "l = newL()\nh = l.run(3, background=True)\nh"),
    ("code", "h.wait()\nl.Loss.epoch"),
]


def build() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for kind, src in CELLS:
        nb.cells.append(nbformat.v4.new_markdown_cell(src) if kind == "md" else nbformat.v4.new_code_cell(src))
    return nb


if __name__ == "__main__":
    nbformat.write(build(), Path(__file__).with_name("tour.ipynb"))
