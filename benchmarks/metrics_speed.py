"""How fast is `amr_lib.metrics.evaluate` at 100,000 queries x 10 predictions, on one core?

Target (issue 2): under 5 s. For comparison, the same semantics evaluated one query at a
time in plain Python (the oracle in tests/reference_metrics.py, timed on a subset and
scaled; Lighthouse's own loop also calls numpy per prediction, which is slower still).

End to end (issue 9): the whole ``amr evaluate GT PRED --json`` command (start-up, reading
both JSONL files, metrics) against Lighthouse's own evaluator
(``training/standalone_eval/eval.py`` of a line/lighthouse checkout given with
``--lighthouse DIR``) on the same files in the same run, both as fresh processes on one
core, with a check that both report the same numbers. Target: at least 8x.

    python benchmarks/metrics_speed.py [--queries N] [--lighthouse DIR] [--out FILE.json]

Prints the timings and ratios and writes them as JSON
(default: benchmarks/results/metrics_speed.json).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 5.0
TARGET_COMMAND_SPEEDUP = 8.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=100_000)
    parser.add_argument("--reference-queries", type=int, default=2_000,
                        help="subset timed with the per-query loop, then scaled")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lighthouse", type=Path,
                        help="a checkout of line/lighthouse: time its evaluator end to end")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/metrics_speed.json")
    args = parser.parse_args()
    all_cores = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(all_cores)})  # one core, as the target says

    import numpy as np

    from amr_lib.lighthouse_jsonl import (
        MomentAnnotation,
        MomentPrediction,
        read_predictions,
        write_predictions,
    )
    from amr_lib.metrics import evaluate

    sys.path.insert(0, str(REPO / "tests"))
    import reference_metrics

    gt, pred = synthetic_case(np.random.default_rng(args.seed), args.queries)
    annotations = [MomentAnnotation(q, "query", 60.0, "vid", w) for q, w in enumerate(gt)]
    predictions = [MomentPrediction(q, "query", "vid", w) for q, w in enumerate(pred)]

    start = time.perf_counter()
    report = evaluate(annotations, predictions)
    evaluate_seconds = time.perf_counter() - start

    path = args.out.with_suffix(".predictions.tmp.jsonl")
    write_predictions(path, predictions)
    start = time.perf_counter()
    read_predictions(path)
    read_seconds = time.perf_counter() - start
    path.unlink()

    n = min(args.reference_queries, args.queries)
    gt_lists = {q: gt[q].tolist() for q in range(n)}
    pred_lists = {q: pred[q].tolist() for q in range(n)}
    start = time.perf_counter()
    reference_report = reference_metrics.evaluate(gt_lists, pred_lists)
    reference_seconds = (time.perf_counter() - start) * args.queries / n
    subset_report = evaluate(annotations[:n], predictions[:n])
    assert subset_report == reference_report, "vectorised and per-query results differ"

    result = {
        "queries": args.queries,
        "predictions_per_query": 10,
        "cores": 1,
        "evaluate_seconds": round(evaluate_seconds, 3),
        "target_seconds": TARGET_SECONDS,
        "target_over_measured": round(TARGET_SECONDS / evaluate_seconds, 2),
        "read_jsonl_seconds": round(read_seconds, 3),
        "per_query_loop_seconds_scaled": round(reference_seconds, 1),
        "per_query_loop_measured_on_queries": n,
        "speedup_over_per_query_loop": round(reference_seconds / evaluate_seconds, 1),
        "mAP": report["mAP"],
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    print(f"evaluate: {args.queries:,} queries x 10 predictions in {evaluate_seconds:.2f} s "
          f"on one core (target {TARGET_SECONDS:.0f} s: {result['target_over_measured']}x "
          "under)")
    print(f"reading the prediction JSONL: {read_seconds:.2f} s")
    print(f"per-query loop, scaled from {n:,} queries: {reference_seconds:.0f} s "
          f"-> vectorised is {result['speedup_over_per_query_loop']}x faster")
    # the commands run on every core: Lighthouse's evaluator uses a process pool
    result["command"] = command_figures(annotations, predictions, args.lighthouse, all_cores)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


def best_wall_time(command: list[str], repeats: int, cores: set[int], **kwargs
                   ) -> tuple[float, str]:
    """Best wall time of ``repeats`` runs of ``command`` on ``cores``, and its last stdout."""
    times, stdout = [], ""
    for _ in range(repeats):
        start = time.perf_counter()
        stdout = subprocess.run(command, check=True, capture_output=True, text=True,
                                preexec_fn=lambda: os.sched_setaffinity(0, cores),
                                **kwargs).stdout
        times.append(time.perf_counter() - start)
    return min(times), stdout


def command_figures(annotations, predictions, lighthouse: Path | None,
                    cores: set[int]) -> dict:
    """``amr evaluate`` as a user runs it, and Lighthouse's evaluator on the same files."""
    from amr_lib.lighthouse_jsonl import write_annotations, write_predictions

    with tempfile.TemporaryDirectory() as folder:
        gt_path, pred_path = Path(folder) / "gt.jsonl", Path(folder) / "pred.jsonl"
        write_annotations(gt_path, annotations)
        write_predictions(pred_path, predictions)
        ours_s, stdout = best_wall_time(
            [sys.executable, "-m", "amr_lib.cli", "evaluate", str(gt_path), str(pred_path),
             "--json"], repeats=3, cores=cores)
        ours = json.loads(stdout)
        figures = {"cores": len(cores), "amr_evaluate_seconds": round(ours_s, 2)}
        print(f"amr evaluate (whole command): {ours_s:.2f} s")
        if lighthouse is None:
            return figures
        save = Path(folder) / "lighthouse_metrics.json"
        theirs_s, _ = best_wall_time(
            [sys.executable, str(lighthouse / "training/standalone_eval/eval.py"),
             "--submission_path", str(pred_path), "--gt_path", str(gt_path),
             "--save_path", str(save), "--not_verbose"], repeats=2, cores=cores,
            env={**os.environ, "PYTHONPATH": str(lighthouse / "training")})
        theirs = json.loads(save.read_text())["brief"]
        same = all(abs(theirs[f"MR-full-{name}"] - value) < 1e-9
                   for name, value in ours.items() if f"MR-full-{name}" in theirs)
    figures.update({"lighthouse_eval_seconds": round(theirs_s, 2),
                    "speedup_vs_lighthouse": round(theirs_s / ours_s, 2),
                    "target_speedup": TARGET_COMMAND_SPEEDUP,
                    "same_numbers_as_lighthouse": same})
    print(f"Lighthouse standalone_eval: {theirs_s:.2f} s -> amr evaluate is "
          f"{theirs_s / ours_s:.1f}x faster (target {TARGET_COMMAND_SPEEDUP:g}x); same numbers: "
          f"{same}")
    return figures


def synthetic_case(rng, num_queries: int):
    """One to three GT windows per query, 10 ranked predictions, half of them near a GT."""
    import numpy as np

    gt, pred = [], []
    num_gt = rng.integers(1, 4, num_queries)
    for count in num_gt:
        start = np.round(rng.uniform(0, 50, count), 1)
        windows = np.stack([start, np.round(start + rng.uniform(1, 10, count), 1)], axis=1)
        near = windows[rng.integers(0, count, 10)] + rng.normal(0, 1.5, (10, 2))
        far_start = rng.uniform(0, 55, 10)
        far = np.stack([far_start, far_start + rng.uniform(1, 10, 10)], axis=1)
        spans = np.where(rng.random((10, 1)) < 0.5, near, far).clip(0, 60)
        spans.sort(axis=1)
        scores = np.sort(rng.random(10))[::-1]
        gt.append(windows)
        pred.append(np.column_stack([spans, scores]))
    return gt, pred


if __name__ == "__main__":
    main()
