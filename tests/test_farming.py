"""The xyzpy farming seed's examples (label, Runner, Harvester, Sampler, cultivate) and their semantics."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest
import xarray as xr

import k1widgets
from k1widgets.farming import Harvester, Runner, Sampler, SweepError, cultivate, label


def test_label_seed_example_repr_and_plain_call():
    @k1widgets.label(var_names=["sum", "diff"])
    def foo(x, y):
        return x + y, x - y

    assert isinstance(foo, Runner)
    assert re.fullmatch(
        r"<k1widgets.Runner>\n    fn: <function .*foo at 0x[0-9a-f]+>\n    fn_args: \('x', 'y'\)\n"
        r"    var_names: \('sum', 'diff'\)\n    var_dims: \{'sum': \(\), 'diff': \(\)\}",
        repr(foo),
    )
    assert foo(1, 2) == (3, -1)  # can still call it normally


def test_run_combos_builds_the_labelled_dataset():
    @label(
        var_names=["loss", "curve"], var_dims={"curve": ["epoch"]}, constants={"epoch": [0, 1, 2]}, attrs={"by": "me"}
    )
    def train(lr, hidden, epoch):
        return lr * hidden, np.array([lr * e for e in epoch])

    ds = train.run_combos({"lr": [0.1, 0.01, 1.0], "hidden": [8, 16]}, seed=0)
    assert dict(ds.sizes) == {"lr": 3, "hidden": 2, "epoch": 3}
    assert ds["lr"].values.tolist() == [0.1, 0.01, 1.0]  # the given order
    assert ds["loss"].sel(lr=0.01, hidden=16).item() == pytest.approx(0.16)
    assert ds["curve"].sel(lr=1.0, hidden=8).values.tolist() == [0.0, 1.0, 2.0]
    assert ds["epoch"].values.tolist() == [0, 1, 2]  # a constant used as a dimension is a coordinate
    assert ds.attrs["by"] == "me"
    assert train.last_ds is ds


def test_run_combos_constants_go_to_attrs_and_unknown_settings_are_named():
    @label(var_names="y", constants={"scale": 10})
    def f(x, scale):
        return x * scale

    ds = f.run_combos({"x": [1, 2]}, constants={"scale": 3})
    assert ds["y"].values.tolist() == [3, 6]
    assert ds.attrs["scale"] == 3
    with pytest.raises(TypeError, match=r"unknown setting 'num_worker'.*Did you mean 'num_workers'"):
        f.run_combos({"x": [1]}, num_worker=2)


def test_run_cases_fills_gaps_with_nan():
    @label(var_names=["sum"])
    def add(x, y):
        return x + y

    ds = add.run_cases([(1, 10), {"x": 2, "y": 20}])
    assert ds["sum"].sel(x=1, y=10).item() == 11
    assert np.isnan(ds["sum"].sel(x=1, y=20).item())


def test_var_names_none_takes_dicts_and_wrong_output_counts_are_point_errors():
    @label(var_names=None)
    def d(x):
        return {"a": x, "b": -x}

    assert d.run_combos({"x": [1, 2]})["b"].values.tolist() == [-1, -2]

    @label(var_names=["a", "b"])
    def bad(x):
        return x

    with pytest.raises(SweepError, match="returned one int, but var_names has 2"):
        bad.run_combos({"x": [1]})


@pytest.fixture
def calls():
    return []


def makeFoo(calls, fail=()):
    @label(var_names=["sum", "diff"])
    def foo(x, y):
        calls.append((x, y))
        if (x, y) in fail:
            raise RuntimeError(f"CUDA out of memory at {x},{y}")
        return x + y, x - y

    return foo


def test_harvest_combos_missing_only_runs_only_new_points(tmp_path, calls):
    h = Harvester(makeFoo(calls), data_name=str(tmp_path / "foo.pkl"))
    h.harvest_combos({"x": [1, 2], "y": [10, 20]})
    assert len(calls) == 4
    h.harvest_combos({"x": [1, 2, 3], "y": [10, 20, 30]}, missing_only=True)
    assert len(calls) == 9  # 5 of 9 ran
    assert int(h.last_ds["sum"].notnull().sum()) == 5  # the 5 points of this harvest
    h.harvest_combos({"x": [1, 2, 3], "y": [10, 20, 30]}, missing_only=True)
    assert len(calls) == 9  # then 0
    assert h.last_ds is None
    assert dict(h.full_ds.sizes) == {"x": 3, "y": 3}
    assert h.full_ds["sum"].sel(x=3, y=30).item() == 33
    # a fresh process sees the same data (nothing only in memory)
    code = (
        "from k1widgets.farming import Harvester; h = Harvester(None, data_name='foo.pkl'); "
        "print(int(h.full_ds['sum'].sum()), dict(h.full_ds.sizes))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"{int(h.full_ds['sum'].sum())} {{'x': 3, 'y': 3}}"


def test_harvest_ellipsis_means_every_value_present(tmp_path, calls):
    h = Harvester(makeFoo(calls), data_name=str(tmp_path / "foo.pkl"))
    h.harvest_combos({"x": [1, 2], "y": [10]})
    h.harvest_combos({"x": ..., "y": [20]})
    assert sorted(calls) == [(1, 10), (1, 20), (2, 10), (2, 20)]
    with pytest.raises(ValueError, match=r"combos\['z'\] is \.\.\."):
        h.harvest_combos({"z": ...})


def test_overwrite_none_true_false(tmp_path):
    value = {"v": 1}

    @label(var_names="y")
    def f(x):
        return x * value["v"]

    h = Harvester(f, data_name=str(tmp_path / "f.pkl"))
    h.harvest_combos({"x": [1, 2]})
    value["v"] = 10
    with pytest.raises(xr.MergeError, match="2 new results conflict"):
        h.harvest_combos({"x": [1, 2, 3]})  # overwrite=None: conflicts raise, after saving the rest
    assert h.full_ds["y"].values.tolist() == [1, 2, 30]  # old values kept, the new point saved
    h.harvest_combos({"x": [1]}, overwrite=False)
    assert h.full_ds["y"].values.tolist() == [1, 2, 30]
    h.harvest_combos({"x": [1]}, overwrite=True)
    assert h.full_ds["y"].values.tolist() == [10, 2, 30]
    value["v"] = 1
    h.harvest_combos({"x": [2]})  # the same value again: no conflict
    assert h.full_ds["y"].values.tolist() == [10, 2, 30]


def test_add_ds_merge_rules(tmp_path):
    h = Harvester(None, data_name=str(tmp_path / "d.pkl"))
    h.add_ds(xr.Dataset({"y": ("x", [1.0, 2.0])}, coords={"x": [1, 2]}))
    with pytest.raises(xr.MergeError):
        h.add_ds(xr.Dataset({"y": ("x", [5.0])}, coords={"x": [2]}))
    h.add_ds(xr.Dataset({"y": ("x", [5.0, 3.0])}, coords={"x": [2, 3]}), overwrite=False)
    assert h.full_ds["y"].values.tolist() == [1.0, 2.0, 3.0]
    h.add_ds(xr.Dataset({"y": ("x", [5.0])}, coords={"x": [2]}), overwrite=True)
    assert h.full_ds["y"].values.tolist() == [1.0, 5.0, 3.0]


def test_expand_dims_drop_sel_delete_ds(tmp_path, calls):
    h = Harvester(makeFoo(calls), data_name=str(tmp_path / "foo.pkl"))
    h.harvest_combos({"x": [1, 2], "y": [10]})
    h.expand_dims("seed", 0)
    assert dict(h.full_ds.sizes) == {"seed": 1, "x": 2, "y": 1}

    @label(var_names=["sum", "diff"])
    def seeded(x, y, seed):
        return x + y + seed, x - y

    h.runner = seeded
    h.harvest_combos({"seed": [1], "x": [1, 2], "y": [10]})
    assert h.full_ds["sum"].sel(seed=1, x=2, y=10).item() == 13
    assert h.full_ds["sum"].sel(seed=0, x=2, y=10).item() == 12
    h.drop_sel(seed=0)
    assert h.full_ds["seed"].values.tolist() == [1]
    h.drop_sel({"x": 1})
    assert h.full_ds["x"].values.tolist() == [2]
    h.delete_ds(backup=True)
    assert h.full_ds is None
    assert any(n.startswith("foo.pkl.BAK-") for n in os.listdir(tmp_path))


def test_failing_point_recorded_others_kept_and_retried_by_missing_only(tmp_path, calls):
    h = Harvester(makeFoo(calls, fail={(2, 20)}), data_name=str(tmp_path / "foo.pkl"))
    with pytest.raises(SweepError, match=r"1 of 4 points failed.*CUDA out of memory at 2,20") as e:
        h.harvest_combos({"x": [1, 2], "y": [10, 20]})
    assert len(e.value.errors) == 1
    assert int(h.full_ds["sum"].notnull().sum()) == 3
    (err,) = h.errors.values()
    assert "RuntimeError: CUDA out of memory" in err["error"] and "Traceback" in err["traceback"]
    h.runner = makeFoo(calls)
    h.harvest_combos({"x": [1, 2], "y": [10, 20]}, missing_only=True)
    assert calls[-1] == (2, 20) and len(calls) == 5
    assert h.errors == {}
    assert h.full_ds["sum"].sel(x=2, y=20).item() == 22


def test_raise_errors_false_collects_without_raising(calls):
    h = Harvester(makeFoo(calls, fail={(1, 10)}))  # in memory
    h.harvest_combos({"x": [1, 2], "y": [10]}, raise_errors=False)
    assert h.full_ds["sum"].sel(y=10).to_series().to_dict() == {2: 12}  # the failed point holds no data
    assert len(h.errors) == 1


def test_sampler_sample_combos_appends_rows_and_is_seeded(tmp_path):
    @label(var_names=["loss"])
    def f(lr, hidden):
        return lr * hidden

    s = Sampler(f, data_name=str(tmp_path / "samples.pkl"))
    df = s.sample_combos(5, {"lr": [0.1, 0.01], "hidden": [8, 16, 32]}, seed=0)
    assert len(df) == 5 and list(df.columns) == ["lr", "hidden", "loss"]
    s.sample_combos(5, {"lr": [0.1, 0.01], "hidden": [8, 16, 32]}, seed=0)
    full = s.full_df
    assert len(full) == 10
    assert (full["loss"] == full["lr"] * full["hidden"]).all()
    again = Sampler(f).gen_cases_fnargs(5, {"lr": [0.1, 0.01], "hidden": [8, 16, 32]}, seed=0)
    assert [dict(zip(["lr", "hidden"], r, strict=True)) for r in df[["lr", "hidden"]].values.tolist()] == again
    s.consolidate()
    assert len(Sampler(f, data_name=str(tmp_path / "samples.pkl")).full_df) == 10
    draws = Sampler(f).gen_cases_fnargs(3, {"lr": lambda: 0.5, "hidden": [1]})
    assert draws == [{"lr": 0.5, "hidden": 1}] * 3


def test_cultivate_runs_missing_points_and_never_prompts(tmp_path, calls):
    def foo(x, y):
        calls.append((x, y))
        return x * y

    path = str(tmp_path / "c.pkl")
    ds = cultivate(foo, var_names="prod", combos={"x": [1, 2], "y": [3, 4]}, data_name=path)
    assert ds["prod"].values.tolist() == [[3, 4], [6, 8]]
    ds = cultivate(foo, var_names="prod", combos={"x": [1, 2, 5], "y": [3, 4]}, data_name=path)
    assert len(calls) == 6 and ds["prod"].sel(x=5, y=4).item() == 20
    assert cultivate(foo, var_names="prod", combos={"x": [9]}, data_name=path, on_existing="skip").sizes["x"] == 3
    with pytest.raises(FileExistsError, match="on_existing='raise'"):
        cultivate(foo, var_names="prod", combos={"x": [1]}, data_name=path, on_existing="raise")
    with pytest.raises(ValueError, match="never prompts"):
        cultivate(foo, var_names="prod", combos={"x": [1]}, data_name=path, on_existing="ask")
    with pytest.raises(TypeError, match=r"gpus=0.*Dask or Ray"):
        cultivate(foo, var_names="prod", combos={"x": [1]}, gpus=0)


def test_harvester_cultivate_is_the_seeds_method(tmp_path, calls):
    def foo(x, y):
        calls.append((x, y))
        return x * y

    h = Harvester(Runner(foo, "prod"), data_name=str(tmp_path / "h.pkl"))
    ds = h.cultivate({"x": [1, 2], "y": [3, 4]}, verbosity=0)
    assert ds["prod"].values.tolist() == [[3, 4], [6, 8]] and len(calls) == 4
    ds = h.cultivate(combos={"x": [1, 2, 5], "y": [3, 4]}, num_workers=None, name="ignored", verbosity=0)
    assert len(calls) == 6 and ds["prod"].sel(x=5, y=3).item() == 15  # only the new points ran
    with pytest.raises(
        TypeError,
        match=r"Harvester.cultivate\(\) got an unexpected argument num_workerz=2.*"
        r"Did you mean 'num_workers'",
    ):
        h.cultivate({"x": [1]}, num_workerz=2)
    with pytest.raises(ValueError, match="never prompts"):
        h.cultivate({"x": [1]}, on_error="ask")


def test_harvest_cases_sync_false_and_save_full_ds(tmp_path, calls):
    path = str(tmp_path / "cases.pkl")
    h = Harvester(makeFoo(calls), data_name=path)
    h.harvest_cases([(1, 10), {"x": 2, "y": 20}])
    assert h.full_ds["sum"].sel(x=2, y=20).item() == 22
    h.harvest_combos({"x": [5], "y": [50]}, sync=False)  # in memory only, until save_full_ds
    assert h.full_ds["sum"].sel(x=5, y=50).item() == 55
    assert 5 not in Harvester(None, data_name=path).full_ds["x"].values.tolist()
    h.save_full_ds()
    on_disk = Harvester(None, data_name=path)
    assert on_disk.full_ds["sum"].sel(x=5, y=50).item() == 55
    assert on_disk.store.pending() == 0  # saving consolidated everything into the data file
    assert on_disk.load_full_ds().identical(on_disk.full_ds)


def test_a_netcdf_engine_that_is_not_installed_is_refused_at_once(tmp_path):
    try:
        xr.Dataset().to_netcdf(engine="h5netcdf")
        pytest.skip("h5netcdf works here (tests/test_farming_store.py stores netCDF)")
    except (ImportError, ValueError):
        pass
    with pytest.raises(ValueError, match=r"engine 'h5netcdf' cannot write netCDF here.*'pickle'.*pip install h5netcdf"):
        Harvester(Runner(lambda x: x, "y"), data_name=str(tmp_path / "n.nc"), engine="h5netcdf")
    assert not os.listdir(tmp_path)  # nothing written
