"""What every study shares: its result rows as JSON, the provenance of a committed file,
means and spreads over seeds, and reading rows back with a clear error.

A result row is a plain dict with the study's identifying fields, the means of
:data:`METRICS` (percent) and ``<metric>_std`` (the sample standard deviation over seeds,
0 for one run).
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from amr_lib.storage.atomic import atomic_write

METRICS = ("R1@0.5", "R1@0.7", "mAP@0.5", "mAP@0.75", "mAP")
PROVENANCE = "provenance.json"
# thresholds on a probability (AM-DETR's scores) where a study sweeps one
PROBABILITY_THRESHOLDS = np.round(np.linspace(0.05, 0.95, 19), 2)


def mean_and_spread(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value), 2 decimals."""
    array = np.asarray(values, dtype=np.float64)
    spread = float(array.std(ddof=1)) if len(array) > 1 else 0.0
    return round(float(array.mean()), 2), round(spread, 2)


def write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda temporary: temporary.write_text(
        json.dumps(value, indent=2) + "\n", encoding="utf-8"))


def provenance(command: str, seconds: float) -> dict[str, Any]:
    """What made a committed result: the command, the git commit, the machine, the time."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return {"command": command, "commit": commit, "seconds": round(seconds),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()} "
                       f"{platform.release()}",
            "date": time.strftime("%Y-%m-%d"), "numerics": numerics()}


def numerics() -> dict[str, str]:
    """What decides the last bits of this machine's float results: the CPU, the vector
    instructions torch's kernels use, and the library versions. Trained numbers made on
    another kind of CPU differ (training amplifies ulp differences), so a committed result
    records the kind that made it."""
    import numpy
    import torch

    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"cpu": cpu, "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "torch": torch.__version__, "numpy": numpy.__version__}


def read_rows(path: str | Path, fields: set[str], what: str) -> list[dict[str, Any]]:
    """A JSON list of result rows, each with ``fields`` and every metric with its spread;
    ``ValueError`` naming ``path`` and the row (``what`` it should be) otherwise."""
    path = Path(path)
    rows = json.loads(path.read_text(encoding="utf-8"))
    required = fields | set(METRICS) | {f"{m}_std" for m in METRICS}
    for number, row in enumerate(rows if isinstance(rows, list) else [None]):
        if not isinstance(row, dict) or not required <= set(row):
            raise ValueError(f"{path}: row {number} is not {what} (needs "
                             f"{', '.join(sorted(required))})")
    return rows


def find_row(rows: Sequence[dict[str, Any]], method: str, features: str) -> dict[str, Any]:
    for row in rows:
        if row["method"] == method and row["features"] == features:
            return row
    raise KeyError(f"no row for {method} with {features} features")


def within_spread(live: dict[str, float], row: dict[str, Any], sigmas: float = 2.0,
                  slack: float = 1.0) -> dict[str, bool]:
    """For each metric: is the live value within ``sigmas`` standard deviations (plus
    ``slack`` points, for arithmetic that differs between machines) of the row's mean?"""
    return {key: abs(live[key] - row[key]) <= sigmas * row[f"{key}_std"] + slack
            for key in METRICS}
