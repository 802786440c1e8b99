"""@checkpoint: the ediblepickle seed's examples, and every ediblepickle 1.1.3 failure of persistence.md §1 fixed.

Each test names the case of the notes' tables it covers (README examples, E1-E6).
"""

from __future__ import annotations

import functools
import logging
import os
import pickle
import signal
import stat
import string
import subprocess
import sys
import textwrap
import threading
import time
import types

import numpy as np
import pytest

import k1widgets
from k1widgets import checkpoint
from k1widgets.persist import CheckpointFolderError, CheckpointKeyError, CheckpointWarning
from k1widgets.persist.checkpoint import defaultCacheFolder

SLEEP = 0.02  # the seed sleeps 1 s per iteration; the tests keep its shape, not its wall time


def files(folder):
    """The entries of a work_dir (its metadata folder left out)."""
    return sorted(f for f in os.listdir(folder) if f != ".k1cache")


# ---------------------------------------------------------------------- the seed's examples, in Python 3
def test_seed_example_1_refresh_true_recomputes_into_a_folder_it_creates(tmp_path, capsys):
    calls = []
    work = tmp_path / "intermediate_results"  # ediblepickle: FileNotFoundError, the folder is never created

    @checkpoint(key=string.Template("m{0}_n{1}_${iterations}_$stride.csv"), work_dir=str(work), refresh=True)
    def expensive_computation(m, n, iterations=4, stride=1):
        calls.append((m, n))
        for _ in range(iterations):
            time.sleep(SLEEP)
        return range(m, n, stride)

    # First call, evaluates the function and saves the results
    begin = time.time()
    expensive_computation(-100, 200, iterations=4, stride=2)
    time_taken = time.time() - begin
    print(time_taken)
    # Second call: refresh=True computes again
    begin = time.time()
    assert expensive_computation(-100, 200, iterations=4, stride=2) == range(-100, 200, 2)
    time_taken = time.time() - begin
    print(time_taken)
    assert len(calls) == 2 and time_taken >= 4 * SLEEP
    assert files(work) == ["m-100_n200_4_2.csv"]


def test_seed_example_1_refresh_false_loads_the_second_time(tmp_path):
    calls = []

    @checkpoint(key=string.Template("m{0}_n{1}_${iterations}_$stride.csv"), work_dir=str(tmp_path), refresh=False)
    def expensive_computation(m, n, iterations=4, stride=1):
        calls.append(1)
        for _ in range(iterations):
            time.sleep(SLEEP)
        return range(m, n, stride)

    assert expensive_computation(-100, 200, iterations=4, stride=2) == range(-100, 200, 2)
    begin = time.time()
    assert expensive_computation(-100, 200, iterations=4, stride=2) == range(-100, 200, 2)
    assert time.time() - begin < 4 * SLEEP and len(calls) == 1


def my_pickler(integers, f):
    print(integers)
    for i in integers:
        f.write(str(i))
        f.write("\n")


def my_unpickler(f):
    return f.read().split("\n")


def test_seed_example_2_the_text_pickler_works_as_written(capsys):
    # no work_dir: the per-user cache folder (settings.cache.folder), not the shared temp folder
    @checkpoint(
        key=string.Template("m{0}_n{1}_${iterations}_$stride.csv"),
        pickler=my_pickler,
        unpickler=my_unpickler,
        refresh=False,
    )
    def expensive_computation(m, n, iterations=4, stride=1):
        for _ in range(iterations):
            time.sleep(SLEEP)
        return range(m, n, stride)

    expensive_computation.clear()
    begin = time.time()
    print(expensive_computation(-100, 200, iterations=4, stride=2))
    time_taken = time.time() - begin
    print(time_taken)
    begin = time.time()
    print(expensive_computation(-100, 200, iterations=4, stride=2))
    time_taken = time.time() - begin
    print(time_taken)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "range(-100, 200, 2)"  # the pickler's print
    assert out[1] == "range(-100, 200, 2)"  # the computed value
    assert out[3] == str([str(i) for i in range(-100, 200, 2)] + [""])  # what the unpickler returns
    path = expensive_computation.path(-100, 200, iterations=4, stride=2)
    assert path.read_text() == "".join(f"{i}\n" for i in range(-100, 200, 2)), "a human-readable text file"
    assert str(path).startswith(k1widgets.settings.cache.folder)
    assert path.parent.name.endswith("expensive_computation")


