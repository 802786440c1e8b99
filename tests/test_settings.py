"""Settings: the seed API, env variables, sensitive values, callbacks, contexts, repr, the global
settings, thread safety, the change feed, and the SettingsPanel (browser-free: simulated front-end
messages, every outgoing message recorded)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import pytest
from conftest import makeLearner

import k1widgets
from k1widgets import Settings, settings
from k1widgets.callbacks import Callback
from k1widgets.cancel import CancelRunException
from k1widgets.settings import (
    SettingsEnvWarning,
    SettingsValueError,
    UnknownSettingError,
    editSetting,
    resetSetting,
    settingsTree,
)

SECRET = "hunter2-S3CRET-value"


def waitFor(cond, timeout=3.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.01)
    return cond()


# ---------------------------------------------------------------------- the seed's examples
def test_seed_init_example():
    s = Settings(a=3, b="42")
    s.c = Settings(d=8)
    assert (s.a, s.b, s.c.d) == (3, "42", 8)
    assert str(s) == "Settings:\n- a = 3\n- b = 42\n- c = <Settings>\n  - d = 8"


def test_seed_context_example():
    s = Settings(a=3, b="42", c=Settings(d=8))
    with s.context(a=4):
        s.c.d = 20
        assert s.a == 4
        assert s.c.d == 20
    assert s.a == 3
    assert s.c.d == 8


def test_seed_add_example_shows_docs():
    s = Settings()
    assert s.add("a", 3, "some docs") is s
    assert str(s) == "Settings:\n- a = 3 some docs"


def test_seed_env_examples(monkeypatch):
    monkeypatch.setenv("PATH", "/usr/local/bin:/usr/bin:/bin")
    s = Settings()
    s.add("a", "/this/path/will:/be/overridden", env="PATH")
    assert s.a == "/usr/local/bin:/usr/bin:/bin"
    s.add("b", ["/this/path/will", "/be/overridden"], env=("PATH", lambda x: x.split(":")))
    assert s.b == ["/usr/local/bin", "/usr/bin", "/bin"]


def test_plain_assignment_and_attribute_errors():
    s = Settings(lr=0.1)
    s.add("momentum", 0.5)
    s.momentum = 0.9
    assert s.momentum == 0.9
    with pytest.raises(UnknownSettingError, match=r"no setting 'lrr'.*Available: lr, momentum.*Did you mean 'lr'"):
        s.lrr  # noqa: B018
    assert isinstance(UnknownSettingError("x"), AttributeError)
    assert not hasattr(s, "nope")
    assert getattr(s, "nope", 5) == 5
    assert "momentum" in dir(s)
    del s.momentum
    assert not hasattr(s, "momentum")


def test_bad_keys_are_rejected():
    s = Settings()
    with pytest.raises(SettingsValueError, match="would hide the Settings method"):
        s.add("context", 1)
    with pytest.raises(SettingsValueError, match="would hide"):
        Settings(feed=3)
    with pytest.raises(SettingsValueError, match="identifier"):
        s.add("not valid", 1)
    with pytest.raises(SettingsValueError, match="may not start with '_'"):
        s.add("_private", 1)


# ---------------------------------------------------------------------- env
def test_env_converts_to_the_default_type(monkeypatch):
    monkeypatch.setenv("K1T_INT", "3306")
    monkeypatch.setenv("K1T_FLOAT", "2.5")
    monkeypatch.setenv("K1T_BOOL", "off")
    monkeypatch.setenv("K1T_STR", "hello")
    s = Settings()
    s.add("port", 1, env="K1T_INT").add("hz", 1.0, env="K1T_FLOAT").add("on", True, env="K1T_BOOL")
    s.add("name", "x", env="K1T_STR")
    assert (s.port, s.hz, s.on, s.name) == (3306, 2.5, False, "hello")
    assert type(s.port) is int and type(s.hz) is float


def test_env_missing_keeps_the_default(monkeypatch):
    monkeypatch.delenv("K1T_ABSENT", raising=False)
    s = Settings().add("port", 80, "the port", env="K1T_ABSENT")
    assert s.port == 80
    assert "env: K1T_ABSENT" in repr(s)


def test_env_failing_transform_names_variable_value_and_key(monkeypatch):
    monkeypatch.setenv("K1T_PORT", "eighty")
    s = Settings().add("cred", Settings())
    with pytest.warns(SettingsEnvWarning, match=r"K1T_PORT='eighty' is ignored.*whole number.*ValueError") as info:
        s.cred.add("port", 80, env="K1T_PORT")
    assert "cred.port keeps its default 80" in str(info[0].message)
    assert s.cred.port == 80
    with pytest.warns(
        SettingsEnvWarning, match=r"'eighty' is ignored: its transform raised ZeroDivisionError.*size keeps"
    ):
        Settings().add("size", 1, env=("K1T_PORT", lambda x: 1 / 0))
    monkeypatch.setenv("K1T_FLAG", "maybe")
    with pytest.warns(SettingsEnvWarning, match=r"K1T_FLAG='maybe'.*expected a boolean"):
        Settings().add("flag", True, env="K1T_FLAG")


def test_env_error_of_a_sensitive_key_hides_the_value(monkeypatch):
    monkeypatch.setenv("K1T_TOKEN", SECRET)
    with pytest.warns(SettingsEnvWarning) as info:
        Settings().add("token", 0, sensitive=True, env="K1T_TOKEN")
    assert SECRET not in str(info[0].message)
    assert "K1T_TOKEN=<redacted>" in str(info[0].message)


def test_env_global_settings_error_names_the_full_key(monkeypatch):
    monkeypatch.setenv("K1T_HZ", "fast")
    try:
        with pytest.warns(SettingsEnvWarning, match=r"settings\.live\.extra keeps its default 1\.0"):
            settings.live.add("extra", 1.0, env="K1T_HZ")
        assert settings.live.extra == 1.0
    finally:
        del settings.live.extra


def test_bad_env_spec():
    with pytest.raises(SettingsValueError, match=r'env for .* must be "VAR" or \("VAR", transform\)'):
        Settings().add("a", 1, env=("A",))


def test_env_of_the_global_settings_is_read_at_import_without_widget_libraries():
    code = (
        "import sys; from k1widgets.settings import settings as s; repr(s); s._repr_html_();"
        "print(s.live.hz, s.plot.points, [m for m in ('ipywidgets', 'anywidget', 'bqplot') if m in sys.modules])"
    )
    env = {"K1W_LIVE_HZ": "4", "K1W_PLOT_POINTS": "500"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.split() == ["4.0", "500", "[]"]
    assert out.stderr == ""


# ---------------------------------------------------------------------- sensitive values
def test_sensitive_values_are_redacted_in_repr_and_html():
    s = Settings().add("password", SECRET, "db password", sensitive=True).add("user", "kelvin")
    assert s.password == SECRET
    assert "- password = <redacted>" in repr(s)
    assert SECRET not in repr(s)
    assert SECRET not in s._repr_html_() and "&lt;redacted&gt;" in s._repr_html_()
    assert SECRET not in json.dumps(settingsTree(s))
    bundle = s._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"}  # no kernel here: the static fallback only
    assert SECRET not in json.dumps(bundle)


# ---------------------------------------------------------------------- callbacks
def test_callback_fires_on_every_later_change_not_on_add():
    calls = []
    s = Settings().add("lr", 0.1, "learning rate", cb=lambda st, v: calls.append((st, v)))
    assert calls == []
    s.lr = 0.2
    s.lr = 0.2
    assert calls == [(s, 0.2), (s, 0.2)]


def test_a_raising_callback_rejects_the_value():
    def positive(s, v):
        if v <= 0:
            raise ValueError(f"lr must be > 0, got {v}")

    s = Settings().add("lr", 0.1, cb=positive)
    with pytest.raises(ValueError, match="must be > 0"):
        s.lr = -1
    assert s.lr == 0.1
    assert settings.live.hz == 10.0
    with pytest.raises(SettingsValueError, match=r"settings\.live\.hz must be a number > 0, got 0"):
        settings.live.hz = 0
    assert settings.live.hz == 10.0


def test_callbacks_may_set_other_settings():
    s = Settings(b=0)
    s.add("a", 1, cb=lambda st, v: setattr(st, "b", v * 2))
    s.a = 5
    assert s.b == 10


# ---------------------------------------------------------------------- choices
def test_choices():
    s = Settings().add("device", "cpu", "where to train", choices=["cpu", "cuda", None])
    s.device = None
    s.device = "cuda"
    with pytest.raises(
        SettingsValueError, match=r"must be one of 'cpu', 'cuda', None; got 'cdua'\. Did you mean 'cuda'"
    ):
        s.device = "cdua"
    assert s.device == "cuda"
    with pytest.raises(SettingsValueError, match="must be one of"):
        Settings().add("mode", "c", choices=["a", "b"])


# ---------------------------------------------------------------------- context
def test_context_restores_on_exception_recursively():
    s = Settings(a=1, sub=Settings(b=2, deeper=Settings(c=3)))

    def work():
        with s.context(a=10):
            s.sub.b = 20
            s.sub.deeper.c = 30
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        work()
    assert (s.a, s.sub.b, s.sub.deeper.c) == (1, 2, 3)


def test_context_rejects_unknown_keys_listing_valid_ones():
    s = Settings(lr=0.1, wd=0.0, sub=Settings(x=1))
    with pytest.raises(UnknownSettingError, match=r"'lrr'.*Valid keys: lr, wd, sub\. Did you mean 'lr'"):
        with s.context(lr=1.0, lrr=2.0):
            pass
    assert s.lr == 0.1  # nothing was applied
    with pytest.raises(UnknownSettingError, match=r"'sub\.y'.*Valid keys: x\."):
        with s.context(sub={"y": 1}):
            pass


def test_context_takes_dicts_for_sub_settings():
    with settings.context(live={"hz": 2.0}, displayCutoff=20):
        assert settings.live.hz == 2.0 and settings.displayCutoff == 20
    assert settings.live.hz == 10.0 and settings.displayCutoff == 50


def test_context_restore_does_not_fire_callbacks():
    calls = []
    s = Settings().add("a", 1, cb=lambda st, v: calls.append(v)).add("b", 2, cb=lambda st, v: calls.append(v))
    with s.context(a=5):
        assert calls == [5]  # entering is a change someone asked for
        s.b = 6
    assert calls == [5, 6]  # restoring is not: no callback, unlike k1lib which re-fires all of them
    assert (s.a, s.b) == (1, 2)


def test_context_restores_a_replaced_sub_settings_and_keeps_new_keys():
    inner = Settings(x=1)
    s = Settings(sub=inner)
    with s.context():
        s.sub = Settings(x=99)
        s.add("added", "kept")
    assert s.sub is inner and s.sub.x == 1
    assert s.added == "kept"


def test_settings_copy_and_pickle_without_their_feed():
    import copy
    import pickle

    s = Settings(a=1, sub=Settings(b=2))
    sub = s.feed.subscribe(lambda: None)
    try:
        for clone in (pickle.loads(pickle.dumps(s)), copy.deepcopy(s)):
            assert (clone.a, clone.sub.b) == (1, 2)
            assert not clone.feed.active
            clone.sub.b = 3  # a change inside the clone reaches the clone's root, not the original
            assert s.sub.b == 2
    finally:
        sub.remove()


def test_nested_contexts():
    s = Settings(a=1)
    with s.context(a=2):
        with s.context(a=3):
            assert s.a == 3
        assert s.a == 2
    assert s.a == 1


# ---------------------------------------------------------------------- repr
def test_repr_aligns_columns_with_env_and_cuts_long_values(monkeypatch):
    monkeypatch.delenv("K1T_HOST", raising=False)
    s = Settings()
    s.add("host", "127.0.0.1", "host name of db server", env="K1T_HOST")
    s.add("port", 3306)
    s.add("longValue", "x" * 80, "a long one")
    s.add("sub", Settings().add("inner", True, "nested docs"), "a group")
    s.add("password", SECRET, sensitive=True)
    assert repr(s) == "\n".join(
        [
            "Settings:",
            "- host      = 127.0.0.1" + " " * 42 + "env: K1T_HOST host name of db server",
            "- port      = 3306",
            "- longValue = " + "x" * 47 + "..." + " " * 15 + "a long one",
            "- password  = <redacted>",
            "- sub       = <Settings>" + " " * 55 + "a group",
            "  - inner = True" + " " * 63 + "nested docs",
        ]
    )
    with settings.context(displayCutoff=10):
        assert "- longValue = xxxxxxx... " in repr(s)


def test_repr_keeps_each_entry_on_one_line():
    assert repr(Settings(delim="\t", sep="a\nb")) == "Settings:\n- delim = \\t\n- sep   = a\\nb"


def test_empty_settings_repr():
    assert repr(Settings()) == "Settings:"


# ---------------------------------------------------------------------- the global settings
def test_global_settings_keys_are_documented():
    def walk(s, prefix=""):
        for node in settingsTree(s):
            yield prefix + node["key"], node
            if node["kind"] == "settings":
                yield from walk(getattr(s, node["key"]), prefix + node["key"] + ".")

    keys = dict(walk(settings))
    assert set(keys) >= {"displayCutoff", "cancelRun_newLine", "live", "live.hz", "plot", "plot.points"}
    assert all(node["docs"] for node in keys.values()), [k for k, n in keys.items() if not n["docs"]]
    assert (settings.displayCutoff, settings.cancelRun_newLine, settings.live.hz, settings.plot.points) == (
        50,
        True,
        10.0,
        2000,
    )
    assert k1widgets.settings is settings


def test_cancelRun_newLine_is_what_the_learner_prints(capsys):
    class Stop(Callback):
        def startBatch(self):
            raise CancelRunException("enough")

    l = makeLearner(n=128)
    l.cbs.append(Stop())
    l.cbs.ProgressBar.stream = __import__("io").StringIO()
    l.run(1)
    assert "Run cancelled: enough.\n" in capsys.readouterr().out
    with settings.context(cancelRun_newLine=False):
        l.run(1)
    out = capsys.readouterr().out
    assert "Run cancelled: enough." in out and "Run cancelled: enough.\n" not in out


def test_live_feeds_follow_settings_live_hz():
    from k1widgets.live import Feed

    with settings.context(live={"hz": 4.0}):
        assert Feed().interval == pytest.approx(0.25)
    assert Feed().interval == pytest.approx(0.1)


# ---------------------------------------------------------------------- threads and the feed
def test_concurrent_edits_and_callbacks_stay_consistent():
    seen = []
    s = Settings().add("n", 0, cb=lambda st, v: seen.append((v, st.n)))
    reads = []
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            reads.append(s.n)  # a training loop: plain attribute reads

    def writer(base):
        for i in range(200):
            s.n = base + i

    r = threading.Thread(target=reader)
    r.start()
    writers = [threading.Thread(target=writer, args=(k * 1000,)) for k in range(4)]
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    stop.set()
    r.join()
    assert len(seen) == 800
    # each callback ran together with its own write: it saw the value it was called with
    assert all(v == current for v, current in seen)
    assert s.n in {k * 1000 + 199 for k in range(4)}


def test_feed_fires_for_changes_below_and_ends_on_the_last_value():
    s = Settings(a=0, sub=Settings(b=0))
    seen = []
    sub = s.feed.subscribe(lambda: seen.append(s.sub.b))
    try:
        for i in range(1, 101):
            s.sub.b = i  # a burst: the feed is throttled, then fires once more after it
        assert waitFor(lambda: seen and seen[-1] == 100)
        assert len(seen) <= 5
        n = len(seen)
        with s.context(a=1):
            pass
        assert waitFor(lambda: len(seen) > n)  # a restore is announced too
    finally:
        sub.remove()


# ---------------------------------------------------------------------- the panel, browser-free
@pytest.fixture
def sent(monkeypatch):
    """Every message the widgets would send to the browser: comm-open states and updates/custom messages."""
    from ipywidgets import Widget
    from ipywidgets.widgets import widget as widgetmodule

    log = []
    origSend, origCreate = Widget._send, widgetmodule.comm.create_comm

    def recSend(self, msg, buffers=None):
        log.append(msg)
        return origSend(self, msg, buffers)

    def recCreate(**kwargs):
        log.append(kwargs.get("data"))
        return origCreate(**kwargs)

    monkeypatch.setattr(Widget, "_send", recSend)
    monkeypatch.setattr(widgetmodule.comm, "create_comm", recCreate)
    return log


def fromBrowser(panel, **content):
    """What the browser sends with model.send(content)."""
    panel._handle_msg({"content": {"data": {"method": "custom", "content": content}}, "buffers": []})


def panelOf(s):
    from k1widgets.widgets.settings import SettingsPanel

    return SettingsPanel(s)


def node(panel, path):
    def find(nodes):
        for n in nodes:
            if n["path"] == path:
                return n
            found = find(n.get("children", []))
            if found:
                return found
        return None

    return find(panel.tree)


def test_panel_state_describes_every_key():
    panel = settings.widget()
    try:
        assert type(panel).__name__ == "SettingsPanel"
        assert [n["key"] for n in panel.tree] == [
            "displayCutoff",
            "cancelRun_newLine",
            "live",
            "plot",
            "cache",
            "autosave",
            "hooks",
        ]
        hz = node(panel, "live.hz")
        assert hz["kind"] == "float" and hz["text"] == "10.0" and hz["env"] == "K1W_LIVE_HZ" and hz["docs"]
        assert node(panel, "cancelRun_newLine")["kind"] == "bool"
        assert node(panel, "displayCutoff")["kind"] == "int"
    finally:
        panel.close()


def test_panel_edits_call_setattr_and_fire_callbacks():
    calls = []
    s = Settings().add("epochs", 3, cb=lambda st, v: calls.append(v)).add("verbose", False)
    s.add("name", "run", choices=["run", "test"]).add("sub", Settings().add("lr", 0.1))
    panel = panelOf(s)
    try:
        fromBrowser(panel, type="set", path="epochs", value="7")
        fromBrowser(panel, type="set", path="verbose", value=True)
        fromBrowser(panel, type="set", path="name", value=1)
        fromBrowser(panel, type="set", path="sub.lr", value="1e-3")
        assert (s.epochs, s.verbose, s.name, s.sub.lr) == (7, True, "test", 0.001)
        assert calls == [7]
        assert panel.errors == {}
        assert node(panel, "epochs")["text"] == "7" and node(panel, "epochs")["isDefault"] is False
        fromBrowser(panel, type="reset", path="epochs")
        assert s.epochs == 3 and calls == [7, 3]
        assert node(panel, "epochs")["isDefault"] is True
    finally:
        panel.close()


@pytest.mark.parametrize(
    ("path", "raw", "message"),
    [
        ("epochs", "abc", "takes a whole number, got 'abc'"),
        ("epochs", "1.5", "takes a whole number"),
        ("lr", "fast", "takes a number, got 'fast'"),
        ("lr", "nan", "got NaN"),
        ("lr", "-1", "lr must be > 0"),  # rejected by the callback
        ("verbose", "maybe", "takes true or false"),
        ("shape", "(1,)", "read-only"),
        ("nope", "1", "no setting 'nope'"),
    ],
)
def test_panel_invalid_edits_show_an_error_and_leave_the_value(path, raw, message):
    def positive(st, v):
        if v <= 0:
            raise ValueError(f"lr must be > 0, got {v}")

    s = Settings(epochs=3, verbose=False, shape=(2, 3)).add("lr", 0.1, cb=positive)
    before = {k: getattr(s, k) for k in ("epochs", "verbose", "shape", "lr")}
    panel = panelOf(s)
    try:
        fromBrowser(panel, type="set", path=path, value=raw)
        assert message in panel.errors[path]
        assert {k: getattr(s, k) for k in before} == before
        if path == "epochs":  # a valid edit clears the error
            fromBrowser(panel, type="set", path=path, value="5")
            assert panel.errors == {} and s.epochs == 5
    finally:
        panel.close()


def test_panel_edits_during_a_training_run_are_applied_safely():
    import io

    seen = []

    class Read(Callback):
        def startBatch(self):
            seen.append(settings.live.hz)  # the training thread reads while the comm thread writes

    l = makeLearner(n=64 * 60)
    l.cbs.append(Read())
    l.cbs.ProgressBar.stream = io.StringIO()
    panel = settings.widget()
    errors = []

    def edits():
        try:
            for i in range(1, 41):
                fromBrowser(panel, type="set", path="live.hz", value=str(float(i)))
                time.sleep(0.002)
        except Exception as e:
            errors.append(e)

    try:
        with settings.context():
            t = threading.Thread(target=edits)
            t.start()
            l.run(1)
            t.join()
            assert errors == [] and panel.errors == {}
            assert settings.live.hz == 40.0
            assert set(seen) <= {10.0} | {float(i) for i in range(1, 41)}
        assert settings.live.hz == 10.0
    finally:
        panel.close()


def test_panel_follows_python_changes_and_context_restores():
    s = Settings(a=1, sub=Settings(b=2))
    panel = panelOf(s)
    try:
        with s.context(a=10):
            s.sub.b = 20
            assert waitFor(lambda: node(panel, "a")["text"] == "10" and node(panel, "sub.b")["text"] == "20")
        assert waitFor(lambda: node(panel, "a")["text"] == "1" and node(panel, "sub.b")["text"] == "2")
        s.add("c", 3, "added later")
        assert waitFor(lambda: node(panel, "c") is not None)
    finally:
        panel.close()
    assert not s.feed.active  # closing the panel unsubscribes it


def test_panel_error_goes_away_when_python_changes_the_value():
    s = Settings(epochs=3)
    panel = panelOf(s)
    try:
        fromBrowser(panel, type="set", path="epochs", value="x")
        assert "epochs" in panel.errors
        s.epochs = 4
        assert waitFor(lambda: panel.errors == {})
    finally:
        panel.close()


def test_panel_pushes_at_most_about_10_hz(sent):
    s = Settings(n=0)
    panel = panelOf(s)
    try:
        sent.clear()
        start = time.perf_counter()
        i = 0
        while time.perf_counter() - start < 0.5:
            i += 1
            s.n = i
            time.sleep(0.001)
        assert waitFor(lambda: node(panel, "n")["text"] == str(i))
        elapsed = time.perf_counter() - start
        updates = [m for m in sent if m and m.get("method") == "update"]
        assert i > 100
        assert len(updates) <= elapsed * 10 * 2 + 2, (len(updates), elapsed)
    finally:
        panel.close()


def test_no_message_ever_carries_a_sensitive_value(sent, monkeypatch):
    monkeypatch.setenv("K1T_DB_PASSWORD", SECRET)

    def check(st, v):
        if v == "bad":
            raise ValueError(f"rejected; old value was {st.password!r}")

    s = Settings().add("user", "kelvin")
    s.add("password", "default-pw", "db password", cb=check, sensitive=True, env="K1T_DB_PASSWORD")
    s.add("cred", Settings().add("apiKey", SECRET + "-api", sensitive=True).add("host", "localhost"))
    s.add("pin", 1234, sensitive=True).add("flag", True, sensitive=True)
    panel = panelOf(s)
    try:
        assert s.password == SECRET
        fromBrowser(panel, type="set", path="user", value="someone")
        fromBrowser(panel, type="set", path="password", value="new-" + SECRET)  # write-only edit
        assert s.password == "new-" + SECRET
        fromBrowser(panel, type="set", path="password", value="bad")  # a callback quoting the old value
        assert "details hidden" in panel.errors["password"]
        fromBrowser(panel, type="reset", path="password")
        assert s.password == SECRET
        fromBrowser(panel, type="set", path="pin", value="99")
        s.cred.apiKey = SECRET + "-rotated"
        with s.context(password=SECRET + "-ctx"):
            time.sleep(0.15)
        time.sleep(0.3)
        panel.refresh()
        everything = json.dumps(
            [sent, panel.get_state(), s._repr_mimebundle_(), repr(s), s._repr_html_()], default=repr
        )
        assert sent, "the recorder saw no message"
        assert any("someone" in json.dumps(m, default=repr) for m in sent)  # it did record updates
        assert SECRET not in everything
        assert "1234" not in everything and "99" not in json.dumps(panel.get_state()["tree"])
        assert not any(n.get("value") is True for n in panel.tree if n["key"] == "flag")
    finally:
        panel.close()


def test_settings_display_in_a_kernel_is_the_panel(monkeypatch):
    from ipywidgets.widgets.widget import _instances

    from k1widgets import display

    monkeypatch.setattr(display, "widgetFrontEnd", lambda: True)
    bundle = settings._repr_mimebundle_()
    view = bundle["application/vnd.jupyter.widget-view+json"]
    _instances[view["model_id"]].close()
    assert bundle["text/plain"] == repr(settings)
    assert "text/html" in bundle


def test_edit_helpers_directly():
    s = Settings().add("x", 1)
    assert editSetting(s, "x", " 12 ") == 12 and s.x == 12
    assert resetSetting(s, "x") == 1 and s.x == 1
    with pytest.raises(UnknownSettingError, match="No sub-settings 'a'"):
        editSetting(s, "a.b", "1")
    with pytest.raises(SettingsValueError, match="group of settings"):
        resetSetting(settings, "live")


# ---------------------------------------------------------------------- one set of rules (issue 10)
ENV_IMPORT = (
    "import k1widgets, k1widgets.settings as m; from k1widgets import settings as s;"
    "import k1widgets.settings.defaults;"  # a second import warns nothing more
    "print(s.live.hz, s.plot.points)"
)


@pytest.mark.parametrize(
    ("hz", "points", "hzRule", "pointsRule"),
    [
        (
            "0",
            "-5",
            r"settings\.live\.hz must be a number > 0, got 0\.0",
            r"settings\.plot\.points must be a number >= 4",
        ),
        ("-3", "10.5", r"must be a number > 0, got -3\.0", r"does not convert to a whole number \(ValueError"),
        ("nan", "x", r"settings\.live\.hz takes a finite number, got nan", r"does not convert to a whole number"),
    ],
)
def test_bad_environment_values_warn_once_at_import_and_keep_the_defaults(hz, points, hzRule, pointsRule):
    env = {"K1W_LIVE_HZ": hz, "K1W_PLOT_POINTS": points}
    out = subprocess.run([sys.executable, "-c", ENV_IMPORT], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["10.0", "2000"]
    err = out.stderr
    assert err.count("SettingsEnvWarning") == 2, err
    assert err.count(f"K1W_LIVE_HZ={hz!r} is ignored") == 1 and err.count(f"K1W_PLOT_POINTS={points!r} is ignored") == 1
    assert __import__("re").search(hzRule, err) and __import__("re").search(pointsRule, err), err
    assert "settings.live.hz keeps its default 10.0" in err and "settings.plot.points keeps its default 2000" in err


def test_infinite_hz_from_the_environment_is_refused_like_from_python():
    env = {"K1W_LIVE_HZ": "inf"}
    out = subprocess.run([sys.executable, "-c", ENV_IMPORT], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0 and out.stdout.split() == ["10.0", "2000"]
    with pytest.raises(SettingsValueError) as python:
        settings.live.hz = float("inf")
    assert f"is ignored: {python.value}" in out.stderr


@pytest.mark.parametrize(
    ("path", "value", "match"),
    [
        ("cancelRun_newLine", "no", r"settings\.cancelRun_newLine takes True or False, got 'no' \(str\)"),
        ("plot.points", 10.5, r"settings\.plot\.points takes a whole number, got 10\.5 \(float\)\. Its default 2000"),
        ("live.hz", float("inf"), r"settings\.live\.hz takes a finite number, got inf"),
        ("live.hz", float("nan"), r"settings\.live\.hz takes a finite number, got nan"),
        ("live.hz", True, r"settings\.live\.hz takes a finite number, got True \(bool\)"),
        ("displayCutoff", "50", r"settings\.displayCutoff takes a whole number, got '50' \(str\)"),
        ("live", 5, r"settings\.live is a group of settings: set its keys \(settings\.live\.hz = \.\.\.\)"),
    ],
)
def test_python_assignment_checks_the_keys_type(path, value, match):
    *parents, key = path.split(".")
    node = settings
    for p in parents:
        node = getattr(node, p)
    before = getattr(node, key)
    with pytest.raises(SettingsValueError, match=match):
        setattr(node, key, value)
    assert getattr(node, key) is before
    assert settings.live.hz == 10.0


def test_numbers_are_normalised_to_the_keys_type():
    s = Settings(hz=10.0, n=3)
    s.hz = 5
    assert s.hz == 5.0 and type(s.hz) is float
    import numpy as np

    s.n = np.int64(7)
    assert s.n == 7 and type(s.n) is int


def test_the_panel_follows_the_same_rules_as_python():
    with pytest.raises(SettingsValueError) as panel:
        editSetting(settings, "live.hz", "inf")
    with pytest.raises(SettingsValueError) as python:
        settings.live.hz = float("inf")
    assert str(panel.value) == str(python.value)
    with pytest.raises(SettingsValueError, match=r"must be a number > 0"):
        editSetting(settings, "live.hz", "-3")
    assert settings.live.hz == 10.0


def test_unknown_keys_are_refused_with_a_suggestion():
    with pytest.raises(UnknownSettingError, match=r"no setting 'displaycutof'\. Did you mean 'displayCutoff'\?"):
        settings.displaycutof = 1
    assert "displaycutof" not in dir(settings)
    s = Settings(lr=0.1)
    with pytest.raises(UnknownSettingError, match=r"New settings are added with \.add\('lrr', value, docs\)"):
        s.lrr = 0.2
    s.group = Settings(d=8)  # a new group of settings, as the seeds write it
    assert s.group.d == 8


def test_constructor_refuses_private_keys_and_add_refuses_a_callback_that_is_not_callable():
    with pytest.raises(SettingsValueError, match="may not start with '_'"):
        Settings(_x=1)
    with pytest.raises(SettingsValueError, match=r"cb for a must be a function cb\(settings, newValue\) or None"):
        Settings().add("a", 1, cb="x")


def test_env_values_go_through_choices_and_callbacks(monkeypatch):
    calls = []

    def positive(st, v):
        calls.append(v)
        if v <= 0:
            raise SettingsValueError("must be positive")

    monkeypatch.setenv("K1T_LR", "-1")
    with pytest.warns(SettingsEnvWarning, match=r"K1T_LR='-1' is ignored: must be positive lr keeps its default 0\.1"):
        s = Settings().add("lr", 0.1, cb=positive, env="K1T_LR")
    assert s.lr == 0.1
    monkeypatch.setenv("K1T_LR", "0.5")
    s = Settings().add("lr", 0.1, cb=positive, env="K1T_LR")
    assert s.lr == 0.5 and calls == [-1.0, 0.5]
    monkeypatch.setenv("K1T_DEVICE", "tpu")
    with pytest.warns(SettingsEnvWarning, match=r"K1T_DEVICE='tpu' is ignored: device must be one of 'cpu', 'cuda'"):
        s.add("device", "cpu", choices=["cpu", "cuda"], env="K1T_DEVICE")
    assert s.device == "cpu"
