"""Learner saves are one generation per save; Autosave rotates them; kill -9 never mixes generations.

The kill tests run real saves in subprocesses and SIGKILL them: at random moments (20 trials each, as
issue 10 and issue 14 ask) and right before each file-system change a save makes (the fault is a real
SIGKILL the subprocess sends itself just before its k-th rename, unlink or link).
"""

from __future__ import annotations

import os
import random
import signal
import stat
import subprocess
import sys
import textwrap
import time

import pytest
import torch
from conftest import makeLearner
from torch import nn

import k1widgets as k1lib
from k1widgets.callbacks import Autosave, AutosaveWarning
from k1widgets.learner import LearnerLoadError
from k1widgets.persist.saves import FORMAT, rotateSaves, writeSave

TESTS = os.path.dirname(__file__)


def quietLearner(**kw):
    l = makeLearner(**kw)
    l.cbs.remove("ProgressBar")
    return l


def temps(folder):
    return sorted(f for f in os.listdir(folder) if f.endswith(".tmp"))


# ---------------------------------------------------------------------- the format
def test_a_save_is_readable_without_running_code(tmp_path, capsys):
    l = quietLearner()
    l.run(1)
    l.save(tmp_path / "run1")
    assert capsys.readouterr().out.endswith(f"Saved to {tmp_path / 'run1'}.pth\n")
    top = torch.load(tmp_path / "run1.pth", weights_only=True)  # nothing unpickled but tensors and plain data
    assert top["format"] == FORMAT and top["version"] == 1 and len(top["generation"]) == 16
    torch.testing.assert_close(top["weights"], l.model.state_dict())
    assert isinstance(top["learner"], bytes)
    # the model file is a plain state_dict for other tools
    torch.testing.assert_close(torch.load(tmp_path / "run1.model.pth", weights_only=True), l.model.state_dict())


def test_weights_are_stored_once_and_parameters_stay_shared(tmp_path):
    l = quietLearner(hidden=256)
    l.run(1, batches=2)
    l.save(tmp_path / "big")
    weightBytes = sum(p.numel() * p.element_size() for p in l.model.parameters())
    # weights + Adam's two moments, not weights twice more
    assert os.path.getsize(tmp_path / "big.pth") < 3 * weightBytes + 200_000
    l2 = k1lib.Learner.load(tmp_path / "big")
    params = list(l2.model.parameters())
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in params)
    assert l2.opt.param_groups[0]["params"][0] is params[0], "the optimizer steps the loaded model's parameters"
    assert set(l2.opt.state) == set(params)


def test_load_weights_reads_the_save_or_a_plain_state_dict(tmp_path, capsys):
    l = quietLearner()
    l.run(1, batches=2)
    l.save(tmp_path / "run")
    other = quietLearner(seed=5)
    other.loadWeights(tmp_path / "run")
    torch.testing.assert_close(other.model.state_dict(), l.model.state_dict())
    os.remove(tmp_path / "run.pth")  # only the model file left: that works too
    third = quietLearner(seed=6)
    third.loadWeights(tmp_path / "run")
    torch.testing.assert_close(third.model.state_dict(), l.model.state_dict())
    torch.save(l.model.state_dict(), tmp_path / "plain.pth")  # any torch.save(state_dict) file
    quietLearner(seed=7).loadWeights(tmp_path / "plain")
    with pytest.raises(FileNotFoundError, match=r"No saved weights at .*nope\.pth"):
        third.loadWeights(tmp_path / "nope")
    (tmp_path / "junk.pth").write_bytes(b"junk")
    with pytest.raises(LearnerLoadError, match="not a readable k1widgets save"):
        third.loadWeights(tmp_path / "junk")


