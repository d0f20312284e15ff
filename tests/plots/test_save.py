"""Deterministic figure files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from survstudy.plots import ForestRow, plot_forest, plot_km, save_figure


def _render(out: Path, fx: ModuleType, *, tiff: bool = False, dpi: int = 300) -> list[Path]:
    t, e = fx.days(fx.PFS_MONTHS), fx.PFS_EVENT
    km = plot_km(
        [("A", fx.km_result(t[:6], e[:6])), ("B", fx.km_result(t[6:], e[6:]))],
        time_scale=fx.DAYS_PER_MONTH,
        conf_band=True,
        logrank_p=0.0403,
    )
    forest = plot_forest([ForestRow("x", 2.0, 1.0, 4.0, "0.05"), ForestRow("y", is_reference=True)])
    return save_figure(km, out / "km", tiff=tiff, dpi=dpi) + save_figure(
        forest, out / "forest", dpi=dpi
    )


def test_byte_identical_rerun(
    tmp_path: Path, fx: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Identity: two renders with SOURCE_DATE_EPOCH set give the same bytes in every format."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    a = _render(tmp_path / "a", fx, tiff=True, dpi=100)
    b = _render(tmp_path / "b", fx, tiff=True, dpi=100)
    assert [p.suffix for p in a] == [".png", ".svg", ".pdf", ".tiff", ".png", ".svg", ".pdf"]
    for pa, pb in zip(a, b, strict=True):
        assert pa.read_bytes() == pb.read_bytes(), pa.name
    pdf = a[2].read_bytes()
    assert b"D:20231114221320" in pdf  # 1700000000 s = 2023-11-14 22:13:20 UTC
    assert b"Matplotlib" not in pdf
    assert b"matplotlib.org" not in a[1].read_bytes()


def test_no_dates_without_source_date_epoch(
    tmp_path: Path, fx: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Property: without SOURCE_DATE_EPOCH no creation date is written at all."""
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    _png, svg, pdf, *_ = _render(tmp_path, fx, dpi=50)
    assert b"CreationDate" not in pdf.read_bytes()
    assert b"<dc:date>" not in svg.read_bytes()


def test_png_is_300_dpi(tmp_path: Path, fx: ModuleType) -> None:
    """Published requirement: PNG at 300 dpi (pHYs chunk read back with Pillow)."""
    from PIL import Image

    png = _render(tmp_path, fx)[0]
    with Image.open(png) as im:
        dpi = im.info["dpi"]
    assert dpi[0] == pytest.approx(300, abs=0.01)
    assert dpi[1] == pytest.approx(300, abs=0.01)


@pytest.mark.slow
def test_identical_across_processes(tmp_path: Path) -> None:
    """Identity: a fresh process with another hash seed and time zone writes the same SVG/PDF/PNG."""
    code = (
        "import sys, importlib.util, pathlib\n"
        "from survstudy.plots import plot_km, save_figure\n"
        f"spec = importlib.util.spec_from_file_location('fx', {str(Path(__file__).with_name('_fixtures.py'))!r})\n"
        "fx = importlib.util.module_from_spec(spec); spec.loader.exec_module(fx)\n"
        "km = fx.km_result(fx.days(fx.PFS_MONTHS), fx.PFS_EVENT)\n"
        "p = plot_km([('All', km)], time_scale=fx.DAYS_PER_MONTH, logrank_p=0.2)\n"
        "save_figure(p, pathlib.Path(sys.argv[1]) / 'km', dpi=100)\n"
    )
    outs = []
    for seed, tz in (("1", "UTC"), ("2", "Asia/Tokyo")):
        out = tmp_path / seed
        env = {**os.environ, "PYTHONHASHSEED": seed, "TZ": tz, "SOURCE_DATE_EPOCH": "1700000000"}
        subprocess.run([sys.executable, "-c", code, str(out)], check=True, env=env)
        outs.append(out)
    for ext in ("png", "svg", "pdf"):
        assert (outs[0] / f"km.{ext}").read_bytes() == (outs[1] / f"km.{ext}").read_bytes(), ext


def test_unknown_format_rejected(tmp_path: Path) -> None:
    """Contract: an unsupported format is refused before anything is written."""
    plot = plot_forest([ForestRow("x", 2.0, 1.0, 4.0)])
    with pytest.raises(ValueError, match="jpeg"):
        save_figure(plot, tmp_path / "f", formats=("png", "jpeg"))
    assert not list(tmp_path.iterdir())


def test_import_is_lazy() -> None:
    """Property: importing survstudy.plots does not import matplotlib (kept for drawing)."""
    code = "import sys, survstudy.plots; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "False"
