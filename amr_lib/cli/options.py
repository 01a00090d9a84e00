"""Option groups and argument types that several ``amr`` commands share, defined once."""

from __future__ import annotations

import argparse
import re

from amr_lib.config import DEFAULT_PROFILE, PROFILES

DEVICES = ("auto", "cpu", "cuda")         # and cuda:N for one GPU of several
_DEVICE = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


def device_name(text: str) -> str:
    """``--device``: auto, cpu, cuda or cuda:N (whether the GPU exists is checked when the
    command runs, with a one-line error)."""
    if not _DEVICE.match(text):
        raise argparse.ArgumentTypeError(f"invalid device {text!r}: choose auto, cpu, cuda "
                                         "or cuda:N")
    return text


def add_device(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument("--device", type=device_name, default=default,
                        metavar="{" + ",".join(DEVICES) + "}",
                        help=f"auto (CUDA when present), cpu, cuda or cuda:N "
                             f"(default {default})")


def add_clap_model(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--clap-model",
                        help="local CLAP folder, for checkpoints trained on CLAP features")


def add_profile_run(parser: argparse.ArgumentParser) -> None:
    """The options of a command that runs one profile's chain into a folder."""
    parser.add_argument("--profile", choices=PROFILES, default=DEFAULT_PROFILE)
    parser.add_argument("--out", required=True, help="output folder")
    add_device(parser, "auto")


def add_seeded_study(parser: argparse.ArgumentParser, clap_adds: str) -> None:
    """The options of ``amr experiment table1`` and ``ablations``: a profile's chain, with
    seeds, CLAP and an epoch override."""
    add_profile_run(parser)
    parser.add_argument("--seeds", type=int, default=3,
                        help="AM-DETR training seeds (default %(default)s)")
    parser.add_argument("--clap-model", help=f"CLAP hub id or local folder: adds {clap_adds}")
    parser.add_argument("--epochs", type=int, help="override the profile's number of epochs")


def instances(text: str) -> tuple[int, int]:
    try:
        fewest, most = (int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected FEWEST,MOST (two whole numbers), got "
                                         f"{text!r}") from None
    return fewest, most


def numbers(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}"
                                         ) from None


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def format_report(report: dict[str, float]) -> str:
    """An R1/mAP report as a table: one row per metric, one column per IoU threshold."""
    from amr_lib.metrics import IOU_THRESHOLDS

    header = "IoU     " + "".join(f"{t:>8.2f}" for t in IOU_THRESHOLDS) + f"{'avg':>8}"
    rows = [header]
    for metric in ("R1", "mAP"):
        values = "".join(f"{report[f'{metric}@{t:g}']:>8.2f}" for t in IOU_THRESHOLDS)
        average = f"{report['mAP']:>8.2f}" if metric == "mAP" else " " * 8
        rows.append(f"{metric:<8}{values}{average}")
    return "\n".join(rows)
