"""Plain-data summaries and the static HTML fallbacks of the learner, callbacks, data and losses."""

from __future__ import annotations

import functools
import io

import pytest
import torch
from conftest import makeLearner
from torch import nn

from k1widgets.data import DataLoader
from k1widgets.report import (
    dataSummary,
    functionName,
    loaderSummary,
    modelSummary,
    nthBatch,
    optimizerSummary,
    sampleTable,
    takeSample,
)


def test_model_summary_counts_parameters_and_modules():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    model[2].weight.requires_grad_(False)
    s = modelSummary(model)
    assert s == {
        "class": "Sequential",
        "parameters": 3 * 4 + 4 + 4 + 1,
        "trainable": 3 * 4 + 4 + 1,
        "device": "cpu",
        "dtype": "float32",
        "modules": 4,
    }
    assert modelSummary(None) == {}
    assert modelSummary(model.to(torch.float64))["dtype"] == "float64"


def test_optimizer_summary_lists_every_group_and_hyper_parameter():
    a, b = nn.Linear(2, 2), nn.Linear(2, 1)
    opt = torch.optim.SGD([{"params": a.parameters()}, {"params": b.parameters(), "lr": 0.5}], lr=0.1, momentum=0.9)
    s = optimizerSummary(opt)
    assert s["class"] == "SGD" and len(s["groups"]) == 2
    assert s["groups"][0]["params"] == 2 and s["groups"][0]["values"]["lr"] == 0.1
    assert s["groups"][1]["values"]["lr"] == 0.5 and s["groups"][1]["values"]["momentum"] == 0.9
    adam = optimizerSummary(torch.optim.Adam(a.parameters()))
    assert adam["groups"][0]["values"]["betas"] == [0.9, 0.999]  # JSON-ready: a list, not a tuple
    assert optimizerSummary(None) == {}


def test_function_names_are_short_and_readable():
    def mse(y, yb):
        return y

    assert functionName(mse) == "mse"
    assert functionName(lambda x, y: ((x.squeeze() - y) ** 2).mean()) == "lambda x, y: ((x.squeeze() - y) ** 2).mean()"
    assert functionName(nn.MSELoss()) == "MSELoss"
    assert functionName(functools.partial(mse, 1)) == "partial(mse)"
    assert functionName(None) == "-"


def test_loader_summary_shapes_dtypes_and_a_sample_table():
    x = torch.arange(10.0)[:, None].repeat(1, 3)
    y = torch.arange(10)
    s = loaderSummary(DataLoader((x, y), 4))
    assert s["batches"] == 3 and s["batchSize"] == 4 and s["samples"] == 10
    assert s["batch"] == [
        {"name": "xb", "shape": [4, 3], "dtype": "float32", "device": "cpu"},
        {"name": "yb", "shape": [4], "dtype": "int64", "device": "cpu"},
    ]
    assert s["sample"]["columns"] == ["xb", "yb"]
    assert s["sample"]["rows"][1] == ["[1, 1, 1]", "1"]
    assert s["sample"]["total"] == 4


def test_a_one_shot_iterator_is_never_consumed():
    batches = iter([(torch.zeros(2), torch.ones(2))] * 3)
    loader = DataLoader(batches)
    assert takeSample(loader) is None
    s = loaderSummary(loader)
    assert s["batch"] == [] and "one-shot" in s["note"]
    assert len(list(batches)) == 3  # still all there
    assert nthBatch(loader, 0) is None


def test_nth_batch_and_wide_rows():
    loader = DataLoader((torch.arange(20.0).reshape(10, 2), torch.arange(10)), 3)
    assert nthBatch(loader, 2)[1].tolist() == [6, 7, 8]
    assert nthBatch(loader, 99) is None
    table = sampleTable((torch.zeros(2, 10), torch.zeros(2)))
    assert table["rows"][0][0] == "[0, 0, 0, 0, …]"


def test_data_summary_of_the_readme_learner():
    l = makeLearner()
    s = dataSummary(l.data)
    assert s["train"]["batches"] == 8 and s["valid"]["batches"] == 2
    assert dataSummary(None) == {}


def test_learner_summary_is_what_the_header_shows():
    l = makeLearner()
    s = l.summary()
    assert s["model"]["class"] == "Network" and s["model"]["parameters"] == 1021
    assert s["opt"]["class"] == "Adam" and s["lossF"] == "mse"
    assert s["status"] == "idle" and s["missing"] == [] and s["message"] == ""
    empty = type(l)().summary()
    assert empty["missing"] == ["model", "data", "opt", "lossF"] and empty["model"] == {}


def test_static_html_of_every_object_shows_the_facts():
    l = makeLearner()
    l.ProgressBar.stream = io.StringIO()
    l.run(2)
    page = l._repr_html_()
    assert 'class="k1w-static k1w-dashboard-static"' in page
    for text in ("Model: Network", "1,021", "Optimizer: Adam", "lr=0.01", "status", "done", "<svg"):
        assert text in page, text
    cbs = l.cbs._repr_html_()
    assert "ProgressBar" in cbs and "startBatch" in cbs and "Time per checkpoint" in cbs
    assert "batch size" in l.data._repr_html_() and ".valid" in l.data._repr_html_()
    assert "first 6 of 64 samples" in l.data.train._repr_html_()
    assert "last train loss" in l.Loss._repr_html_() and "<svg" in l.Loss._repr_html_()
    epoch = l.Loss.epoch._repr_html_()
    assert epoch.count("<tr>") == 3 and "<svg" in epoch  # header + 2 epochs
    assert "endBatch" in l.cbs.timings._repr_html_()


def test_static_html_escapes_names():
    from k1widgets.callbacks import Callback

    l = makeLearner()
    l.cbs.append(Callback(), "<b>bold</b>")
    assert "<b>bold</b>" not in l.cbs._repr_html_() and "&lt;b&gt;bold&lt;/b&gt;" in l.cbs._repr_html_()


@pytest.mark.parametrize("obj", ["l", "l.cbs", "l.data", "l.data.train", "l.Loss", "l.Loss.epoch", "l.cbs.timings"])
def test_every_tour_object_keeps_its_seed_text_and_has_html(obj):
    l = makeLearner()  # noqa: F841  (read by eval)
    value = eval(obj)
    bundle = value._repr_mimebundle_()
    assert bundle["text/plain"] == repr(value)
    assert bundle["text/html"].startswith("<div class=") and "k1w-static" in bundle["text/html"]
