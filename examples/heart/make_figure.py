"""The README's figure: the naive comparison next to the Simon–Makuch curves.

Run from the repository root after ``survstudy run examples/heart/study.yaml``:

    python examples/heart/make_figure.py

It puts the report's two KM figures (``km_OS_by_transplant_ever.png``, naive: ever vs
never transplanted from acceptance; ``km_OS_by_transplant.png``, transplant as a
time-dependent covariate) side by side in ``docs/figures/heart_naive_vs_time_dependent.png``.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
FIG = ROOT / "examples" / "heart" / "out" / "figures"
OUT = ROOT / "docs" / "figures" / "heart_naive_vs_time_dependent.png"


def main() -> None:
    left = Image.open(FIG / "km_OS_by_transplant_ever.png").convert("RGB")
    right = Image.open(FIG / "km_OS_by_transplant.png").convert("RGB")
    height = max(left.height, right.height)
    both = Image.new("RGB", (left.width + right.width, height), "white")
    both.paste(left, (0, 0))
    both.paste(right, (left.width, 0))
    # README width: half the report's resolution is plenty
    both = both.resize((both.width // 2, height // 2), Image.LANCZOS)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    both.save(OUT, optimize=True)
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
