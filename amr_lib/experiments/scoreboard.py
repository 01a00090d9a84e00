"""The scoreboard: each claim of the paper, what it reports and where, and this book's
verdict on it from the committed results, by the one evidence rule
(:mod:`amr_lib.experiments.evidence`).

A row: ``claim``, ``source`` (the committed file it is judged on), ``paper_section``,
``paper_value``, ``profile`` (where the book tests it), ``metric``, ``ours`` (the
difference of means, points), ``ci_low``/``ci_high`` (its 95 % interval), ``verdict``
(``agrees`` / ``contradicts`` / ``unresolved`` / ``not tested here``) and ``reason`` (why
a claim is not tested, or what the committed file lacks). ``amr experiment scoreboard``
writes it as ``scoreboard.json`` from ``book/data``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amr_lib.experiments.evidence import compare_rows

SCOREBOARD = "scoreboard.json"
Rows = Sequence[Mapping[str, Any]]


@dataclass(frozen=True)
class Claim:
    """One claim of the paper and how the book tests it: ``a`` beats ``b`` (``direction``
    1) on ``metric``, both picked from a committed file by ``pick(rows, which)``; a claim
    with ``untestable`` set is listed with that reason instead."""

    claim: str
    paper_section: str
    paper_value: str
    metric: str = "mAP"
    source: str = ""                    # committed file under book/data
    a: tuple = ()
    b: tuple = ()
    direction: int = 1
    untestable: str = ""


def _table_row(rows: Rows, key: tuple) -> Mapping[str, Any] | None:
    method, features = key
    return next((r for r in rows if r["method"] == method and r["features"] == features),
                None)


def _study_row(rows: Rows, key: tuple) -> Mapping[str, Any] | None:
    study, value, method = key
    return next((r for r in rows if r["study"] == study and r["value"] == value
                 and r["method"] == method), None)


DETR, BASE, UNTRAINED = ("am-detr", "contrastive"), ("baseline", "contrastive"), (
    "am-detr", "contrastive-untrained")
BEATS_BASELINE = "AM-DETR beats the sliding-window baseline"
SHORT_WINDOWS_SUIT_DETR = "shorter windows suit AM-DETR (1 s against 7 s)"
BASELINE_PREFERS_LONG = "the baseline prefers longer windows (7 s against 1 s)"
CLAIMS = (
    Claim(BEATS_BASELINE, "V-C, Table I rows 3 vs 6", "R1@0.7 +9.00 (UnAV-100 subset, CLAP)",
          "R1@0.7", "table1_quick.json", DETR, BASE),
    Claim(BEATS_BASELINE, "V-C, Table I rows 3 vs 6", "average mAP +11.82 (UnAV-100 subset)",
          "mAP", "table1_quick.json", DETR, BASE),
    Claim(BEATS_BASELINE, "V-C, Table I rows 3 vs 6", "R1@0.7 +9.00 (UnAV-100 subset, CLAP)",
          "R1@0.7", "table1_real-sounds.json", DETR, BASE),
    Claim(BEATS_BASELINE, "V-C, Table I rows 3 vs 6", "average mAP +11.82 (UnAV-100 subset)",
          "mAP", "table1_real-sounds.json", DETR, BASE),
    Claim("contrastive training of the feature extractor helps", "V-C, Table I rows 4 vs 5",
          "R1@0.7 +29.00 (VR features, UnAV-100 subset)", "R1@0.7", "table1_quick.json",
          DETR, UNTRAINED),
    Claim("contrastive training of the feature extractor helps", "V-C, Table I rows 4 vs 5",
          "average mAP +23.11 (VR features, UnAV-100 subset)", "mAP", "table1_quick.json",
          DETR, UNTRAINED),
    Claim("contrastive training of the feature extractor helps", "V-C, Table I rows 4 vs 5",
          "R1@0.7 +29.00 (VR features, UnAV-100 subset)", "R1@0.7",
          "table1_real-sounds.json", DETR, UNTRAINED),
    Claim("contrastive training of the feature extractor helps", "V-C, Table I rows 4 vs 5",
          "average mAP +23.11 (VR features, UnAV-100 subset)", "mAP",
          "table1_real-sounds.json", DETR, UNTRAINED),
    *(claim for source in ("ablations_quick.json", "ablations_real-sounds.json") for claim in (
        Claim(SHORT_WINDOWS_SUIT_DETR, "V-C, Fig. 3 left", "qualitative (UnAV-100 subset)",
              "mAP", source, ("window", 1.0, "am-detr"), ("window", 7.0, "am-detr")),
        Claim(BASELINE_PREFERS_LONG, "V-C, Table I", "qualitative", "mAP", source,
              ("window", 7.0, "baseline"), ("window", 1.0, "baseline")))),
    Claim("more simulated training data helps (full split against one eighth)",
          "V-C, Fig. 3 right", "qualitative, not saturated (UnAV-100 subset)", "mAP",
          "ablations_quick.json", ("data", 1.0, "am-detr"), ("data", 0.125, "am-detr")),
    Claim("more simulated data keeps helping beyond the split (2x against 1x)",
          "V-C, Fig. 3 right", "qualitative: not saturated, more expected to help",
          "mAP", "ablations_quick.json", ("data", 2.0, "am-detr"), ("data", 1.0, "am-detr")),
    Claim("VR and CLAP features give comparable AMR results", "V-C, Table I rows 5 vs 6",
          "qualitative", untestable="neither MS-CLAP nor VAST/RoBERTa weights are reachable "
                                    "here; the book's encoders stand in for them"),
    Claim("AM-DETR reaches over 77 % of a supervised SED model's F1", "V-C, V-B",
          "> 77 % (TUT Sound Events 2017)",
          untestable="TUT Sound Events 2017 is not available here; Chapter 8 measures the "
                     "share on the book's synthetic SED recordings, against its own "
                     "supervised references"),
    Claim("AM-DETR is less sensitive to the SED threshold than SED-CLAP", "V-C",
          "qualitative (TUT Sound Events 2017)",
          untestable="needs CLAP features (the book's sliding window runs on its own "
                     "encoder) and TUT Sound Events 2017"),
    Claim("results on the UnAV-100 subset", "III-B, V-C, Table I", "Table I",
          untestable="the UnAV-100 videos and the authors' 100 annotated queries are not "
                     "available here"),
)


def _pick(source: str) -> Callable[[Rows, tuple], Mapping[str, Any]]:
    return _study_row if source.startswith("ablations") else _table_row


def score(claim: Claim, data: Path) -> dict[str, Any]:
    """One scoreboard row for ``claim`` from the committed files under ``data``."""
    row: dict[str, Any] = {
        "claim": claim.claim, "source": claim.source or None,
        "paper_section": claim.paper_section,
        "paper_value": claim.paper_value,
        "profile": claim.source.removesuffix(".json").split("_", 1)[-1] if claim.source
        else None,
        "metric": claim.metric if claim.source else None,
        "ours": None, "ci_low": None, "ci_high": None, "reason": claim.untestable}
    if claim.untestable:
        return {**row, "verdict": "not tested here"}
    path = data / claim.source
    if not path.is_file():
        return {**row, "verdict": "unresolved", "reason": f"{claim.source} is not committed"}
    rows = json.loads(path.read_text(encoding="utf-8"))
    pick = _pick(claim.source)
    a, b = pick(rows, claim.a), pick(rows, claim.b)
    if a is None or b is None:
        missing = claim.a if a is None else claim.b
        return {**row, "verdict": "unresolved",
                "reason": f"{claim.source} has no row {', '.join(map(str, missing))}"}
    difference = compare_rows(a, b, claim.metric)
    if difference is None:
        return {**row, "verdict": "unresolved",
                "reason": f"{claim.source} holds no per-query values (made before they were "
                          "recorded); regenerate it with the command of its provenance"}
    return {**row, "ours": difference.mean, "ci_low": difference.low,
            "ci_high": difference.high, "verdict": difference.verdict(claim.direction)}


def scoreboard(data: str | Path, claims: Sequence[Claim] = CLAIMS) -> list[dict[str, Any]]:
    """Every claim's row (see the module docstring)."""
    return [score(claim, Path(data)) for claim in claims]


def markdown(rows: Sequence[Mapping[str, Any]]) -> str:
    """The scoreboard as a Markdown table (the intro page includes it): claim and where
    the paper makes it, the paper's value, ours with its interval, the verdict."""
    lines = ["| claim | the paper | profile, metric | ours: difference [95 % CI] | verdict |",
             "|---|---|---|---|---|"]
    for row in rows:
        ours = ("" if row["ours"] is None else
                f"{row['ours']:+.2f} [{row['ci_low']:+.2f}, {row['ci_high']:+.2f}]")
        where = f"{row['profile']}, {row['metric']}" if row["profile"] else ""
        verdict = f"{row['verdict']}: {row['reason']}" if row["reason"] else row["verdict"]
        lines.append(f"| {row['claim']} | {row['paper_value']} ({row['paper_section']}) | "
                     f"{where} | {ours} | {verdict} |")
    return "\n".join(lines) + "\n"
