"""Mixed precision (Autocast), DType on a learner that already ran, and the float16 warning."""

from __future__ import annotations

import io

import pytest
import torch
from conftest import makeLearner

from k1widgets.callbacks import Autocast, Callback, modify


def quiet(l):
    l.cbs.ProgressBar.stream = io.StringIO()
    return l


def smallLearner():
    """Two Linear layers, 4 training + 1 validation batches: bfloat16 matmuls are slow on CPUs without bf16 units."""
    l = quiet(makeLearner(n=64 * 5))
    torch.manual_seed(0)
    l.model = torch.nn.Sequential(torch.nn.Linear(1, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
    l.opt = torch.optim.Adam(l.model.parameters(), lr=3e-2)
    return l


class Dtypes(Callback):
    """The dtype of the model's output in every training batch, and of the loss the loop backpropagates."""

    def __init__(self):
        super().__init__()
        self.outputs, self.losses = [], []

    def endPass(self):
        if self.learner.model.training:
            self.outputs.append(self.learner.y.dtype)

    def startBackward(self):
        self.losses.append(self.learner.lossG.dtype)


def test_bfloat16_autocast_trains_on_cpu():
    l = smallLearner()
    spy = Dtypes()
    l.cbs.append(spy)
    l.cbs.withAutocast(dtype=torch.bfloat16)
    l.run(4)
    assert l.status == "done"
    assert set(spy.outputs) == {torch.bfloat16}, "the forward pass ran in bfloat16"
    assert all(p.dtype == torch.float32 for p in l.model.parameters()), "weights stay float32"
    losses = l.Loss.epoch.train.tolist()
    assert losses[-1] < losses[0]
    y = l(torch.zeros(3))
    assert y.dtype == torch.float32, "inference runs in full precision"
    assert l.Autocast.scaler is None


def test_float16_autocast_scales_the_loss_and_steps_through_a_grad_scaler():
    l = smallLearner()
    l.opt = torch.optim.SGD(l.model.parameters(), lr=1e-3)
    spy = Dtypes()
    l.cbs.append(spy)
    l.cbs.withAutocast(dtype=torch.float16)
    before = [p.detach().clone() for p in l.model.parameters()]
    l.run(2)
    scaler = l.Autocast.scaler
    assert isinstance(scaler, torch.amp.GradScaler) and scaler.get_scale() > 1
    assert set(spy.outputs) == {torch.float16}
    assert not all(torch.equal(a, b) for a, b in zip(before, l.model.parameters(), strict=True)), "it trained"
    assert l.Loss.train[0] < 1e4, "the recorded loss is not the scaled one"
    assert torch.isfinite(torch.cat([p.flatten() for p in l.model.parameters()])).all()


def test_autocast_refuses_other_dtypes():
    with pytest.raises(ValueError, match=r"dtype=torch\.bfloat16 or torch\.float16, got torch\.float32"):
        Autocast(torch.float32)


def test_dtype_after_a_run_converts_the_optimizer_state_too():
    l = quiet(makeLearner())
    l.run(1)
    l.cbs.withDType(torch.bfloat16)
    l.run(1)
    assert l.status == "done"
    state = next(iter(l.opt.state.values()))
    assert state["exp_avg"].dtype == torch.bfloat16 and state["step"].dtype == torch.float32
    assert len(l.Loss.epoch.train) == 2


def test_pure_float16_warns_once_and_points_at_autocast(monkeypatch):
    monkeypatch.setattr(modify, "_warned", {})
    l = makeLearner()
    with pytest.warns(UserWarning, match=r"pure float16.*l\.cbs\.withAutocast\(dtype=torch\.float16\)") as info:
        l.cbs.withDType(torch.float16)
    assert info[0].filename == __file__, "the warning points at the user's line"
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        makeLearner().cbs.withDType(torch.float16)  # once per process
        makeLearner().cbs.withDType(torch.bfloat16)
