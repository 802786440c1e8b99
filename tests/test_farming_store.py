"""The sweep store against xyzpy 1.3.5's measured failures (notes/persistence.md §2): nothing finished is lost.

Real processes are killed with SIGKILL: a harvest after 6 of 8 points, and consolidation at random
file-system steps (20 trials); two processes harvest into one store at once.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from k1widgets.farming import CorruptFileWarning, Harvester, Runner, SweepError, label


def counting(calls, fail=()):
    @label(var_names="y")
    def double(x):
        calls.append(x)
        if x in fail:
            raise RuntimeError("CUDA out of memory (simulated)")
        return x * 2

    return double


def pointFiles(data_name):
    d = Path(str(data_name) + ".k1sweep") / "points"
    return sorted(p.name for p in d.glob("*.pkl")) if d.exists() else []


def runScript(tmp_path, name, body, *args):
    script = tmp_path / name
    script.write_text(textwrap.dedent(body))
    return subprocess.Popen(
        [sys.executable, str(script), *map(str, args)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


SLOW_HARVEST = """
import sys, time
from k1widgets.farming import Harvester, label

@label(var_names="y")
def double(x):
    time.sleep(0.3)
    return x * 2

print("READY", flush=True)
Harvester(double, data_name=sys.argv[1]).harvest_combos({"x": list(range(8))}, verbosity=0)
print("FINISHED", flush=True)
"""


def test_kill_9_after_6_of_8_points_then_resume_computes_only_the_missing(tmp_path):
    data = tmp_path / "sweep.pkl"
    proc = runScript(tmp_path, "slow.py", SLOW_HARVEST, data)
    try:
        deadline = time.time() + 120
        while len(pointFiles(data)) < 6:
            assert proc.poll() is None, proc.stderr.read()
            assert time.time() < deadline, "the harvest did not store 6 points in time"
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)  # our own child, by handle
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    stored = len(pointFiles(data))
    assert 6 <= stored < 8
    calls = []
    h = Harvester(counting(calls), data_name=str(data))
    h.harvest_combos({"x": list(range(8))}, missing_only=True)
    assert len(calls) == 8 - stored <= 2  # xyzpy 1.3.5 recomputed 8 of 8
    assert h.full_ds["y"].values.tolist() == [2 * x for x in range(8)]


def test_one_failing_point_keeps_the_other_seven(tmp_path):
    calls = []
    h = Harvester(counting(calls, fail={5}), data_name=str(tmp_path / "s.pkl"))
    with pytest.raises(SweepError, match="1 of 8 points failed; every other point was saved"):
        h.harvest_combos({"x": list(range(8))})
    ds = h.full_ds
    assert int(ds["y"].notnull().sum()) == 7  # xyzpy 1.3.5 discarded all 7
    (err,) = h.errors.values()
    assert err["params"] == {"x": 5} and "CUDA out of memory" in err["error"]
    h.runner = counting(calls)
    h.harvest_combos({"x": list(range(8))}, missing_only=True)
    assert calls[8:] == [5]
    assert h.full_ds["y"].values.tolist() == [2 * x for x in range(8)]


def test_float_coordinates_are_canonical(tmp_path):
    calls = []
    h = Harvester(counting(calls), data_name=str(tmp_path / "f.pkl"))
    h.harvest_combos({"x": [0.1 * 3, 1.0]})
    h.harvest_combos({"x": [0.3, 1.0]}, missing_only=True)
    assert len(calls) == 2  # xyzpy 1.3.5 recomputed 0.3 and kept two coordinates
    assert h.full_ds["x"].values.tolist() == [0.3, 1.0]


def test_corrupt_point_and_consolidated_files_are_set_aside_and_reported(tmp_path):
    data = tmp_path / "c.pkl"
    calls = []
    h = Harvester(counting(calls), data_name=str(data))
    h.harvest_combos({"x": [0, 1, 2, 3]})
    files = [Path(str(data) + ".k1sweep/points") / n for n in pointFiles(data)]
    files[0].write_bytes(b"garbage, not a pickle")
    raw = files[1].read_bytes()
    files[1].write_bytes(raw[: len(raw) // 2])  # what a kill mid-write would leave without atomic writes
    (files[2].parent / "leftover.pkl.abc123.tmp").write_bytes(b"half")  # a killed atomic write: ignored
    with pytest.warns(CorruptFileWarning, match="Set aside the unreadable file"):
        ds = h.full_ds
    assert int(ds["y"].notnull().sum()) == 2
    assert len(h.corrupt) == 2
    assert len(list((data.parent / "c.pkl.k1sweep" / "corrupt").iterdir())) == 2
    h.harvest_combos({"x": [0, 1, 2, 3]}, missing_only=True)
    assert len(calls) == 6
    h.consolidate()
    data.write_bytes(b"\x80\x05 truncated")
    with pytest.warns(CorruptFileWarning, match=r"c\.pkl"):
        assert h.full_ds is None
    assert any(p.name.startswith("c.pkl.corrupt-") for p in (data.parent / "c.pkl.k1sweep" / "corrupt").iterdir())


def test_two_processes_harvesting_one_store_keep_12_of_12(tmp_path):
    body = """
    import os, sys, time
    from k1widgets.farming import Harvester, label

    @label(var_names="y")
    def tenfold(x):
        time.sleep(0.01)
        return x * 10

    h = Harvester(tenfold, data_name=sys.argv[1], consolidateAt=2)  # consolidations race with writes
    xs = [int(v) for v in sys.argv[2].split(",")]
    print("READY", flush=True)
    while not os.path.exists(sys.argv[3]):
        time.sleep(0.005)
    for x in xs:
        h.harvest_combos({"x": [x]}, verbosity=0)
    print("DONE", flush=True)
    """
    data, go = tmp_path / "shared.pkl", tmp_path / "go"
    procs = [
        runScript(tmp_path, "writer.py", body, data, ",".join(map(str, xs)), go) for xs in (range(0, 6), range(6, 12))
    ]
    try:
        for p in procs:
            assert p.stdout.readline().strip() == "READY", p.stderr.read()
        go.touch()
        for p in procs:
            out, err = p.communicate(timeout=120)
            assert p.returncode == 0, err
            assert "DONE" in out
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    h = Harvester(None, data_name=str(data))
    assert h.full_ds["y"].values.tolist() == [10 * x for x in range(12)]  # xyzpy 1.3.5 kept 4 of 12
    h.consolidate()
    assert pointFiles(data) == []
    assert Harvester(None, data_name=str(data)).full_ds["y"].values.tolist() == [10 * x for x in range(12)]


_OPS = ("rename", "replace", "unlink", "fsync")


def _consolidateAndDie(data, killAt, after):
    """In a forked child: consolidate, SIGKILLing ourselves at file-system operation number ``killAt``."""
    count = [0]
    originals = {name: getattr(os, name) for name in _OPS}

    def wrap(name):
        def op(*a, **kw):
            count[0] += 1
            if count[0] == killAt and not after:
                os.kill(os.getpid(), signal.SIGKILL)
            result = originals[name](*a, **kw)
            if count[0] == killAt and after:
                os.kill(os.getpid(), signal.SIGKILL)
            return result

        return op

    for name in _OPS:
        setattr(os, name, wrap(name))  # this child process only: it dies or exits below
    Harvester(None, data_name=str(data)).consolidate()
    return count[0]


def _fork(fn, *args):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child never returns into pytest
        code = 1
        try:
            os.close(r)
            os.write(w, str(fn(*args)).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    out = os.read(r, 100).decode()
    os.close(r)
    _, status = os.waitpid(pid, 0)
    return out, status


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_kill_at_any_step_of_consolidation_never_loses_a_point(tmp_path):
    base = tmp_path / "base"
    base.mkdir()
    calls = []
    h = Harvester(counting(calls, fail={11}), data_name=str(base / "s.pkl"))
    h.harvest_combos({"x": list(range(6))})
    h.consolidate()  # 6 consolidated points
    h.harvest_combos({"x": list(range(6, 12))}, raise_errors=False)  # 5 more + 1 error, not consolidated

    def copy(name):
        d = tmp_path / name
        d.mkdir()
        shutil.copy2(base / "s.pkl", d / "s.pkl")
        shutil.copytree(base / "s.pkl.k1sweep", d / "s.pkl.k1sweep")
        return d / "s.pkl"

    def check(data):
        h = Harvester(None, data_name=str(data))
        assert h.full_ds["y"].sel(x=list(range(11))).values.tolist() == [2 * x for x in range(11)]
        assert [r["params"] for r in h.errors.values()] == [{"x": 11}]

    out, status = _fork(_consolidateAndDie, copy("dry"), 0, False)
    total = int(out)
    assert os.WEXITSTATUS(status) == 0 and total >= 10
    rng = random.Random(15)
    trials = [(rng.randint(1, total), rng.random() < 0.5) for _ in range(20)]
    for i, (killAt, after) in enumerate(trials):
        data = copy(f"trial{i}")
        _, status = _fork(_consolidateAndDie, data, killAt, after)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, (killAt, after)
        check(data)  # every point readable right after the kill
        Harvester(None, data_name=str(data)).consolidate()  # the next consolidation finishes the job
        check(data)
        assert pointFiles(data) == [] and not list((Path(str(data) + ".k1sweep") / "staging").iterdir())
    assert len({k for k, _ in trials}) >= 8  # the trials hit many different steps


def test_point_keys_ignore_parameter_order_and_keep_types():
    from k1widgets.farming import canonical, pointKey

    assert pointKey({"x": 1, "y": 0.3}) == pointKey({"y": canonical(0.1 * 3), "x": 1})
    keys = {pointKey({"x": v}) for v in (1, 1.0, True, "1")}
    assert len(keys) == 4
    assert all(k.replace("-", "").replace("=", "").replace("_", "").replace(".", "").isalnum() for k in keys)


def test_a_netcdf_store_round_trips_and_resumes(tmp_path):
    pytest.importorskip("h5py")  # the dev extra installs h5netcdf and h5py

    def f(x, y):
        return x * y, np.arange(3) * x

    runner = Runner(f, ["p", "c"], var_dims={"c": ["k"]}, var_coords={"k": [0, 1, 2]})
    path = str(tmp_path / "s.nc")
    h = Harvester(runner, data_name=path, engine="h5netcdf")
    h.harvest_combos({"x": [1, 2], "y": [3, 4]}, verbosity=0)
    h.consolidate()
    plain = xr.open_dataset(path, engine="h5netcdf")  # a real netCDF file, readable without k1widgets
    assert plain["p"].values.tolist() == [[3, 4], [6, 8]] and plain["c"].sel(x=2, y=3).values.tolist() == [0, 2, 4]
    plain.close()
    again = Harvester(runner, data_name=path, engine="h5netcdf")
    again.harvest_combos({"x": [1, 5], "y": [3]}, missing_only=True, verbosity=0)
    again.consolidate()
    ds = Harvester(None, data_name=path, engine="h5netcdf").full_ds
    assert ds["p"].sel(x=5, y=3).item() == 15 and ds["p"].sel(x=2, y=4).item() == 8
