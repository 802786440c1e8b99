"""ParamScheduler: css with props, split param groups keeping state and user hyper-parameters, progress."""

from __future__ import annotations

import pytest
import torch
from conftest import makeLearner

from k1widgets import Callback
from k1widgets.callbacks import ParamScheduler
from k1widgets.schedule import Fn, linear, smooth
from k1widgets.selector import SelectorSyntaxError


class LrLog(Callback):
    """Records, at every training step, the lr each watched parameter gets."""

    order = 20

    def __init__(self, **params):
        super().__init__()
        self.params, self.log = params, {k: [] for k in params}
        self.groups = []

    def startStep(self):
        byId = {id(p): g for g in self.learner.opt.param_groups for p in g["params"]}
        for k, p in self.params.items():
            self.log[k].append(byId[id(p)]["lr"])
        self.groups.append(len(self.learner.opt.param_groups))


def weights(l):
    return {k: v.detach().clone() for k, v in l.model.state_dict().items()}


def test_css_with_props_schedules_only_the_selected_parameters():
    l = makeLearner()
    first, skip = l.model.bulk[0].weight, l.model.bulk[2].seq[0].weight
    log = LrLog(first=first, skip=skip)
    l.cbs.append(log)
    # props in the css (k1lib raised StopIteration): every matched module is scheduled, whatever its props
    l.cbs.withParamScheduler("SkipBlock: fast slow", linear(1e-3, 1e-4, "lr"))
    l.run(2)
    assert log.log["first"] == [1e-2] * 16  # not selected: the user's lr throughout
    expected = list(linear(1e-3, 1e-4).iter(16))
    assert log.log["skip"] == pytest.approx(expected)  # first training batch at 0, last at 1
    assert set(log.groups) == {2}  # one group split in two during the run
    assert len(l.opt.param_groups) == 1 and l.opt.param_groups[0]["lr"] == 1e-2  # put back afterwards
    assert len(l.opt.param_groups[0]["params"]) == len(list(l.model.parameters()))
    assert l.ParamScheduler.progress == 1.0
    assert l.ParamScheduler.schedules["lr"].value == pytest.approx(1e-4)


def test_user_hyper_parameters_are_kept_not_reset_to_defaults():
    l = makeLearner()
    g = l.opt.param_groups[0]
    g["weight_decay"], g["betas"] = 0.05, (0.8, 0.95)  # differ from opt.defaults
    seen = []

    class Watch(Callback):
        def startStep(self):
            seen.append([(grp["weight_decay"], grp["betas"]) for grp in self.learner.opt.param_groups])

    l.cbs.append(Watch())
    l.cbs.withParamScheduler("#bulk > #0", Fn(lambda x: 1e-3, "lr"))
    l.run(1)
    assert all(s == [(0.05, (0.8, 0.95))] * 2 for s in seen)
    assert l.opt.defaults["weight_decay"] == 0  # k1lib would have used these
    assert (g["weight_decay"], g["betas"], g["lr"]) == (0.05, (0.8, 0.95), 1e-2)


def test_splitting_groups_keeps_optimizer_state_bit_for_bit():
    # a scheduler that sets the lr the user already has changes nothing at all, although it splits
    # the group in two: Adam's moments and step counts follow their parameters
    plain, scheduled = makeLearner(), makeLearner()
    for l in (plain, scheduled):
        l.run(1)  # Adam state exists before the scheduler's first run
    scheduled.cbs.withParamScheduler("SkipBlock Linear", Fn(lambda x: 1e-2, "lr"))
    for l in (plain, scheduled):
        l.run(2)
    a, b = weights(plain), weights(scheduled)
    assert all(torch.equal(a[k], b[k]) for k in a)
    sa, sb = plain.opt.state_dict()["state"], scheduled.opt.state_dict()["state"]
    assert all(torch.equal(sa[i]["exp_avg"], sb[i]["exp_avg"]) for i in sa)


def test_validation_batches_do_not_move_the_schedule_and_batch_limits_count():
    l = makeLearner()
    p = l.model.bulk[0].weight
    log = LrLog(p=p)
    l.cbs.append(log)
    l.cbs.withParamScheduler("*", linear(0.0, 1.0, "lr"))
    l.run(2, batches=4)  # 4 training batches per epoch (the limit), no validation batches reached
    assert log.log["p"] == pytest.approx([i / 7 for i in range(8)])


