"""CacheView without a browser: its state, the messages its buttons send, and the files they delete."""

from __future__ import annotations

import string

import pytest

from k1widgets import CacheView, checkpoint, display


@pytest.fixture
def cached(tmp_path):
    @checkpoint(key=string.Template("square_${x}.pkl"), work_dir=str(tmp_path))
    def square(x):
        return x * x

    for x in (1, 2, 3):
        square(x)
    square(2)
    return square


def test_the_registry_gives_the_view_and_its_state_lists_entries(cached):
    info = cached.info()
    assert display.viewClass(info) is CacheView
    view = info.widget()
    try:
        s = view.state
        assert s["function"].endswith("square") and (s["hits"], s["misses"]) == (1, 3)
        assert sorted(e["name"] for e in s["entries"]) == ["square_1.pkl", "square_2.pkl", "square_3.pkl"]
        e = next(e for e in s["entries"] if e["name"] == "square_2.pkl")
        assert e["status"] == "ok" and e["arguments"] == "x=2" and e["sizeText"].endswith(" B")
        other = CacheView(cached)  # the decorated function itself works too
        assert [e["name"] for e in other.state["entries"]] == [e["name"] for e in s["entries"]]
        other.close()
    finally:
        view.close()


def test_delete_clear_and_refresh_messages_change_the_files(cached):
    view = CacheView(cached.info())
    try:
        view._onMsg(view, {"action": "delete", "name": "square_2.pkl"}, [])
        assert not cached.path(2).exists() and cached.path(1).exists()
        assert sorted(e["name"] for e in view.state["entries"]) == ["square_1.pkl", "square_3.pkl"]
        view._onMsg(view, {"action": "delete", "name": "../outside"}, [])
        assert "is not an entry" in view.state["error"]
        cached(5)  # a new entry shows after a refresh (and through the feed)
        view._onMsg(view, {"action": "refresh"}, [])
        assert "square_5.pkl" in [e["name"] for e in view.state["entries"]] and view.state["error"] == ""
        view._onMsg(view, {"action": "clear"}, [])
        assert view.state["entries"] == [] and not cached.path(1).exists()
    finally:
        view.close()


def test_the_feed_pushes_new_entries_to_an_open_view(cached):
    view = CacheView(cached.info())
    try:
        cached(7)
        cached.feed.flush()
        assert "square_7.pkl" in [e["name"] for e in view.state["entries"]]
    finally:
        view.close()


def test_wrong_arguments_are_refused():
    with pytest.raises(TypeError, match=r"pass fn.info\(\)"):
        CacheView(42)
