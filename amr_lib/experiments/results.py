"""What every study shares: its result rows as JSON, the provenance of a committed file
(with the numerics fingerprint that made it), means and spreads over seeds, reading rows
back with a clear error, and the live check of a chapter's rerun (:class:`LiveCheck`).

A result row is a plain dict with the study's identifying fields, the means of
:data:`METRICS` (percent) and ``<metric>_std`` (the sample standard deviation over seeds,
0 for one run), and, since per-seed values were recorded, ``per_seed`` entries
(:func:`seed_entry`).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import textwrap
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from amr_lib import profiles as definitions  # load_profile looked up when called
from amr_lib.config import TRANSFER_PROFILES
from amr_lib.numerics import describe, fingerprint
from amr_lib.profiles import Profile, profile_key
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
    """What made a committed result: the command, the git commit, the machine, the time,
    the numerics fingerprint (:func:`amr_lib.numerics.describe`) and the definition of
    each book profile (:func:`amr_lib.profiles.profile_key`)."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return {"command": command, "commit": commit, "seconds": round(seconds),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()} "
                       f"{platform.release()}",
            "date": time.strftime("%Y-%m-%d"), "numerics": describe(),
            "profiles": profile_definitions()}


def profile_definitions() -> dict[str, str]:
    """``{profile: profile_key}`` of each book profile as the code defines it now."""
    return {name: profile_key(definitions.load_profile(name)) for name in TRANSFER_PROFILES}


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


LIVE_TOLERANCE = 0.005    # points: a CPU run repeats to the bit; committed values have 2 decimals


@dataclass(frozen=True)
class LiveCheck:
    """A chapter's live run of one committed seed against that seed's committed values.

    A live run repeats a committed one exactly only where the numbers are made the same
    way: the same :func:`amr_lib.numerics.fingerprint`, and (where the chapter names its
    profile) the same definition of the profile (:func:`amr_lib.profiles.profile_key`: its
    simulation, encoder and training recipe). Then every metric must lie within
    :data:`LIVE_TOLERANCE` (:meth:`require` raises otherwise: the committed file is stale
    or the code changed a number). Under another fingerprint (another kind of CPU, or a
    file from before fingerprints were recorded) no tolerance would be a check (training
    amplifies last-bit differences into seed-sized ones), so the check says so instead.
    """

    what: str
    live: dict[str, float]
    committed: dict[str, float]
    committed_numerics: str | None
    live_numerics: str
    committed_profile: str | None = None    # profile keys; live None: not checked
    live_profile: str | None = None

    @property
    def same_profile(self) -> bool:
        return self.live_profile is None or self.committed_profile == self.live_profile

    @property
    def comparable(self) -> bool:
        return self.committed_numerics == self.live_numerics and self.same_profile

    @property
    def gaps(self) -> dict[str, float]:
        return {key: round(abs(self.live[key] - self.committed[key]), 4)
                for key in self.committed}

    @property
    def passed(self) -> bool:
        return self.comparable and max(self.gaps.values(), default=0.0) <= LIVE_TOLERANCE

    def require(self) -> LiveCheck:
        """``self`` when it passed or cannot compare; ``AssertionError`` naming the
        metrics that moved when it could compare and did not repeat."""
        if self.comparable and not self.passed:
            moved = {k: (self.live[k], self.committed[k]) for k, gap in self.gaps.items()
                     if gap > LIVE_TOLERANCE}
            raise AssertionError(f"{self.what}: the live run does not repeat the committed "
                                 f"one under the same numerics {self.live_numerics} "
                                 f"(live, committed): {moved}")
        return self

    def sentence(self, width: int = 72) -> str:
        """What was compared and what it showed, in lines of at most ``width`` characters
        (a page's code box)."""
        return textwrap.fill(self._sentence(), width)

    def _sentence(self) -> str:
        if self.passed:
            return (f"{self.what}: the live run repeats the committed one "
                    f"(every metric within {LIVE_TOLERANCE} points; numerics "
                    f"{self.live_numerics}).")
        if self.comparable:
            return (f"{self.what}: the live run does NOT repeat the committed one under the "
                    f"same numerics {self.live_numerics} (largest gap "
                    f"{max(self.gaps.values()):.2f} points).")
        largest = max(self.gaps.values(), default=0.0)
        if self.committed_numerics == self.live_numerics:     # the profile changed since
            made = (f"profile definition {self.committed_profile}" if self.committed_profile
                    else "before profile definitions were recorded")
            return (f"{self.what}: committed under the {made}, this code defines the "
                    f"profile as {self.live_profile} (its simulation, encoder or training "
                    f"recipe changed), so the live run cannot repeat it (largest gap "
                    f"{largest:.2f} points; regenerate with the command below for an "
                    f"exact check).")
        made = (f"numerics {self.committed_numerics}" if self.committed_numerics
                else "before numerics fingerprints were recorded")
        return (f"{self.what}: committed {made}, this machine computes numerics "
                f"{self.live_numerics}, so the live run cannot repeat it bit for bit "
                f"(largest gap {largest:.2f} points; regenerate with the command below "
                f"on this machine for an exact check).")


