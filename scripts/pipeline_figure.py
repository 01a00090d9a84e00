"""Draw the book's pipeline figure (the intro's one picture of the data flow).

    python scripts/pipeline_figure.py   # writes book/images/pipeline.svg

Boxes are the stages of ``amr_lib`` in the order the data flows; the chapter that teaches
each stage is written under it. Stages not written yet are drawn dashed.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.patches import FancyBboxPatch

OUT = Path(__file__).resolve().parents[1] / "book/images/pipeline.svg"

# (x, y, label, chapter)
BOXES = {
    "clips": (0.0, 1.0, "clip corpus\n(captioned clips)", "Ch. 2"),
    "backgrounds": (0.0, 0.0, "background corpus\n(long recordings)", "Ch. 2"),
    "simulation": (1.0, 0.5, "simulation\n(Algorithm 1)", "Ch. 2"),
    "features": (2.0, 0.5, "features\n(sliding windows,\naudio + text encoders)", "Ch. 3"),
    "detr": (3.0, 1.0, "AM-DETR", "Ch. 4"),
    "baseline": (3.0, 0.0, "sliding-window\nbaseline", "Ch. 5"),
    "predictions": (4.0, 0.5, "ranked moments\n(Lighthouse JSONL)", "Ch. 4"),
    "metrics": (5.0, 0.5, "metrics\n(R1@IoU, mAP@IoU)", "Ch. 1, 5"),
}
ARROWS = [("clips", "simulation"), ("backgrounds", "simulation"), ("simulation", "features"),
          ("features", "detr"), ("features", "baseline"), ("detr", "predictions"),
          ("baseline", "predictions"), ("predictions", "metrics")]
WIDTH, HEIGHT = 0.78, 0.5


def main() -> None:
    fig, ax = plt.subplots(figsize=(11, 3.2))
    for x, y, label, chapter in BOXES.values():
        planned = not chapter.startswith("Ch.")
        ax.add_patch(FancyBboxPatch((x - WIDTH / 2, y - HEIGHT / 2), WIDTH, HEIGHT,
                                    boxstyle="round,pad=0.02",
                                    facecolor="white" if planned else "#e8f1fa",
                                    edgecolor="#2a6099", lw=1.2, ls="--" if planned else "-"))
        ax.text(x, y + 0.04, label, ha="center", va="center", fontsize=8.5)
        ax.text(x, y - HEIGHT / 2 + 0.06, chapter, ha="center", va="center", fontsize=7.5,
                color="#2a6099", style="italic")
    for start, end in ARROWS:
        (x0, y0, *_), (x1, y1, *_) = BOXES[start], BOXES[end]
        ax.annotate("", xy=(x1 - WIDTH / 2, y1), xytext=(x0 + WIDTH / 2, y0),
                    arrowprops={"arrowstyle": "->", "color": "0.3", "lw": 1.2})
    ax.set(xlim=(-0.5, 5.5), ylim=(-0.35, 1.35))
    ax.axis("off")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT, bbox_inches="tight", metadata={"Date": None})
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
