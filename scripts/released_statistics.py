"""Summarise the released Clotho-Moment annotations for the book (committed JSON).

Reads ``$AMR_DATA_ROOT/annotations/clotho_moment_{val,test}_release.jsonl`` and writes
``book/data/released_clotho_moment_statistics.json``: per split, the share of segments with
0/1/2/3+ events (empty segments inferred from the segment names) and histograms of event
starts and lengths. Chapter 2 compares its own simulation with these numbers;
tests/test_released_statistics.py checks the file still matches the annotations.

    AMR_DATA_ROOT=../shared/data python scripts/released_statistics.py
"""

from __future__ import annotations

import json
from pathlib import Path

from amr_lib.config import data_root
from amr_lib.lighthouse_jsonl import read_annotations
from amr_lib.simulation.statistics import statistics_from_annotations

OUTPUT = Path(__file__).resolve().parents[1] / "book/data/released_clotho_moment_statistics.json"
RELEASED_FILES = {"valid": "clotho_moment_val_release.jsonl",
                  "test": "clotho_moment_test_release.jsonl"}


def released_statistics(annotations_folder: Path) -> dict:
    return {split: statistics_from_annotations(read_annotations(annotations_folder / name)
                                               ).summary()
            for split, name in RELEASED_FILES.items()}


def main() -> None:
    summary = released_statistics(data_root() / "annotations")
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    for split, values in summary.items():
        print(split, values["num_segments"], "segments", values["events_per_segment_percent"])
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