def f_key_namer(args, kwargs):
    return "_".join(map(str, [args[0], "bvalue", args[1], kwargs["arg3"], kwargs["arg4"], "output.txt"]))


class KeyObject:
    def __call__(self, args, kwargs):
        return f_key_namer(args, kwargs)


@pytest.mark.parametrize(
    "key",
    [
        string.Template("{0}_bvalue_{1}_${arg3}_${arg4}_output.txt"),
        lambda args, kwargs: "_".join(
            map(str, [args[0], "bvalue", args[1], kwargs["arg3"], kwargs["arg4"], "output.txt"])
        ),
        f_key_namer,
        functools.partial(f_key_namer),  # ediblepickle: TypeError (only FunctionType counts as a key function)
        KeyObject(),  # ediblepickle: TypeError
    ],
    ids=["template", "lambda", "key_namer", "partial", "callable-object"],
)
def test_seed_key_kinds_name_the_file_and_see_defaults(tmp_path, key):
    @checkpoint(key=key, work_dir=str(tmp_path))
    def f(a, b, arg3=8, arg4="subtract"):
        result = (a - b) / arg3
        return result

    assert f(3, 4, arg3=19, arg4="add") == (3 - 4) / 19
    assert f(3, 4) == (3 - 4) / 8  # defaults reach the key (ediblepickle: KeyError 'arg3')
    assert f(3, 4, 19, "add") == (3 - 4) / 19  # passed positionally: the same entry
    assert files(tmp_path) == ["3_bvalue_4_19_add_output.txt", "3_bvalue_4_8_subtract_output.txt"]
    assert f.hits == 1 and f.misses == 2


def test_template_keys_see_defaults_however_the_call_is_written(tmp_path):
    calls = []

    @checkpoint(key=string.Template("m{0}_n{1}_${iterations}_$stride.csv"), work_dir=str(tmp_path))
    def g(m, n, iterations=4, stride=1):
        calls.append(1)
        return m + n + iterations + stride

    assert g(-100, 200) == 105  # ediblepickle: KeyError 'iterations'
    assert g(-100, 200, 4, 1) == 105  # ediblepickle: KeyError 'iterations'
    assert g(m=-100, n=200, stride=1) == 105
    assert len(calls) == 1 and files(tmp_path) == ["m-100_n200_4_1.csv"]


def test_refresh_variants_callable_module_flag_and_bound_method(tmp_path):
    defs = types.SimpleNamespace(REFRESH=False)
    refresh_dict = {"task1": False}

    class Config:
        def __init__(self):
            self.flag = False

        def refresh(self):
            return self.flag

    cfg = Config()
    calls = []
    made = []
    for i, refresh in enumerate([lambda: defs.REFRESH, lambda: refresh_dict["task1"], cfg.refresh]):

        @checkpoint(key=f"r{i}.pkl", work_dir=str(tmp_path), refresh=refresh)
        def step(x):
            calls.append(x)
            return x * 2

        made.append(step)
    for step in made:
        assert step(1) == 2 and step(1) == 2
    assert len(calls) == 3, "each computed once: refresh is evaluated at each call (a bound method too)"
    defs.REFRESH = True
    refresh_dict["task1"] = True
    cfg.flag = True
    for step in made:
        step(1)
    assert len(calls) == 6


@checkpoint(key="module-level.pkl", work_dir=os.path.join(os.path.dirname(__file__), "never-written"))
def moduleLevel(x):
    return x


