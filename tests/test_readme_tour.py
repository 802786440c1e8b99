"""The seed README's training code, run with only the import changed, is the API contract."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import torch

from k1widgets.callbacks import UnknownCallbackError

README_CODE = '''
import torch
from torch import nn, optim
from functools import partial
import k1widgets as k1lib

class SkipBlock(nn.Module):
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
        return self.bulk(x)

def newL(*args, **kwargs):
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
        plt.plot(xbs, ys.detach(), ".")
    l.evaluate = partial(evaluate, l)
    return l
l = newL()
l.run(10);
'''


def runReadme():
    ns: dict = {}
    torch.manual_seed(0)
    exec(compile(README_CODE, "README", "exec"), ns)
    return ns


def test_readme_training_cancels_on_low_loss(capsys):
    ns = runReadme()
    out = capsys.readouterr().out
    l = ns["l"]
    assert "Run cancelled: Low loss 1 achieved!." in out
    # the progress line stands right before the cancel message, as in the seed's output
    assert re.search(r"Progress: +\d+%, epoch: +\d+/10, batch: +\d+/157, elapsed: .*Run cancelled: Low loss 1", out)
    assert l.epoch < 9, "the run should stop early on low loss"
    assert l.Loss.epoch.valid[-1] < 1
    assert len(l.Loss.epoch.valid) == l.epoch + 1
    assert l.status == "cancelled"


def test_readme_reprs_have_the_seed_form(capsys):
    ns = runReadme()
    l = ns["l"]
    capsys.readouterr()
    cbs = repr(l.cbs)
    seedListing = (
        "ProgressBar DontTrainValid Autosave LossLandscape HookModule HookParam ModifyBatch DType "
        "CancelOnLowLoss Loss CancelOnExplosion ParamFinder"
    )
    assert cbs.startswith("Callbacks:\n" + "".join(f"- {name}\n" for name in seedListing.split()) + "\nUse...\n")
    assert (
        '- cbs.append(cb[, name]): to add a callback with a name\n- cbs("startRun"): to trigger a specific event' in cbs
    )

    text = repr(l)
    assert text.startswith("l.model:\n    Network(\n      (bulk): Sequential(")
    assert "\n    .....\nl.opt:\n    Adam (\n    Parameter Group 0\n" in text
    assert "\nl.cbs:\n    Callbacks:\n    - ProgressBar\n" in text
    assert text.endswith('- l.Loss: to get a specific callback, this case "Loss"')

    assert repr(l.data) == "`Data` object, just a shell containing 2 `DataLoader`s: `.train` and `.valid`"
    assert repr(l.data.train) == (
        "DataLoader object. 126 batches total, use...\n"
        "- for data in dl: print(data)\n"
        "- it = iter(dl); data = next(it)\n"
        "- len(dl): to get dataloader's length\n"
        "- dl.sample: to get a sample of the data"
    )
    assert len(l.data.valid) == 31
    xb, yb = l.data.train.sample
    assert xb.shape == yb.shape == (64,)
    assert xb.dtype == yb.dtype == torch.bfloat16
    assert torch.allclose(torch.exp(xb.float()), yb.float(), rtol=2e-2)

    loss = repr(l.Loss)
    assert loss.startswith("Callback `Loss`, use...\n- cb.train: for all training losses")
    assert "- cb.detach(): to remove itself from its parent Callbacks" in loss


def test_readme_evaluate_records_three_batches(capsys):
    ns = runReadme()
    l = ns["l"]
    xbs, ybs, ys = l.record(1, 3)
    assert len(xbs) == len(ybs) == len(ys) == 3
    assert xbs[0].shape == (64, 1) and xbs[0].dtype == torch.float32  # after DType and ModifyBatch
    before = [p.clone() for p in l.model.parameters()]
    l.record(1, 3)
    assert all(torch.equal(a, b) for a, b in zip(before, l.model.parameters(), strict=True)), "recording trains nothing"
    assert "cancelled" not in capsys.readouterr().out.split("Low loss")[-1]


def test_readme_run_ends_with_the_seeds_autosave_line(tmp_path, monkeypatch, capsys):
    import k1widgets

    monkeypatch.chdir(tmp_path)  # as a user runs it: Autosave writes to the current folder
    with k1widgets.settings.context(autosave={"folder": "."}):
        ns = runReadme()
    out = capsys.readouterr().out
    assert out.endswith("Run cancelled: Low loss 1 achieved!.\nSaved to autosave-2.pth\n")
    loaded = k1widgets.Learner.load("autosave-2")
    assert loaded.Loss.epoch.valid.tolist() == ns["l"].Loss.epoch.valid.tolist()  # the final state of the run


SLICEABLE_REPR = """Sliceable plot. Can...
- p[a:b]: to focus on a specific range of the plot
- p.yscale("log"): to perform operation as if you're using plt"""