def test_saves_honour_the_umask_and_keep_a_replaced_files_mode(tmp_path, capsys):
    l = quietLearner()
    old = os.umask(0o022)
    try:
        l.save(tmp_path / "shared")
        assert stat.S_IMODE(os.stat(tmp_path / "shared.pth").st_mode) == 0o644
        assert stat.S_IMODE(os.stat(tmp_path / "shared.model.pth").st_mode) == 0o644
        os.umask(0o077)
        l.save(tmp_path / "private")
        assert stat.S_IMODE(os.stat(tmp_path / "private.pth").st_mode) == 0o600
        os.chmod(tmp_path / "shared.pth", 0o640)  # the user's choice survives the next save
        l.save(tmp_path / "shared")
        assert stat.S_IMODE(os.stat(tmp_path / "shared.pth").st_mode) == 0o640
    finally:
        os.umask(old)


def test_a_save_during_endrun_leaves_out_the_runs_temporary_callbacks(tmp_path):
    with k1lib.settings.context(autosave={"folder": str(tmp_path)}):
        l = quietLearner()
        l.run(2, batches=3)  # adds a temporary BatchLimit for the run
    saved = k1lib.Learner.load(tmp_path / "autosave-2")
    assert "_batchLimit" not in saved.cbs and saved.cbs._contexts == []
    assert [cb.name for cb in saved.cbs] == [cb.name for cb in l.cbs]


# ---------------------------------------------------------------------- Autosave
def test_autosave_rotates_three_generations_and_prints_the_seed_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with k1lib.settings.context(autosave={"folder": "."}):
        l = makeLearner()
        for gen in range(1, 5):
            l.marker = gen
            l.run(1, batches=1)
            assert capsys.readouterr().out.endswith("\nSaved to autosave-2.pth\n")
    files = [f"autosave-{i}{s}" for i in range(3) for s in (".model.pth", ".pth")]
    assert sorted(os.listdir(tmp_path)) == [".autosave.lock", *files]  # the lock: learners take turns here
    assert [k1lib.Learner.load(f"autosave-{i}").marker for i in range(3)] == [2, 3, 4]
    assert k1lib.Learner.load("autosave-2").marker == 4, "autosave-2 is the newest"
    assert l.Autosave.path == "autosave-2.pth"


def test_autosave_settings_folder_count_and_off(tmp_path, capsys):
    folder = tmp_path / "ckpt" / "deep"
    with k1lib.settings.context(autosave={"folder": str(folder), "count": 2}):
        l = quietLearner()
        for gen in range(3):
            l.marker = gen
            l.run(0)
        assert capsys.readouterr().out.count(f"Saved to {folder / 'autosave-1.pth'}") == 3
        assert sorted(os.listdir(folder)) == [
            ".autosave.lock",
            "autosave-0.model.pth",
            "autosave-0.pth",
            "autosave-1.model.pth",
            "autosave-1.pth",
        ]
        # Learner.load("autosave-N") finds the autosave folder when the current folder has none
        assert k1lib.Learner.load("autosave-1").marker == 2
        k1lib.settings.autosave.on = False
        l.run(0)
    assert capsys.readouterr().out == ""
    assert k1lib.settings.autosave.on is True, "the context restored the setting"
    custom = Autosave(folder=tmp_path / "mine", count=1)
    l.cbs.append(custom)
    l.run(0)
    assert os.path.exists(tmp_path / "mine" / "autosave-0.pth")
    with pytest.raises(ValueError, match=r"count=.* whole number >= 1, got 0"):
        Autosave(count=0)
    with pytest.raises(Exception, match="must be a number >= 1"):
        k1lib.settings.autosave.count = 0