def test_a_module_level_cached_function_pickles_by_reference():
    assert pickle.loads(pickle.dumps(moduleLevel)) is moduleLevel  # process pools and Dask can ship it


def test_the_decorated_function_keeps_its_name_and_docstring(tmp_path):
    @checkpoint(work_dir=str(tmp_path))
    def documented(x):
        """Doubles x."""
        return 2 * x

    assert documented.__name__ == "documented" and documented.__doc__ == "Doubles x."
    assert documented.__wrapped__(2) == 4
    assert documented(3) == 6 and documented(3) == 6


def test_path_clear_and_info(tmp_path):
    @checkpoint(key=string.Template("sq_{0}.pkl"), work_dir=str(tmp_path / "w"))
    def sq(x):
        return x * x

    assert sq.path(3) == tmp_path / "w" / "sq_3.pkl" and not sq.path(3).exists()
    sq(3), sq(4), sq(3)
    info = sq.info()
    assert (info.hits, info.misses) == (1, 2)
    assert [e.key for e in info.entries()] == ["sq_4.pkl", "sq_3.pkl"]
    e = info.entries()[1]
    assert e.status == "ok" and e.size == sq.path(3).stat().st_size and e.arguments == {"x": "3"}
    text = repr(info)
    assert text.startswith("Cache of test_checkpoint.test_path_clear_and_info.<locals>.sq: 2 entries")
    assert "- sq_4.pkl" in text and "info.delete(name)" in text
    assert "<td>sq_3.pkl</td>" in info._repr_html_()
    assert sq.clear(3) == 1 and not sq.path(3).exists() and sq.path(4).exists()
    assert sq.clear() == 1 and files(tmp_path / "w") == []
    with pytest.raises(KeyError, match=r"'nope' is not an entry of .*sq's cache"):
        info.delete("nope")


def test_custom_binary_pickler_gets_a_binary_file_back(tmp_path):
    @checkpoint(key="arr.npy", work_dir=str(tmp_path), pickler=lambda a, f: np.save(f, a), unpickler=np.load)
    def arr(n):
        return np.arange(n, dtype=np.float32)

    np.testing.assert_array_equal(arr(5), np.arange(5, dtype=np.float32))
    loaded = arr(5)
    assert isinstance(loaded, np.ndarray) and loaded.dtype == np.float32
    assert arr.hits == 1


def test_logging_goes_through_the_standard_module(tmp_path, caplog):
    @checkpoint(work_dir=str(tmp_path))
    def logged(x):
        return x

    with caplog.at_level(logging.DEBUG, logger="k1widgets.checkpoint"):
        logged(1)
        logged(1)
    messages = [r.getMessage() for r in caplog.records if r.name == "k1widgets.checkpoint"]
    assert any("computed in" in m for m in messages) and any("cache hit" in m for m in messages)


def test_methods_are_cached_per_instance_arguments(tmp_path):
    class Model:
        def __init__(self, scale):
            self.scale = scale

        def __reduce__(self):
            return (Model, (self.scale,))

        @checkpoint(key=string.Template("scaled_${x}.pkl"), work_dir=str(tmp_path))
        def scaled(self, x):
            return self.scale * x

    assert Model(2).scaled(3) == 6
    assert Model(5).scaled(3) == 6, "the key names x only: the seed's semantics"


# ---------------------------------------------------------------------- E2, E2b, E6: results that cannot be saved
@pytest.mark.parametrize("make", [threading.Lock, lambda: lambda: 1], ids=["lock", "lambda"])
def test_an_unpicklable_result_is_returned_with_a_warning_and_never_poisons_the_cache(tmp_path, make):
    calls = []

    @checkpoint(key="unpicklable.pkl", work_dir=str(tmp_path))
    def build():
        calls.append(1)
        return {"value": 42, "handle": make()}

    with pytest.warns(CheckpointWarning, match="returned but not cached, because the pickler failed"):
        assert build()["value"] == 42
    assert files(tmp_path) == [], "no empty file (ediblepickle leaves 0 bytes, then EOFError forever)"
    with pytest.warns(CheckpointWarning):
        assert build()["value"] == 42
    assert len(calls) == 2