def committed_numerics(provenance: Mapping[str, Any]) -> str | None:
    """The fingerprint a committed result was made under (``None`` before they were
    recorded)."""
    numerics = provenance.get("numerics") or {}
    return numerics.get("fingerprint")


def seed_values(row: Mapping[str, Any], seed: int | None, metrics: Sequence[str] = METRICS
                ) -> dict[str, float]:
    """The committed values of ``seed`` in a result row: its ``per_seed`` entry, or the
    row itself for a deterministic method (``seed`` ``None``) or a row of that one seed.
    ``KeyError`` when the row does not hold that seed's values."""
    for entry in row.get("per_seed", ()):
        if entry["seed"] == seed:
            return {key: entry[key] for key in metrics}
    if seed is None or row.get("seeds") == [seed] or row.get("seed") == seed:
        return {key: row[key] for key in metrics}
    raise KeyError(f"the committed row holds no values of seed {seed} (rows written since "
                   "per-seed values were recorded hold them under 'per_seed')")


def live_check(what: str, live: Mapping[str, float], row: Mapping[str, Any],
               provenance: Mapping[str, Any], seed: int | None,
               metrics: Sequence[str] = METRICS, profiles: Sequence[Profile] = ()
               ) -> LiveCheck:
    """:class:`LiveCheck` of ``live`` against seed ``seed`` of ``row`` (a committed
    result with its ``provenance``), made with ``profiles`` (their definitions are then
    compared too: the model's, and the test split's where it is another). Where the two
    cannot compare, the row's mean stands in for a seed it does not hold, as information
    only."""
    made, here = committed_numerics(provenance), fingerprint()
    committed_profile = live_profile = None
    if profiles:
        recorded = provenance.get("profiles") or {}
        keys = [recorded.get(profile.name) for profile in profiles]
        committed_profile = None if None in keys else "+".join(keys)
        live_profile = "+".join(profile_key(profile) for profile in profiles)
    try:
        committed = seed_values(row, seed, metrics)
    except KeyError:
        if made == here and committed_profile == live_profile:
            raise
        committed = {key: row[key] for key in metrics}
    return LiveCheck(what, {key: float(live[key]) for key in metrics}, committed, made, here,
                     committed_profile, live_profile)


def seed_entry(seed: int | None, report: Mapping[str, float],
               queries: Mapping[str, Sequence[float]] | None = None) -> dict[str, Any]:
    """One ``per_seed`` entry of a result row: the seed (``None``: deterministic), its
    metrics, and its per-query values (percent, 2 decimals) for the evidence rule."""
    entry: dict[str, Any] = {"seed": seed, **{k: report[k] for k in METRICS if k in report}}
    if queries is not None:
        entry["queries"] = rounded_queries(queries)
    return entry


def stored_point(path: Path, made: Mapping[str, Any], required: Sequence[str] = ()
                 ) -> dict[str, Any] | None:
    """The grid point written at ``path`` when it was made as ``made`` says (each key equal:
    the numerics fingerprint, the profile's definition, ...) and holds every key of
    ``required``; ``None`` when it must be made again."""
    if not path.exists():
        return None
    stored = json.loads(path.read_text(encoding="utf-8"))
    if all(stored.get(key) == value for key, value in made.items()) and all(
            key in stored for key in required):
        return stored
    return None


def point_made(profile: Profile, epochs: int | None = None, clap_model: str | None = None
               ) -> dict[str, Any]:
    """What a grid point is keyed on: this machine's numerics, the profile's definition,
    and (only when given, so points made without them keep their keys) an epoch override
    and the CLAP weights of a CLAP run."""
    made: dict[str, Any] = {"numerics": fingerprint(), "profile": profile_key(profile)}
    if epochs is not None:
        made["epochs"] = epochs
    if clap_model is not None and profile.retrieval.encoder == "clap":
        made["clap_model"] = clap_model
    return made


def rounded_queries(queries: Mapping[str, Sequence[float]]) -> dict[str, list[float]]:
    """Per-query values as committed: plain floats, percent to 2 decimals."""
    return {metric: [round(float(v), 2) for v in values] for metric, values in queries.items()}
