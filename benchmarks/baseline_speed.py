"""How fast is the baseline's tuning grid, scored at once, against one setting at a time?

`amr_lib.baseline.grid_average_map` scores every (threshold, filter length) setting of the
validation grid in one vectorised pass per filter length. The reference, timed in the same
run on the same curves, is the plain way: for each setting, `baseline.predict` (per query)
and `metrics.evaluate`. Both must give the same average mAP for every setting (checked).
The curves are synthetic: events at higher similarity than a noisy background, at the
Clotho-Moment validation scale (about 3,000 queries of 60 one-second frames) by default.

    python benchmarks/baseline_speed.py [--queries N] [--reference-settings M] [--out F]

The reference loop is timed on ``M`` settings and scaled to the whole grid. Prints the
timings and the ratio, and writes them as JSON (default:
benchmarks/results/baseline_speed.json).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from amr_lib.baseline import (
    FILTER_LENGTHS,
    BaselineParams,
    grid_average_map,
    predict,
    threshold_grid,
)
from amr_lib.lighthouse_jsonl import MomentAnnotation
from amr_lib.metrics import evaluate

REPO = Path(__file__).resolve().parents[1]
FRAMES = 60
HOP_S = 1.0


def synthetic_curves(queries: int, seed: int) -> tuple[list[np.ndarray], list]:
    """Noisy curves with one raised event each, and their annotations."""
    rng = np.random.default_rng(seed)
    curves, annotations = [], []
    for qid in range(queries):
        curve = rng.normal(0.1, 0.08, FRAMES)
        start = int(rng.integers(0, FRAMES - 3))
        end = int(rng.integers(start + 1, min(start + 20, FRAMES) + 1))
        curve[start:end] += rng.uniform(0.05, 0.4)
        curves.append(curve)
        annotations.append(MomentAnnotation(qid, "q", float(FRAMES), f"v{qid}",
                                            np.array([[start, end]], float)))
    return curves, annotations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=3_000)
    parser.add_argument("--reference-settings", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path,
                        default=REPO / "benchmarks/results/baseline_speed.json")
    args = parser.parse_args()
    curves, annotations = synthetic_curves(args.queries, args.seed)
    thresholds = threshold_grid(curves)
    settings = [(f, h) for f in range(len(FILTER_LENGTHS)) for h in range(len(thresholds))]

    started = time.perf_counter()
    grid = grid_average_map(curves, annotations, thresholds, FILTER_LENGTHS, HOP_S)
    grid_s = time.perf_counter() - started

    picked = np.random.default_rng(args.seed).choice(len(settings), args.reference_settings,
                                                     replace=False)
    started = time.perf_counter()
    for index in picked:
        f, h = settings[index]
        params = BaselineParams(thresholds[h], FILTER_LENGTHS[f])
        report = evaluate(annotations, predict(curves, annotations, params, HOP_S))
        # the report rounds to 2 decimals; the grid keeps full precision
        assert abs(report["mAP"] - grid[f, h]) <= 0.006, (f, h, report["mAP"], grid[f, h])
    loop_s = (time.perf_counter() - started) * len(settings) / len(picked)

    result = {
        "queries": args.queries, "frames": FRAMES, "settings": len(settings),
        "grid_seconds": round(grid_s, 3),
        "loop_seconds_scaled": round(loop_s, 2),
        "reference_settings_timed": args.reference_settings,
        "speedup": round(loop_s / grid_s, 1),
        "same_average_map": True,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()}",
        "date": time.strftime("%Y-%m-%d"),
    }
    print(f"{len(settings)} settings x {args.queries} queries: grid {grid_s:.2f} s, "
          f"one setting at a time {loop_s:.1f} s (scaled from {len(picked)}): "
          f"{result['speedup']}x; every checked setting has the same average mAP")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
