"""Every notebook in notebooks/ runs top to bottom in a real kernel without errors."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))


# tour.ipynb is executed by tests/test_export.py (nbconvert --execute stops on the first error)
EXECUTED_HERE = [p for p in NOTEBOOKS if p.name != "tour.ipynb"]


@pytest.mark.slow
@pytest.mark.parametrize("path", EXECUTED_HERE, ids=[p.name for p in EXECUTED_HERE])
def test_notebook_runs(path, tmp_path):
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors, errors


def test_tour_notebook_is_up_to_date():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "make_tour", Path(__file__).parent.parent / "notebooks" / "make_tour.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    built = [c.source for c in mod.build().cells]
    saved = [
        c.source for c in nbformat.read(NOTEBOOKS[[p.name for p in NOTEBOOKS].index("tour.ipynb")], as_version=4).cells
    ]
    assert built == saved, "run `python notebooks/make_tour.py` after editing the tour"
