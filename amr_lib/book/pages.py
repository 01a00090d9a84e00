"""Committed results, provenance lines, the data switch, tables and glued values.

A chapter finds the committed JSON of ``book/data`` (:func:`data_dir`), reads a result
with the provenance file beside it (:func:`committed`), prints one line that says which
command, commit and machine made it (:func:`made_by`), and asks once whether the real data
is here (:func:`real_data`). A page shows a command as a reader types it and runs it in
the same process (:func:`amr`). Tables of seeded results show ``mean ± sd`` only where there
were several seeds (:func:`spread_cells`).
"""

from __future__ import annotations

import json
import re
import shlex
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from amr_lib import config
from amr_lib.experiments.results import LIVE_TOLERANCE, LiveCheck

if TYPE_CHECKING:
    import pandas as pd

COMMAND_WIDTH = 72       # characters of a provenance line before it wraps (a page's code box)


def data_dir(start: str | Path | None = None) -> Path:
    """``book/data`` of the checkout that holds ``start`` (default: the working folder,
    which is the chapter's own when the book builds)."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "book" / "data").is_dir():
            return folder / "book" / "data"
        if folder.name == "book" and (folder / "data").is_dir():
            return folder / "data"
    raise FileNotFoundError(f"no book/data folder in {here} or above it")


@dataclass(frozen=True)
class Committed:
    """A committed result (the parsed JSON) and what made it (its provenance)."""

    value: Any
    provenance: dict[str, Any]
    path: Path

    @property
    def made_by(self) -> str:
        return made_by(self.provenance)

    def defined_as_now(self, profile: str) -> tuple[bool, str]:
        """``(True, "")`` when the result was made under ``profile``'s definition as the
        code gives it now (:func:`amr_lib.profiles.profile_key`: its corpora, simulation
        and recipe), else ``(False, why)``: a sentence saying the live part that would
        recompute it beside the committed files is skipped, and how to regenerate them."""
        from amr_lib.profiles import load_profile, profile_key

        made = (self.provenance.get("profiles") or {}).get(profile)
        now = profile_key(load_profile(profile))
        if made == now:
            return True, ""
        return False, textwrap.fill(
            f"Live parts on {profile} skipped: {self.path.parent.name}/{self.path.name} "
            f"was made under {'definition ' + made if made else 'an older definition'} of "
            f"the {profile} profile and this code defines it as {now} (its simulation or "
            "recipe changed), so a live run would not ask the same queries. The committed "
            "numbers are shown; scripts/regenerate.py remakes them.", COMMAND_WIDTH)


def committed(name: str, folder: str | Path | None = None) -> Committed | None:
    """``name`` (e.g. ``table1_quick.json`` or ``occurrences_quick/occurrences.json``) with
    its provenance (``table1_quick.provenance.json``, or ``provenance.json`` in the same
    folder); ``None`` when the result is not committed. A result without its provenance
    is refused: a number nobody can trace is not shown."""
    path = Path(folder or data_dir()) / name
    if not path.is_file():
        return None
    beside = path.with_name(path.stem + ".provenance.json")
    provenance = beside if beside.is_file() else path.with_name("provenance.json")
    if not provenance.is_file():
        raise FileNotFoundError(f"{path}: no provenance file beside it ({beside.name} or "
                                "provenance.json)")
    return Committed(json.loads(path.read_text(encoding="utf-8")),
                     json.loads(provenance.read_text(encoding="utf-8")), path)


def made_by(provenance: Mapping[str, Any], width: int = COMMAND_WIDTH) -> str:
    """The command (its output folder as ``DIR``, wrapped between options at ``width``)
    and the commit, date, time taken and machine that made a committed result, in lines
    no wider than ``width``."""
    command = re.sub(r"--out \S+", "--out DIR", provenance["command"])
    minutes = provenance.get("seconds")
    took = f", {minutes / 60:.0f} min" if minutes is not None else ""
    numerics = provenance.get("numerics")          # recorded since issue 23
    kernels = (f",\n {numerics['cpu'][:48]}, {numerics['torch_cpu_capability']} kernels"
               if numerics else "")
    if numerics and numerics.get("fingerprint"):   # recorded since issue 24
        kernels += f", numerics {numerics['fingerprint']}"
    points = provenance.get("point_numerics")      # a grid read back or mixed
    if points and points != [(numerics or {}).get("fingerprint")]:
        kernels += f";\n its points made under numerics {', '.join(points)}"
    return (wrap_command(re.split(r" (?=--)", command), width)      # options stay whole
            + f"\n(commit {provenance['commit'][:10]}, {provenance['date']}{took},"
            + f"\n {provenance['machine']}{kernels})")


def wrap_command(words: Sequence[str], width: int = COMMAND_WIDTH) -> str:
    """``words`` joined by spaces into shell lines of at most ``width`` characters
    (where a word allows), continued with `` \\`` and indented."""
    lines = [""]
    for word in words:
        if lines[-1].strip() and len(lines[-1]) + len(word) + 3 > width:
            lines.append("   ")
        lines[-1] += (" " if lines[-1].strip() else "") + word
    return " \\\n".join(lines)


def real_data() -> tuple[bool, str]:
    """The one switch of a chapter with live parts on real data: ``(True, "")`` when
    ``AMR_DATA_ROOT`` names a folder, else ``(False, why)``, a sentence to print."""
    try:
        config.data_root()
    except (LookupError, FileNotFoundError) as missing:
        return False, f"Live parts on real data skipped: {missing}"
    return True, ""


def spread_cell(row: Mapping[str, Any], metric: str, decimals: int = 2) -> str:
    """``mean ± sd`` of ``metric`` in a result row; the mean alone for a row of one run
    (a deterministic method, or one seed), which has no spread to show."""
    value = f"{row[metric]:.{decimals}f}"
    if row.get("n_seeds", 1) > 1 and f"{metric}_std" in row:
        value += f" ± {row[f'{metric}_std']:.{decimals}f}"
    return value


def spread_cells(rows: Sequence[Mapping[str, Any]], keys: Sequence[str],
                 metrics: Sequence[str], decimals: int = 2) -> dict[tuple, dict[str, str]]:
    """``{(row[key] for key in keys): {metric: spread_cell}}``, ready for
    ``pandas.DataFrame(...).T``."""
    return {tuple(row[key] for key in keys): {m: spread_cell(row, m, decimals)
                                              for m in metrics}
            for row in rows}


def distinct(values: Sequence[float], decimals: int = 2, max_decimals: int = 6
             ) -> list[str]:
    """``values`` printed with the fewest decimals (at least ``decimals``, at most
    ``max_decimals``) at which those that differ no longer print alike: scores near 1,
    such as 0.99934 and 0.99847, would both read "1.00" at two."""
    places = decimals
    differ = len(set(values))
    while len({f"{v:.{places}f}" for v in values}) < differ and places < max_decimals:
        places += 1
    return [f"{v:.{places}f}" for v in values]


def glue_values(values: Mapping[str, Any]) -> None:
    """Glue every ``name: value`` for the prose (``{glue:text}`name```), showing nothing."""
    from myst_nb import glue

    for name, value in values.items():
        glue(name, value, display=False)


def amr(arguments: str, capture: bool = False) -> str | None:
    """Run ``amr ARGUMENTS`` here, split as a shell splits it (quotes kept together),
    after printing the command line (wrapped to the page); ``RuntimeError`` when it fails,
    so a broken recipe stops the page instead of showing an error the reader would copy.
    With ``capture``, what the command prints is returned instead of shown."""
    import contextlib
    import io

    from amr_lib.cli import main

    words = shlex.split(arguments)
    print(wrap_command(["$ amr", *(shlex.quote(word) for word in words)]))
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed) if capture else contextlib.nullcontext():
        status = main(words)
    if status != 0:
        raise RuntimeError(f"amr {arguments}: exit status {status}")
    return printed.getvalue() if capture else None


def live_checks(checks: Sequence[LiveCheck]) -> pd.DataFrame:
    """Require every check (:meth:`~amr_lib.experiments.results.LiveCheck.require`: a
    live seed under the committed numerics must repeat its committed values) and show
    them, one row each: whether it could compare, and the largest gap in points."""
    import pandas as pd

    rows = {}
    for check in checks:
        check.require()
        rows[check.what] = {
            "committed numerics": check.committed_numerics or "not recorded",
            "this machine": check.live_numerics,
            "profile definition": profile_state(check),
            "largest gap": f"{max(check.gaps.values(), default=0.0):.2f}",
            "result": "repeats" if check.passed else "cannot compare",
        }
    return pd.DataFrame(rows).T


def profile_state(check: LiveCheck) -> str:
    """Whether the committed run's profile is defined as the code defines it now."""
    if check.live_profile is None:
        return "not checked"
    if check.committed_profile is None:
        return "not recorded"
    return "same" if check.same_profile else "changed"


