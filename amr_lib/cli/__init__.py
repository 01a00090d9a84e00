"""The ``amr`` command, one module per group of commands:

- :mod:`~amr_lib.cli.data`: ``amr evaluate GT.jsonl PRED.jsonl [--json]`` (Lighthouse's
  R1@IoU / mAP@IoU report), ``amr evaluate-sed REF.jsonl PRED.jsonl [--threshold T]``
  (zero-shot SED as the authors score it), ``amr fingerprint`` (this machine's numerics,
  :mod:`amr_lib.numerics`), ``amr describe A.jsonl ...`` (what a benchmark holds),
  ``amr simulate`` (a Clotho-Moment style split) and ``amr features`` (sliding-window
  features of a simulated split, in Lighthouse's layout);
- :mod:`~amr_lib.cli.models`: ``amr train --profile P --out DIR`` (a profile's whole chain,
  each stage from the cache when it exists; under ``torchrun`` with DDP), ``amr train
  --features DIR ...`` (released features) and ``amr predict`` (Lighthouse predictions by
  AM-DETR or the baseline, from audio or released features);
- :mod:`~amr_lib.cli.experiments`: ``amr experiment table1 | ablations | sed | occurrences
  | transfer`` (the book's studies as JSON with provenance) and ``amr experiment
  scoreboard`` (the paper's claims judged on the committed results);
- :mod:`~amr_lib.cli.use`: ``amr retrieve --checkpoint CKPT AUDIO QUERY [QUERY ...]``
  (moments per query, ``--json``, ``--plot``) and ``amr demo`` (a Gradio page).

Each module registers its parsers with a handler; a handler unpacks the arguments into
library calls with explicit values, so no argument namespace travels into the library.
Every error the library raises for bad input is printed as one line naming the problem.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence

from amr_lib import __version__
from amr_lib.audio import AudioError
from amr_lib.cli import data, experiments, models, use
from amr_lib.corpora.base import CorpusError
from amr_lib.lighthouse_jsonl import LighthouseFormatError

COMMAND_GROUPS = (data, models, experiments, use)     # help lists them in this order


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            status = args.handler(args)
        except (LighthouseFormatError, CorpusError, AudioError, FileNotFoundError,
                FileExistsError, ValueError) as error:
            print(f"amr {args.command}: error: {error}", file=sys.stderr)
            status = 2
    for warning in caught:
        print(f"amr {args.command}: warning: {warning.message}", file=sys.stderr)
    return status


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="amr", description="Language-based audio moment retrieval (amr_lib).")
    parser.add_argument("--version", action="version", version=f"amr_lib {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.register(commands)
    return parser
