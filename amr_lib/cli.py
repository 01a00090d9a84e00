"""The ``amr`` command.

``amr evaluate GT.jsonl PRED.jsonl [--json]``: Lighthouse's R1@IoU / mAP@IoU report.

Each subcommand parses its arguments and calls one library function with explicit values;
no argument namespace travels into the library.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Sequence

from amr_lib import __version__
from amr_lib.lighthouse_jsonl import LighthouseFormatError, read_annotations, read_predictions
from amr_lib.metrics import IOU_THRESHOLDS, evaluate


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            status = _evaluate(args.annotations, args.predictions, as_json=args.json)
        except (LighthouseFormatError, FileNotFoundError, ValueError) as error:
            print(f"amr {args.command}: error: {error}", file=sys.stderr)
            status = 2
    for warning in caught:
        print(f"amr {args.command}: warning: {warning.message}", file=sys.stderr)
    return status


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="amr", description="Language-based audio moment retrieval (amr_lib).")
    parser.add_argument("--version", action="version", version=f"amr_lib {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    evaluate_parser = commands.add_parser(
        "evaluate", help="R1@IoU and mAP@IoU of predictions, exactly as Lighthouse reports them",
        description="Score Lighthouse prediction JSONL against annotation JSONL. Values are "
                    "percentages rounded to 2 decimals.")
    evaluate_parser.add_argument("annotations", help="ground-truth JSONL (relevant_windows)")
    evaluate_parser.add_argument("predictions", help="prediction JSONL (pred_relevant_windows)")
    evaluate_parser.add_argument("--json", action="store_true",
                                 help="print one JSON object instead of the table")
    return parser


def _evaluate(annotations_path: str, predictions_path: str, as_json: bool) -> int:
    report = evaluate(read_annotations(annotations_path), read_predictions(predictions_path))
    print(json.dumps(report) if as_json else format_report(report))
    return 0


def format_report(report: dict[str, float]) -> str:
    """The report as a table: one row per metric, one column per IoU threshold."""
    header = "IoU     " + "".join(f"{t:>8.2f}" for t in IOU_THRESHOLDS) + f"{'avg':>8}"
    rows = [header]
    for metric in ("R1", "mAP"):
        values = "".join(f"{report[f'{metric}@{t:g}']:>8.2f}" for t in IOU_THRESHOLDS)
        average = f"{report['mAP']:>8.2f}" if metric == "mAP" else " " * 8
        rows.append(f"{metric:<8}{values}{average}")
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())