def test_autosave_never_fails_a_run(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the folder should be")
    with k1lib.settings.context(autosave={"folder": str(blocker / "sub")}):
        l = quietLearner()
        with pytest.warns(AutosaveWarning, match="could not save the learner .* The run's result stands"):
            l.run(1, batches=2)
    assert l.status == "done" and len(l.Loss.train) == 2


def test_autosave_skips_runs_that_end_in_an_error_and_record(tmp_path, capsys):
    with k1lib.settings.context(autosave={"folder": str(tmp_path)}):
        l = quietLearner()
        l.run(1, batches=1)
        before = os.stat(tmp_path / "autosave-2.pth").st_mtime_ns

        def boom(cb):
            raise ValueError("boom")

        l.cbs.append(k1lib.Callback().withCheckpoint("endBatch", boom), "Boom")
        with pytest.raises(ValueError, match="boom"):
            l.run(1)
        l.cbs.remove("Boom")
        l.record(1, 2)  # a recording is not a training run either
    assert os.stat(tmp_path / "autosave-2.pth").st_mtime_ns == before
    assert not os.path.exists(tmp_path / "autosave-1.pth")


def test_autosave_is_a_default_callback_where_the_seed_lists_it():
    names = [cb.name for cb in k1lib.Learner().cbs]
    assert "Autosave" in names
    assert names.index("DontTrainValid") < names.index("Autosave")


# ---------------------------------------------------------------------- kill -9
# A server process imports torch and k1widgets once and forks one saver per trial: each trial's saver
# is a real process, killed with a real SIGKILL, without paying for the imports every time.
SERVER = textwrap.dedent(
    """
    import os, signal, sys
    import torch
    from torch import nn
    import k1widgets as k1lib

    torch.set_num_threads(1)  # no thread pool to inherit across fork()
    l = k1lib.Learner()
    l.model = nn.Sequential(nn.Linear(256, 256), nn.Linear(256, 256))  # 0.5 MB of weights per file
    l.data, l.opt, l.lossF = [[], []], torch.optim.SGD(l.model.parameters(), lr=0.0), lambda y, yb: y.sum()
    l.cbs.remove("ProgressBar")

    def saver(name, mode, killAt, start, steps, log):
        sys.stdout = open(log, "w", buffering=1)

        def step(gen):
            l.marker = gen
            with torch.no_grad():
                for p in l.model.parameters():
                    p.fill_(gen)
            if mode == "save":
                l.save(name)
            else:
                l.run(0)  # Autosave rotates and saves
            print("DONE", gen, flush=True)

        gen = start
        while steps < 0 or gen < start + steps:  # steps < 0: until killed
            step(gen)
            gen += 1
        calls = [0]

        def killing(f):  # a real SIGKILL right before the killAt-th rename / unlink / link
            def g(*a, **k):
                calls[0] += 1
                if calls[0] == killAt:
                    os.kill(os.getpid(), signal.SIGKILL)
                return f(*a, **k)
            return g

        os.replace, os.unlink, os.link = killing(os.replace), killing(os.unlink), killing(os.link)
        step(gen)
        print("SURVIVED", flush=True)

    for line in sys.stdin:
        folder, mode, killAt, start, steps, log = line.split()
        os.environ["K1W_AUTOSAVE_FOLDER"] = folder  # read by the forked saver's Autosave below
        k1lib.settings.autosave.folder = folder
        pid = os.fork()
        if pid == 0:
            try:
                saver(os.path.join(folder, "x"), mode, int(killAt), int(start), int(steps), log)
            finally:
                os._exit(0)
        print("PID", pid, flush=True)
        _, status = os.waitpid(pid, 0)
        print("EXIT", status, flush=True)
    """
)


@pytest.fixture(scope="module")
def server():
    proc = subprocess.Popen([sys.executable, "-c", SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    yield proc
    proc.stdin.close()
    proc.wait(30)


def runSaver(server, folder, mode, start, *, steps=-1, killAt=0, randomKill=None):
    """One saver in a forked process; returns (the generations it completed, whether its last step survived)."""
    log = folder.parent / (folder.name + "-log.txt")
    log.write_text("")
    server.stdin.write(f"{folder} {mode} {killAt} {start} {steps} {log}\n")
    server.stdin.flush()
    pid = int(server.stdout.readline().split()[1])
    if randomKill is not None:
        deadline = time.time() + 60
        while "DONE" not in log.read_text():  # once the first save is complete
            assert time.time() < deadline, log.read_text()
            time.sleep(0.005)
        time.sleep(randomKill)
        os.kill(pid, signal.SIGKILL)
    status = int(server.stdout.readline().split()[1])
    text = log.read_text()
    assert os.WIFSIGNALED(status) or (os.WIFEXITED(status) and "SURVIVED" in text), (status, text)
    done = [int(line.split()[1]) for line in text.splitlines() if line.startswith("DONE")]
    return done, "SURVIVED" in text


def generationOf(path):
    """The one generation a file holds (every weight equals it), or fails if it mixes values."""
    if path.endswith(".model.pth"):
        weights = torch.load(path, weights_only=True)
    else:
        l = k1lib.Learner.load(path[: -len(".pth")])
        weights = l.model.state_dict()
        gen = l.marker
        assert all(bool((w == gen).all()) for w in weights.values()), f"{path}: learner {gen} with other weights"
        return gen
    values = {float(w.flatten()[0]) for w in weights.values()}
    assert len(values) == 1 and all(bool((w == w.flatten()[0]).all()) for w in weights.values()), path
    return int(values.pop())


def checkSet(folder, name):
    """Every file of the set ``name`` is of one generation; returns it (None if the set is empty)."""
    pth, model = str(folder / name) + ".pth", str(folder / name) + ".model.pth"
    gens = {generationOf(p) for p in (pth, model) if os.path.exists(p)}
    assert len(gens) <= 1, f"{name} mixes generations {gens}"
    if os.path.exists(pth):
        l = k1lib.Learner()
        l.model = nn.Sequential(nn.Linear(256, 256), nn.Linear(256, 256))
        l.loadWeights(folder / name)
        assert all(bool((p == next(iter(gens))).all()) for p in l.model.parameters()), "loadWeights: same generation"
    return next(iter(gens)) if gens else None


@pytest.mark.slow
def test_save_killed_before_each_file_change_keeps_one_generation(server, tmp_path):
    for killAt in range(1, 10):
        folder = tmp_path / f"kill{killAt}"
        folder.mkdir()
        done, survived = runSaver(server, folder, "save", 1, steps=1, killAt=killAt)
        gen = checkSet(folder, "x")
        assert done[0] == 1 and gen in (1, 2), (killAt, done, gen)
        assert len(temps(folder)) <= 1, temps(folder)
        if survived:
            assert gen == 2
            break
    assert killAt >= 4, "a save changes files at least three times: unlink the old model file, two renames"


@pytest.mark.slow
def test_save_killed_at_random_20_times_never_mixes_generations(server, tmp_path):
    rng = random.Random(0)
    start = 1
    for trial in range(20):
        done, _ = runSaver(server, tmp_path, "save", start, randomKill=rng.uniform(0, 0.05))
        gen = checkSet(tmp_path, "x")
        assert gen is not None and max(done) <= gen <= max(done) + 1, (trial, done, gen)
        assert len(temps(tmp_path)) <= 1, (trial, temps(tmp_path))
        start = gen + 1


def checkAutosaves(folder, count=3):
    gens = [checkSet(folder, f"autosave-{i}") for i in range(count)]
    newest = gens[-1]
    assert newest is not None, "the newest autosave always exists"
    assert k1lib.Learner.load(folder / f"autosave-{count - 1}").marker == newest
    present = [g for i, g in enumerate(gens) if g is not None and os.path.exists(folder / f"autosave-{i}.pth")]
    assert present == sorted(present), f"autosaves out of order: {gens}"
    assert len(temps(folder)) <= 1, temps(folder)
    return newest


@pytest.mark.slow
def test_autosave_killed_before_each_file_change_keeps_the_newest_loadable(server, tmp_path):
    for killAt in range(1, 20):
        folder = tmp_path / f"kill{killAt}"
        folder.mkdir()
        done, survived = runSaver(server, folder, "autosave", 1, steps=3, killAt=killAt)  # autosave-0..2 hold 1..3
        assert done == [1, 2, 3] or done == [1, 2, 3, 4]
        newest = checkAutosaves(folder)
        assert newest in (3, 4), (killAt, newest)
        if survived:
            assert newest == 4
            break
    assert killAt >= 6, "the rotation and the save change files several times"


@pytest.mark.slow
def test_autosave_killed_at_random_20_times_keeps_the_newest_complete(server, tmp_path):
    rng = random.Random(1)
    start = 1
    for trial in range(20):
        done, _ = runSaver(server, tmp_path, "autosave", start, randomKill=rng.uniform(0, 0.08))
        newest = checkAutosaves(tmp_path)
        assert max(done) <= newest <= max(done) + 1, (trial, done, newest)
        start = newest + 1


def test_rotation_refuses_a_bad_count(tmp_path):
    with pytest.raises(ValueError, match="count must be a whole number >= 1, got 0"):
        rotateSaves(str(tmp_path), "autosave", 0)


def test_rotation_drops_a_model_file_whose_learner_file_is_gone(tmp_path):
    writeSave(str(tmp_path / "autosave-1"), [1], {"w": torch.ones(1)})
    os.remove(tmp_path / "autosave-1.pth")  # as a crash between the two renames of a move leaves it
    writeSave(str(tmp_path / "autosave-2"), [2], {"w": torch.full((1,), 2.0)})
    rotateSaves(str(tmp_path), "autosave", 3)
    assert sorted(os.listdir(tmp_path)) == [
        "autosave-1.model.pth",
        "autosave-1.pth",
        "autosave-2.model.pth",
        "autosave-2.pth",
    ]
    assert float(torch.load(tmp_path / "autosave-1.model.pth")["w"]) == 2.0


def test_autosave_after_a_background_run(tmp_path, capsys):
    with k1lib.settings.context(autosave={"folder": str(tmp_path)}):
        l = quietLearner()
        h = l.run(2, batches=2, background=True)
        h.wait(60)
    assert capsys.readouterr().out.endswith(f"Saved to {tmp_path / 'autosave-2.pth'}\n")
    saved = k1lib.Learner.load(tmp_path / "autosave-2")
    assert len(saved.Loss.train) == 4 and not saved._running
    saved.data = l.data
    saved.run(1, batches=1)  # the loaded learner runs (and autosaves in turn)


# ---------------------------------------------------------------------- two learners, one autosave folder
def test_two_learners_autosaving_into_one_folder_in_threads_never_fail(tmp_path, capsys):
    """Their rotations and saves take turns (a lock in the folder): each save completes, none warns."""
    import threading
    import warnings

    learners = [quietLearner(seed=s) for s in range(2)]
    for i, l in enumerate(learners):
        l.marker = i
        l.cbs.remove("Autosave")
        l.cbs.append(Autosave(folder=tmp_path))

    def train(l):
        for _ in range(80):
            l.run(0)  # a run of no epoch: an autosave, and little else

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        threads = [threading.Thread(target=train, args=(l,)) for l in learners]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert [str(w.message) for w in caught if issubclass(w.category, AutosaveWarning)] == []
    assert capsys.readouterr().out.count("Saved to") == 160
    assert {k1lib.Learner.load(tmp_path / f"autosave-{i}").marker for i in range(3)} <= {0, 1}
    assert temps(tmp_path) == []


def test_two_processes_autosaving_into_one_folder_never_fail(tmp_path):
    """Two notebooks in one folder, say: every run of both is saved, and the newest set loads."""
    code = textwrap.dedent(
        f"""
        import sys, warnings
        sys.path.insert(0, {TESTS!r})
        warnings.simplefilter("error")
        from conftest import makeLearner
        import k1widgets as k1lib
        l = makeLearner(seed=int(sys.argv[1]))
        l.cbs.remove("ProgressBar")
        l.marker = int(sys.argv[1])
        with k1lib.settings.context(autosave={{"folder": {str(tmp_path)!r}}}):
            for _ in range(80):
                l.run(0)
        """
    )
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    procs = [subprocess.Popen([sys.executable, "-c", code, str(i)], **pipes) for i in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
        assert out.count("Saved to") == 80, (out, err)
    assert k1lib.Learner.load(tmp_path / "autosave-2").marker in (0, 1)
    assert temps(tmp_path) == []
