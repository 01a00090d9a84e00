"""Regenerate the committed results of book/data under this machine's numerics.

Each study is the `amr experiment` command its provenance names; its output is copied into
book/data (with its provenance beside it), and the scoreboard is rebuilt after each one.
A study whose committed provenance already carries this machine's numerics fingerprint and
the current definitions of the profiles it reads is skipped, and every study resumes from the
cache and from its output folder, so a regeneration of several CPU hours spans sessions: run
the same command again. The beyond-the-paper grids take CPU days and run with
``--any-numerics``: a finished grid of another kind of machine is read back whole, without
training (its fingerprint listed as ``point_numerics`` in the provenance; it is never
current here, so each regeneration reads it back again); an unfinished one is finished
under this machine's numerics alone, remaking the points of any other (a machine's numerics
train its own contrastive encoder, so a grid is never mixed).

    python scripts/regenerate.py                    # every study, cheapest first
    python scripts/regenerate.py --only sed table1_quick --runs /work/runs/regen

Studies write each finished seed to ``<runs>/<study>/points/`` as it ends. The default
``--runs`` is the repository's ``grids/``, whose ``points/`` folders are committed (the rest
is ignored), so a grid that outlives a session, and its machine's run cache, resumes on the
next machine of the same numerics from the commit (on other numerics a beyond grid is
remade, see above).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "book" / "data"
BEYOND_EXTRAS = ("features_presence.json",)     # what the features tell, beside the recipes


@dataclass(frozen=True)
class Study:
    name: str
    arguments: tuple[str, ...]      # after `amr experiment`, without --out
    result: str                     # the file the study writes in its output folder
    target: str                     # where it goes in book/data (a file or a folder)
    extras: tuple[str, ...] = ()    # further files of its folder a folder target gets

    def output(self, runs: Path) -> Path:
        """Its output folder under ``runs``: its own, so no study remakes another's
        points."""
        return runs / self.name

    def profiles(self, every: list[str]) -> list[str]:
        """The profiles whose definitions the study's numbers depend on: its --profile,
        or ``every`` book profile for a study across profiles (transfer)."""
        if "--profile" in self.arguments:
            return [self.arguments[self.arguments.index("--profile") + 1]]
        return every

    def committed_provenance(self) -> Path:
        target = DATA / self.target
        if target.suffix == ".json":
            return target.with_name(target.stem + ".provenance.json")
        return target / "provenance.json"


STUDIES = (
    Study("sed", ("sed", "--profile", "quick"), "sed.json", "sed_quick.json"),
    Study("table1_quick", ("table1", "--profile", "quick", "--seeds", "3"), "table1.json",
          "table1_quick.json"),
    Study("occurrences", ("occurrences", "--profile", "quick"), "occurrences.json",
          "occurrences_quick"),
    Study("recipe_search_real-sounds", ("recipe-search", "--profile", "real-sounds"),
          "recipe_search.json", "recipe_search_real-sounds.json"),
    Study("table1_real-sounds", ("table1", "--profile", "real-sounds", "--seeds", "5"),
          "table1.json", "table1_real-sounds.json"),
    # the window study's 1 s point and the fidelity study's QD-DETR arm are Table I's runs
    # (3 seeds for the window study, as on quick; the fidelity question asks for 5)
    Study("ablations_real-sounds", ("ablations", "--profile", "real-sounds", "--seeds", "3",
                                    "--studies", "window", "--reuse-points",
                                    "{runs}/table1_real-sounds/points"),
          "ablations.json", "ablations_real-sounds.json"),
    Study("fidelity_real-sounds", ("ablations", "--profile", "real-sounds", "--seeds", "5",
                                   "--studies", "fidelity", "--reuse-points",
                                   "{runs}/table1_real-sounds/points"),
          "ablations.json", "fidelity_real-sounds.json"),
    Study("fidelity_quick", ("ablations", "--profile", "quick", "--seeds", "5", "--studies",
                             "fidelity"), "ablations.json", "fidelity_quick.json"),
    Study("transfer_real0", ("transfer", "--seeds", "1", "--trained-on", "real-sounds",
                             "--no-mix"), "transfer.json", "transfer_real-sounds_seed0"),
    Study("transfer", ("transfer", "--seeds", "3"), "transfer.json", "transfer.json"),
    # beyond the paper: each recipe against AM-DETR as published (its paper arm is Table I's
    # runs, reused from the run cache when this machine has them). These grids take CPU
    # days: a finished one of another machine is read back whole (--any-numerics)
    Study("beyond_quick", ("beyond", "--profile", "quick", "--seeds", "3", "--any-numerics"),
          "beyond.json", "beyond_quick", extras=BEYOND_EXTRAS),
    Study("beyond_real-sounds", ("beyond", "--profile", "real-sounds", "--seeds", "3",
                                 "--any-numerics"),
          "beyond.json", "beyond_real-sounds", extras=BEYOND_EXTRAS),
    # absent-pair training must not collapse present queries at any share: aware at a
    # range of shares against the published model, one seed each (a collapse is tens of
    # points, far beyond one seed's spread; the runs take 15-20 min on quick, 45-60 on real
    # sounds). Each in a folder of its own: the share grid may be made on a machine of
    # other numerics than the finished main grid, and must not remake the main grid's
    # points (its paper and 0.25 points are the main grid's runs, from the run cache when
    # the same machine made both)
    Study("beyond_shares_quick", ("beyond", "--profile", "quick", "--seeds", "1", "--recipes",
                                  "paper,aware", "--absent-shares", "0.1,0.25,0.5",
                                  "--any-numerics"),
          "beyond.json", "beyond_shares_quick", extras=BEYOND_EXTRAS),
    Study("beyond_shares_real-sounds", ("beyond", "--profile", "real-sounds", "--seeds", "1",
                                        "--recipes", "paper,aware", "--absent-shares",
                                        "0.1,0.25,0.5", "--any-numerics"),
          "beyond.json", "beyond_shares_real-sounds", extras=BEYOND_EXTRAS),
    Study("ablations", ("ablations", "--profile", "quick", "--seeds", "3", "--data-scales",
                        "0.125,0.25,0.5,1,2"), "ablations.json", "ablations_quick.json"),
)


def fingerprint() -> str:
    from amr_lib.numerics import fingerprint as compute

    return compute()


def is_current(study: Study, here: str) -> bool:
    """Made under this machine's numerics and the definitions the code gives now of the
    profiles the study reads (a change of another profile leaves it current)."""
    from amr_lib.config import TRANSFER_PROFILES
    from amr_lib.profiles import load_profile, profile_key

    path = study.committed_provenance()
    if not path.is_file() or not all((DATA / study.target / name).is_file()
                                     for name in study.extras):
        return False
    made = json.loads(path.read_text(encoding="utf-8"))
    recorded = made.get("profiles") or {}
    return ((made.get("numerics") or {}).get("fingerprint") == here
            # a grid read back from another machine (--any-numerics) is not current: it
            # is read back again (cheaply) on each regeneration
            and made.get("point_numerics", [here]) == [here]
            and all(recorded.get(name) == profile_key(load_profile(name))
                    for name in study.profiles(list(TRANSFER_PROFILES))))


def run(study: Study, runs: Path) -> None:
    # inside the repository, folders are named from its root (the command runs there), so
    # the provenance a page prints holds no machine path
    if runs.resolve().is_relative_to(ROOT):
        runs = runs.resolve().relative_to(ROOT)
    out = study.output(runs)
    # "{runs}" in an argument names another study's output folder in this regeneration
    arguments = [argument.replace("{runs}", str(runs)) for argument in study.arguments]
    command = [str(Path(sys.executable).with_name("amr")), "experiment", *arguments,
               "--out", str(out)]
    print("$", " ".join(command), flush=True)
    subprocess.run(command, check=True, cwd=ROOT)
    out = ROOT / out
    target = DATA / study.target
    if target.suffix == ".json":                  # one file and its provenance beside it
        shutil.copyfile(out / study.result, target)
        shutil.copyfile(out / "provenance.json", study.committed_provenance())
    else:                                         # a folder: result, provenance, predictions
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        for name in (study.result, "provenance.json", *study.extras):
            shutil.copyfile(out / name, target / name)
        if (out / "predictions").is_dir():
            shutil.copytree(out / "predictions", target / "predictions")
    subprocess.run([str(Path(sys.executable).with_name("amr")), "experiment", "scoreboard"],
                   check=True, cwd=ROOT)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=[s.name for s in STUDIES],
                        help="these studies only (default: all, cheapest first)")
    parser.add_argument("--runs", type=Path, default=ROOT / "grids",
                        help="output folders of the studies (kept: a rerun resumes there; "
                             "commit their points/ to resume on another machine of "
                             "the same numerics)")
    parser.add_argument("--force", action="store_true",
                        help="rerun studies already made under this machine's numerics")
    args = parser.parse_args()
    here = fingerprint()
    print(f"numerics fingerprint {here}")
    for study in STUDIES:
        if args.only and study.name not in args.only:
            continue
        if is_current(study, here) and not args.force:
            print(f"{study.name}: committed under {here} already")
            continue
        run(study, args.runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