def test_a_pickler_that_writes_nothing_or_mixes_modes_caches_nothing(tmp_path):
    @checkpoint(key="empty.txt", work_dir=str(tmp_path), pickler=lambda v, f: None, unpickler=lambda f: f.read())
    def empty():
        return ""

    with pytest.warns(CheckpointWarning, match="Nothing was written"):
        assert empty() == ""

    def mixed(v, f):
        f.write("text")
        f.write(b"bytes")

    @checkpoint(key="mixed.txt", work_dir=str(tmp_path), pickler=mixed, unpickler=lambda f: f.read())
    def mix():
        return 1

    with pytest.warns(CheckpointWarning, match="first written as text, then got binary"):
        assert mix() == 1
    assert files(tmp_path) == []


def test_a_function_that_raises_writes_nothing(tmp_path):
    @checkpoint(key="raises.pkl", work_dir=str(tmp_path))
    def fails(ok):
        if not ok:
            raise ValueError("no")
        return "fine"

    with pytest.raises(ValueError, match="no"):
        fails(False)
    assert files(tmp_path) == []
    assert fails(True) == "fine"  # the lock was released


# ---------------------------------------------------------------------- E3: unreadable entries
@pytest.mark.parametrize(
    "content",
    [b"garbage, not a pickle", pickle.dumps(list(range(1000)))[:100], b""],
    ids=["garbage", "truncated", "empty"],
)
def test_an_unreadable_entry_is_set_aside_reported_and_recomputed(tmp_path, content):
    @checkpoint(key="entry.pkl", work_dir=str(tmp_path))
    def compute():
        return list(range(1000))

    (tmp_path / "entry.pkl").write_bytes(content)
    with pytest.warns(CheckpointWarning, match=r"entry\.pkl' could not be read .*moved it to 'entry\.pkl\.corrupt-"):
        assert compute() == list(range(1000))
    names = files(tmp_path)
    assert names[0] == "entry.pkl" and names[1].startswith("entry.pkl.corrupt-") and len(names) == 2
    assert (tmp_path / names[1]).read_bytes() == content, "the bad file is kept for inspection"
    assert compute() == list(range(1000)) and compute.hits == 1
    statuses = sorted((e.name.split(".corrupt")[0], e.status) for e in compute.info().entries())
    assert statuses == [("entry.pkl", "corrupt"), ("entry.pkl", "ok")]


def test_two_functions_sharing_a_key_never_return_each_others_results(tmp_path):
    @checkpoint(key=string.Template("lr_${lr}.pkl"), work_dir=str(tmp_path))
    def train(lr):
        return ("trained", lr)

    @checkpoint(key=string.Template("lr_${lr}.pkl"), work_dir=str(tmp_path))
    def evaluate(lr):
        return ("evaluated", lr)

    assert train(lr=0.1) == ("trained", 0.1)
    with pytest.warns(CheckpointWarning, match="was written by .*train, not .*evaluate: the two functions share") as w:
        assert evaluate(lr=0.1) == ("evaluated", 0.1)  # ediblepickle: ('trained', 0.1)
    assert len(w) == 1
    assert evaluate(lr=0.1) == ("evaluated", 0.1) and evaluate.hits == 1  # evaluate owns the entry now


def test_default_keys_tell_types_apart_and_separate_functions(tmp_path):
    @checkpoint(work_dir=str(tmp_path))
    def ident(x):
        return (type(x).__name__, x)

    @checkpoint(work_dir=str(tmp_path))
    def other(x):
        return "other"

    values = [1, "1", 1.0, True, [1, 2], (1, 2), {"a": 1}, np.arange(3), None]
    for v in values:
        assert ident(v)[0] == type(v).__name__
    for v in values:
        assert ident(v)[0] == type(v).__name__  # hits, each its own type (ediblepickle: 1 and '1' collide)
    assert ident.hits == len(values) and ident.misses == len(values)
    assert other(1) == "other"
    assert len(files(tmp_path)) == len(values) + 1
    assert any(f.startswith("ident-1-") for f in files(tmp_path)), files(tmp_path)
    assert ident(a := "hello") == ("str", a)  # keyword-free default key (ediblepickle: key=0 -> IndexError)


