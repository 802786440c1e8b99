"""The data view without a browser: cards for l.data / l.data.train, stepping through batches."""

from __future__ import annotations

import torch
from conftest import makeLearner

from k1widgets.data import DataLoader
from k1widgets.widgets.data import DataView


def click(view, **content):
    view._handle_msg({"content": {"data": {"method": "custom", "content": content}}, "buffers": []})


def test_data_shows_both_loaders():
    l = makeLearner()
    view = l.data.widget()
    assert isinstance(view, DataView)
    train, valid = view.loaders
    assert (train["title"], train["batches"], train["batchSize"], train["samples"]) == (".train", 8, 64, 512)
    assert (valid["title"], valid["batches"]) == (".valid", 2)
    assert train["batch"][0]["shape"] == [64] and train["sample"]["columns"] == ["xb", "yb"]
    assert len(train["sample"]["rows"]) == 6 and train["index"] == 0


def test_arrows_step_through_batches():
    x = torch.arange(30.0)
    view = DataView(DataLoader((x, x * 2), 10))
    assert view.loaders[0]["sample"]["rows"][0] == ["0", "0"]
    click(view, action="batch", loader=0, index=1)
    assert view.loaders[0]["index"] == 1 and view.loaders[0]["sample"]["rows"][0] == ["10", "20"]
    click(view, action="batch", loader=0, index=99)  # past the end: the last batch
    assert view.loaders[0]["index"] == 2 and view.loaders[0]["sample"]["rows"][0] == ["20", "40"]
    click(view, action="batch", loader=5, index=0)
    click(view, action="explode")
    assert view.loaders[0]["index"] == 2


def test_one_shot_loaders_are_described_not_consumed():
    batches = iter([(torch.zeros(2), torch.ones(2))] * 2)
    view = DataView(DataLoader(batches))
    assert "one-shot" in view.loaders[0]["note"] and view.loaders[0]["sample"]["rows"] == []
    assert len(list(batches)) == 2