def test_readme_hook_cells(capsys):
    from k1widgets.plot import SliceablePlot

    ns = runReadme()
    l = ns["l"]
    # l.HookParam: the seed's repr, for the README's selection (SkipBlock #0: HookParam)
    text = repr(l.HookParam)
    head = re.match(r"Callback `HookParam`: 6 params, (\d+) means and stds each:\n", text)
    assert head and int(head.group(1)) == l.HookParam.samples >= 8
    assert text[head.end() :] == (
        "  0. bulk.2.seq.0.weight\n  1. bulk.2.seq.0.bias\n  2. bulk.3.seq.0.weight\n  3. bulk.3.seq.0.bias\n"
        "  4. bulk.4.seq.0.weight\n  5. bulk.4.seq.0.bias\n\n"
        "Use...\n"
        "- cb.plot(): to quickly look at everything\n"
        "- cb[i]: to view a single param\n"
        "- cb[a:b]: to get a new HookParam with selected params\n"
        '- cb.something: to get specific attribute "something" from learner if not available\n'
        "- cb.withCheckpoint(checkpoint, f): to quickly insert an event handler\n"
        "- cb.detach(): to remove itself from its parent Callbacks"
    )
    # l.HookParam.plot(): a 2x2 sliceable plot of means, stds, mins, maxs
    p = l.HookParam.plot()
    assert isinstance(p, SliceablePlot) and repr(p) == SLICEABLE_REPR
    assert [q.title for q in p.panels] == ["Means", "Stds", "Mins", "Maxs"] and p.gridColumns == 2
    assert all(len(panel) == 6 for panel in p.data())
    # l.HookParam[::2].plot()[50:]: params 0, 2, 4 from training batch 50 on
    q = l.HookParam[::2].plot()[50:]
    assert repr(q) == SLICEABLE_REPR
    lines = q.data()[0]
    assert [line.name for line in lines] == [
        "0. bulk.2.seq.0.weight",
        "1. bulk.3.seq.0.weight",
        "2. bulk.4.seq.0.weight",
    ]
    assert len(lines[0]) > 0 and lines[0].x[0] >= 50
    # l.HookModule.plot(): forward and backward statistics of the three SkipBlocks
    m = l.HookModule.plot()
    assert repr(m) == SLICEABLE_REPR
    assert [t.title for t in m.panels][:2] == ["Forward mean", "Backward mean"] and len(m.panels) == 8
    assert [line.name for line in m.data()[0]] == ["0. bulk.2", "1. bulk.3", "2. bulk.4"]
    assert np.isfinite(m.data()[1][0].y).all()  # gradients were recorded
    # l.moduleSelector shows the props the hooks follow
    text = repr(l.moduleSelector)
    assert text.count("HookModule") == 3 and text.count("HookParam") == 3
    assert "<svg" in p._repr_html_() and "<svg" in m._repr_html_()


def test_the_seeds_suspend_line_and_a_run_without_loss(capsys):
    # the seed's `l.cbs` text suggests `cbs.suspend(["Loss", "Cuda"])`: on a CPU learner there is no Cuda
    # callback to suspend, and suspending Loss turns the epoch-mode CancelOnLowLoss off for that run
    l = runReadme()["l"]
    losses = len(l.Loss.train)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with l.cbs.suspend(["Loss", "Cuda"]):
            l.run(1)
    assert l.status == "done" and len(l.Loss.train) == losses  # it ran, and recorded no loss
    assert any("CancelOnLowLoss(epochMode=True) is inactive" in str(w.message) for w in caught)
    assert not l.cbs.Loss.suspended
    with pytest.raises(UnknownCallbackError, match="Did you mean 'Loss'"):
        l.cbs.suspend(["Losss"])  # a typo is not a bundled callback: it is refused with the closest name
    assert l.selector is l.moduleSelector  # the base module's name for it