# ---------------------------------------------------------------------- E4: keys stay inside work_dir
@pytest.mark.parametrize(
    ("key", "rule"),
    [
        ("../escaped", "'..', '.' and empty parts"),
        ("a/../../escaped", "'..', '.' and empty parts"),
        ("/tmp/absolute", "must be a relative path"),
        ("nul\0byte", "NUL"),
        ("x" * 300, "at most 255 bytes, this one has 300"),
        ("", "must not be empty"),
        ("a//b", "empty parts"),
        (".k1cache", "reserved"),
        ("run.pkl.123.abcdef12.tmp", "reserved"),
    ],
)
def test_unsafe_keys_are_refused_with_the_key_and_the_rule(tmp_path, key, rule):
    work = tmp_path / "work"

    @checkpoint(key=key, work_dir=str(work))
    def f():
        return 1

    with pytest.raises(CheckpointKeyError, match=f"Cache key .* of .*f is refused: .*{__import__('re').escape(rule)}"):
        f()
    assert not (tmp_path / "escaped").exists()
    assert not os.path.exists("/tmp/absolute")


def test_keys_with_slashes_make_subfolders_and_symlinks_cannot_escape(tmp_path):
    @checkpoint(key=string.Template("run/${i}.pkl"), work_dir=str(tmp_path / "w"))
    def f(i):
        return i

    assert f(1) == 1 and (tmp_path / "w" / "run" / "1.pkl").exists()  # ediblepickle: FileNotFoundError
    os.symlink(tmp_path, tmp_path / "w" / "out")

    @checkpoint(key="out/escaped.pkl", work_dir=str(tmp_path / "w"))
    def g():
        return 1

    with pytest.raises(CheckpointKeyError, match=r"outside work_dir .*through a symlink"):
        g()
    assert not (tmp_path / "escaped.pkl").exists()


def test_key_errors_explain_the_fix(tmp_path):
    @checkpoint(key=string.Template("x_${missing}.pkl"), work_dir=str(tmp_path))
    def f(a, b=2):
        return a

    with pytest.raises(CheckpointKeyError, match=r"uses \$missing, which is not an argument. Arguments: a, b"):
        f(1)

    @checkpoint(key=string.Template("x_{2}.pkl"), work_dir=str(tmp_path))
    def g(a, b=2):
        return a

    with pytest.raises(CheckpointKeyError, match=r"uses \{2\}, but the call has 1 positional"):
        g(1)
    with pytest.raises(TypeError, match=r"takes a str, a string.Template or a callable.*key=string.Template"):
        checkpoint(key=0)
    with pytest.raises(TypeError, match="takes its key by keyword"):
        checkpoint("name.pkl")
    with pytest.raises(TypeError, match="refresh must be True, False or a callable"):
        checkpoint(refresh="no")

    @checkpoint(key=lambda args, kwargs: 3, work_dir=str(tmp_path))
    def h():
        return 1

    with pytest.raises(CheckpointKeyError, match=r"key function of .*h must return a str, got int"):
        h()