def test_overlapping_schedulers_deeper_css_wins():
    l = makeLearner()
    deep, shallow = l.model.bulk[2].seq[0].weight, l.model.bulk[2].seq[2].weight
    log = LrLog(deep=deep, shallow=shallow)
    l.cbs.append(log)
    l.cbs.withParamScheduler("SkipBlock", Fn(lambda x: 1e-3, "lr"))
    l.cbs.withParamScheduler("SkipBlock > Sequential > #0", Fn(lambda x: 1e-4, "lr"))
    l.run(1)
    assert set(log.log["deep"]) == {1e-4} and set(log.log["shallow"]) == {1e-3}
    assert len(l.opt.param_groups) == 1


def test_several_hyper_parameters_and_sgd_momentum():
    l = makeLearner()
    l.opt = torch.optim.SGD(l.model.parameters(), lr=1e-3, momentum=0.9)
    seen = []

    class Watch(Callback):
        def startStep(self):
            seen.append((self.learner.opt.param_groups[0]["lr"], self.learner.opt.param_groups[0]["momentum"]))

    l.cbs.append(Watch())
    l.cbs.withParamScheduler("*", smooth(1e-3, 1e-5, "lr"), linear(0.8, 0.95, "momentum"))
    l.run(1)
    assert seen[0] == pytest.approx((1e-3, 0.8)) and seen[-1] == pytest.approx((1e-5, 0.95))
    assert l.opt.param_groups[0]["momentum"] == 0.9


def test_the_model_trains_the_same_as_torch_lambda_lr():
    # a schedule over every parameter equals torch's LambdaLR stepped per batch
    ours, ref = makeLearner(), makeLearner()
    n = 8
    ours.cbs.withParamScheduler("*", linear(1.0, 0.1).modifyOutput(lambda f: 1e-2 * f) + "lr")
    ours.run(1)
    opt = ref.opt
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1.0 + (0.1 - 1.0) * min(step, n - 1) / (n - 1))
    for xb, yb in ref.data.train:
        loss = ref.lossF(ref.model(xb[:, None]), yb)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        sched.step()
    a, b = weights(ours), weights(ref)
    assert all(torch.allclose(a[k], b[k], rtol=1e-5, atol=1e-7) for k in a)


def test_errors_say_what_to_do():
    with pytest.raises(ValueError, match="does not say which hyper-parameter"):
        ParamScheduler("*", Fn(lambda x: x))
    with pytest.raises(ValueError, match="both schedule 'lr'"):
        ParamScheduler("*", linear(0, 1, "lr"), smooth(0, 1, "lr"))
    with pytest.raises(ValueError, match="at least one schedule"):
        ParamScheduler("*")
    with pytest.raises(SelectorSyntaxError):
        ParamScheduler("Linear >", linear(0, 1, "lr"))
    l = makeLearner()
    l.cbs.withParamScheduler("*", linear(0, 1, "Lr"))
    with pytest.raises(ValueError, match=r"no such hyper-parameter.*Did you mean 'lr'"):
        l.run(1)
    assert len(l.opt.param_groups) == 1  # nothing was split


def test_repr_html_and_shortcut():
    l = makeLearner()
    l.cbs.withParamScheduler("SkipBlock", linear(1e-3, 1e-4, "lr"))
    ps = l.ParamScheduler
    assert repr(ps).startswith("Callback `ParamScheduler` (css 'SkipBlock'; lr: linear(0.001 → 0.0001)), use...")
    assert '- ps.schedules["lr"]' in repr(ps)
    assert ps._repr_html_().count("<svg") == 1
    assert len(list(ps.selector.modules())) > 3


def test_view_follows_the_run():
    from k1widgets.widgets.schedule import ParamSchedulerView

    l = makeLearner()
    l.cbs.withParamScheduler("*", linear(1e-2, 1e-3, "lr"))
    v = l.ParamScheduler.widget()
    assert isinstance(v, ParamSchedulerView)
    assert "not run yet" in v.header.value
    before = v.updates
    l.run(1)
    assert v.updates > before  # the feed refreshed it (flushed at the end of the epoch and the run)
    assert 'class="k1w-scheduler-progress">1.000<' in v.header.value
    assert list(v.plots[0].marker.x) == [1.0]
    v.close()
    n = v.updates
    l.run(1)
    assert v.updates == n  # a closed view stops following
