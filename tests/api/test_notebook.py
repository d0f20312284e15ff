"""examples/notebook.ipynb runs from top to bottom with the survstudy beside it.

Kinds of truth: property (every cell executes without an error; the committed notebook
carries no outputs); identity (the log-rank p and the Gray's test the notebook computes are the API's, which
tests/api/test_parity_cli.py and tests/api/test_competing.py tie to the command line and R).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "examples" / "notebook.ipynb"


def test_committed_notebook_has_no_outputs() -> None:
    """Property: outputs are never committed (they would go stale and bloat the diff)."""
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == []
            assert cell["execution_count"] is None


@pytest.mark.slow
def test_notebook_runs() -> None:
    """Property: every cell runs (nbclient, the ipykernel of this environment), and the
    notebook shows the figures and the HTML results it promises."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")

    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    kinds = {k for o in outputs for k in o.get("data", {})}
    assert {"image/png", "text/html"} <= kinds
    # the log-rank cell's HTML shows the p the API computes on the same data
    import pandas as pd

    import survstudy

    df = pd.read_csv(ROOT / "examples" / "gbsg" / "gbsg.csv")
    p = survstudy.logrank(df, "rfstime", "status", by="hormon").p_value
    html = "".join(o["data"].get("text/html", "") for o in outputs if "data" in o)
    assert f"p = {p:.3f}" in html
    # the competing-risks cell shows the Gray's test p the API computes (tests/api/
    # test_competing.py ties it to survstudy cif and cmprsk)
    mgus = pd.read_csv(ROOT / "examples" / "mgus2" / "mgus2.csv")
    cif = survstudy.cumulative_incidence(mgus, "time", "status", by="sex", cause=1, competing=2)
    assert cif.gray is not None
    assert f"Gray&#x27;s test for the event: chi-square {cif.gray.statistic:.2f} on 1 df" in html
    assert "Fine–Gray subdistribution hazards" in html
    # the missing-value cell prints the error line: its row and count from pandas' own
    # isna() (first row with a missing hgb, 1-based; rows with one), independent of survstudy
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    na = mgus[["time", "status", "age", "sex", "hgb"]].isna().any(axis=1)
    first, count = int(na.to_numpy().nonzero()[0][0]) + 1, int(na.sum())
    assert (
        f"[MISSING-VALUE] DataFrame, row {first}, column 'hgb': missing value; {count} rows of "
        f'{len(mgus)} have a missing value in the columns used; missing="drop" leaves them '
        "out, as survstudy cox --fine-gray does\n"
    ) in text
    assert f"{count} rows dropped (missing values)" in html