# ---------------------------------------------------------------------- the default folder
def test_the_default_folder_is_per_user_and_private(tmp_path, monkeypatch):
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    expected = os.path.join(os.path.expanduser("~"), ".cache", "k1widgets", "checkpoint")
    assert defaultCacheFolder() == expected
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert defaultCacheFolder() == str(tmp_path / "xdg" / "k1widgets" / "checkpoint")

    private = tmp_path / "private"
    with k1widgets.settings.context(cache={"folder": str(private)}):

        @checkpoint
        def bare(x):
            return x + 1

        assert bare(1) == 2 and bare(1) == 2 and bare.hits == 1
        assert stat.S_IMODE(private.stat().st_mode) == 0o700
        assert (
            bare.path(1).parent
            == private / "test_checkpoint.test_the_default_folder_is_per_user_and_private.<locals>.bare"
        )
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    with k1widgets.settings.context(cache={"folder": str(shared)}):
        with pytest.raises(CheckpointFolderError, match=r"is not private: mode drwxrwxrwx.*chmod go-w"):
            bare(1)


# ---------------------------------------------------------------------- E1, E5, E5': processes and kill -9
CHILD = textwrap.dedent(
    """
    import os, sys, time, pickle
    from k1widgets import checkpoint

    work, who, mode = sys.argv[1], sys.argv[2], sys.argv[3]

    def slowPickler(value, f):
        data = pickle.dumps(value)
        f.write(data[: len(data) // 2])
        f.flush()
        print("HALF", flush=True)
        time.sleep(float(os.environ.get("SLOW", "0")))
        f.write(data[len(data) // 2 :])

    @checkpoint(key="big.pkl", work_dir=work, pickler=slowPickler, unpickler=pickle.load, lock=mode != "nolock")
    def compute():
        with open(os.path.join(work, "computations.txt"), "a") as log:
            log.write(who + "\\n")
        while who == "first" and not os.path.exists(os.path.join(work, "go")):
            time.sleep(0.02)  # the test says when the first may finish
        return [who] * 300_000

    print("STARTED", flush=True)
    print("RESULT", compute()[0], flush=True)
    """
)


def startChild(work, who, mode="lock", **env):
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(work), who, mode],
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, **{k: str(v) for k, v in env.items()}),
    )


@pytest.mark.slow
def test_kill_9_while_writing_an_entry_then_the_next_call_recomputes(tmp_path):
    child = startChild(tmp_path, "child", SLOW=60)
    try:
        assert child.stdout.readline().strip() == "STARTED"
        assert child.stdout.readline().strip() == "HALF"
        assert any(f.endswith(".tmp") for f in os.listdir(tmp_path)), "the entry is written to a temp file"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    assert not (tmp_path / "big.pkl").exists(), "a half-written entry is never an entry"
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path), "parent", "lock"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr  # ediblepickle: EOFError: Ran out of input, on every later call
    assert "RESULT parent" in done.stdout and "Error" not in done.stderr
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")], "the killed writer's temp file was removed"


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["lock", "nolock"])
def test_two_processes_on_one_missing_entry_never_see_a_torn_file(tmp_path, mode):
    first = startChild(tmp_path, "first", mode, SLOW=0.5)
    second = None
    try:
        deadline = time.time() + 60
        while not (tmp_path / "computations.txt").exists():  # the first one is computing
            assert time.time() < deadline and first.poll() is None
            time.sleep(0.02)
        second = startChild(tmp_path, "second", mode)
        assert second.stdout.readline().strip() == "STARTED"
        time.sleep(0.5)  # the second is now waiting for the lock (or computing, without it)
        (tmp_path / "go").touch()
        out2, _ = second.communicate(timeout=120)
        out1, _ = first.communicate(timeout=120)
    finally:
        for p in (first, second):
            if p is not None and p.poll() is None:
                p.kill()
    assert first.returncode == 0 and second.returncode == 0
    computed = (tmp_path / "computations.txt").read_text().split()
    if mode == "lock":  # the second waited for the first and read its entry
        assert computed == ["first"] and "RESULT first" in out2
    else:  # without the lock it computed too; either way nothing was torn
        assert sorted(computed) == ["first", "second"] and "RESULT second" in out2
    assert "RESULT first" in out1
    assert pickle.loads((tmp_path / "big.pkl").read_bytes())[0] in ("first", "second")
