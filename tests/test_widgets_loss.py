"""l.Loss and l.Loss.epoch as live views: the latest values, the table of epochs, the plots."""

from __future__ import annotations

import io

import pytest
from conftest import makeLearner

from k1widgets.callbacks import Loss
from k1widgets.widgets.loss import EpochLossView, LossView
from k1widgets.widgets.plot import PlotView


def test_loss_view_shows_the_latest_values_and_grows_with_the_run():
    l = makeLearner()
    l.ProgressBar.stream = io.StringIO()
    view = l.Loss.widget()
    assert isinstance(view, LossView) and isinstance(view.plotView, PlotView)
    assert dict(view.stats.rows)["train batches"] == "0" and dict(view.stats.rows)["last train loss"] == "-"
    l.run(2)
    rows = dict(view.stats.rows)
    assert rows["train batches"] == "16" and rows["epochs"] == "2"
    assert rows["last train loss"] == f"{l.Loss.last[0]:.4g}"
    assert len(view.plotView.panels[0].marks[0].y) == 16
    view.close()
    assert not l.feed.active


def test_epoch_view_is_a_table_and_a_plot():
    l = makeLearner()
    l.ProgressBar.stream = io.StringIO()
    view = l.Loss.epoch.widget()
    assert isinstance(view, EpochLossView) and view.table.rows == []
    l.run(3)
    assert [r[0] for r in view.table.rows] == ["0", "1", "2"]
    assert view.table.rows[2][2] == f"{l.Loss.epoch.valid[2]:.4g}"
    assert len(view.plotView.panels[0].marks[1].y) == 3
    view.close()


def test_views_of_a_detached_loss_are_static():
    loss = Loss()
    view = LossView(loss)
    assert view.feed is None
    view.close()
    with pytest.raises(TypeError, match="LossView shows a k1widgets Loss callback"):
        LossView(object())
    with pytest.raises(TypeError, match=r"EpochLossView shows l\.Loss\.epoch"):
        EpochLossView(loss)