def live_summary(checks: Sequence[LiveCheck]) -> str:
    """One sentence for all ``checks``: that they repeat, or why they could not compare."""
    if not checks:
        return "No live value to check."
    if all(check.passed for check in checks):
        repeat = ("The live run repeats its committed seed" if len(checks) == 1 else
                  f"All {len(checks)} live runs repeat their committed seeds")
        return textwrap.fill(f"{repeat} (within {LIVE_TOLERANCE} points, numerics "
                             f"{checks[0].live_numerics}).", COMMAND_WIDTH)
    return next(check.sentence(COMMAND_WIDTH) for check in checks if not check.passed)


def claims_table(board: Sequence[Mapping[str, Any]], sources: Sequence[str | None]
                 ) -> pd.DataFrame:
    """The scoreboard rows (:mod:`amr_lib.experiments.scoreboard`) judged on ``sources``
    (committed file names; ``None`` for the claims the book cannot test): the paper's
    value and section, ours as ``A - B [95 % interval]`` in points, the verdict, and why
    a claim has no number."""
    import pandas as pd

    table = {}
    for row in board:
        if row["source"] not in sources:
            continue
        where = f" ({row['profile']}, {row['metric']})" if row["profile"] else ""
        ours = ("" if row["ours"] is None else
                f"{row['ours']:+.2f} [{row['ci_low']:+.2f}, {row['ci_high']:+.2f}]")
        table[row["claim"] + where] = {
            "the paper": f"{row['paper_value']}; {row['paper_section']}",
            "ours: difference [95 % CI]": ours, "verdict": row["verdict"],
            "why": row["reason"] or ""}
    return pd.DataFrame(table).T.rename_axis("claim")


def verdict_counts(board: Sequence[Mapping[str, Any]], sources: Sequence[str | None]
                   ) -> str:
    """``"2 agree, 1 unresolved"``: the verdicts of the claims judged on ``sources``."""
    verdicts = [row["verdict"] for row in board if row["source"] in sources]
    words = {"agrees": "agree", "contradicts": "contradict", "unresolved": "unresolved",
             "not tested here": "not tested here"}
    return ", ".join(f"{verdicts.count(v)} {w}" for v, w in words.items()
                     if v in verdicts) or "none"
