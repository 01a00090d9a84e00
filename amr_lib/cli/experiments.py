"""``amr experiment table1 | recipe-search | ablations | sed | occurrences | transfer |
beyond``: the studies behind the book's tables, each written as JSON with the provenance of
the run."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from amr_lib.cli.options import add_device, add_profile_run, add_seeded_study, numbers
from amr_lib.config import TRANSFER_PROFILES


def register(commands: argparse._SubParsersAction) -> None:
    experiment = commands.add_parser(
        "experiment", help="run a paper experiment end to end (cached, JSON out)",
        description="Experiments behind the book's tables; every stage is reused from the "
                    "cache when it exists.")
    experiments = experiment.add_subparsers(dest="experiment", metavar="EXPERIMENT",
                                            required=True)
    table1 = experiments.add_parser(
        "table1", help="Table I: the sliding-window baseline vs AM-DETR, with blind controls",
        description="On the profile's test split: the baseline with each joint-space "
                    "encoder (tuned on validation), AM-DETR with each encoder over N "
                    "training seeds, AM-DETR reading other recordings' queries, and the "
                    "best constant moment. Writes OUT/table1.json, OUT/provenance.json, "
                    "OUT/baseline_<features>.json and OUT/checkpoints/.")
    add_seeded_study(table1, clap_adds="CLAP rows")
    table1.set_defaults(handler=_table1)

    search = experiments.add_parser(
        "recipe-search", help="choose a profile's model preset, learning rate and amount of "
                              "simulated data on validation",
        description="From the profile's corpora and simulation with the quick recipe's "
                    "schedule, cap and patience: the quick and paper presets at learning "
                    "rates 3e-4 and 6e-4 on the training split, then the best on 2x, 4x, 8x "
                    "re-simulations while each doubling gains at least 1 point of "
                    "validation average mAP. The test split is never scored. Writes "
                    "OUT/recipe_search.json and OUT/provenance.json; each run is kept in "
                    "OUT/points/.")
    add_profile_run(search)
    search.add_argument("--epochs", type=int, help="override the recipe's epoch cap")
    search.set_defaults(handler=_recipe_search)

    beyond = experiments.add_parser(
        "beyond", help="the beyond-the-paper recipes against AM-DETR as published",
        description="Each recipe (paper, presence, class-aware, in-recording, aware) over N "
                    "training seeds on the profile's test split: R1/mAP and landings on "
                    "present queries, the calibrated presence probability on present and "
                    "absent pairs by class (AUROC, ECE, kept and refused), and zero-shot SED "
                    "F1; and, on the same pairs, what the features tell before training (the "
                    "best window similarity in the joint audio-text space). Writes "
                    "OUT/beyond.json, "
                    "OUT/features_presence.json and OUT/provenance.json; each point is kept "
                    "in OUT/points/, so a rerun continues where an interrupted one stopped.")
    add_profile_run(beyond)
    beyond.add_argument("--seeds", type=int, default=3,
                        help="training seeds (default %(default)s)")
    beyond.add_argument("--recipes", default="paper,presence,class-aware,in-recording,aware",
                        type=_recipe_list, help="comma-separated recipes (default all)")
    beyond.add_argument("--absent-shares", type=numbers, default="0.25",
                        help="absent shares of the recipes with absent pairs (default 0.25)")
    beyond.add_argument("--any-numerics", action="store_true",
                        help="read back a finished grid in OUT made under another "
                             "machine's numerics (it keeps its fingerprint); an unfinished "
                             "or mixed one is finished under this machine's numerics")
    beyond.set_defaults(handler=_beyond)

    board = experiments.add_parser(
        "scoreboard", help="the paper's claims against the committed results",
        description="Judge each claim of the paper on the committed results in --data by "
                    "the evidence rule (paired bootstrap over test queries and seeds, 95 % "
                    "interval of the difference): agrees, contradicts, unresolved, or not "
                    "tested here (with the reason). Writes OUT/scoreboard.json, "
                    "OUT/scoreboard.md (the table the book's intro includes) and "
                    "OUT/scoreboard.provenance.json.")
    board.add_argument("--data", default="book/data",
                       help="folder of committed results (default %(default)s)")
    board.add_argument("--out", default="book/data", help="output folder (default "
                                                          "%(default)s)")
    board.set_defaults(handler=_scoreboard)

    ablations = experiments.add_parser(
        "ablations", help="the paper's ablations: window length, data amount, features",
        description="On the profile's test split: AM-DETR and the baseline with 1, 4 and "
                    "7 s windows; AM-DETR on 1/8 to 4x the simulated training data; AM-DETR "
                    "with each encoder. Writes OUT/ablations.json and OUT/provenance.json; "
                    "each seed's result is kept in OUT/points/, so a rerun continues where "
                    "an interrupted one stopped.")
    add_seeded_study(ablations, clap_adds="CLAP to the features study")
    ablations.add_argument("--studies", default="window,data,features",
                           type=_study_list, help="comma-separated studies of window, "
                                                  "data, features (default) and fidelity "
                                                  "(QD-DETR's model against the book's "
                                                  "earlier one)")
    ablations.add_argument("--windows", type=numbers, default="1,4,7",
                           help="window lengths in seconds (default 1,4,7)")
    ablations.add_argument("--data-scales", type=numbers, default="0.125,0.25,0.5,1,2,4",
                           help="training data relative to the profile's split: shares "
                                "up to 1, whole numbers above (default "
                                "0.125,0.25,0.5,1,2,4)")
    ablations.add_argument("--reuse-points", nargs="+", default=[], metavar="DIR",
                           help="Table I points folders (OUT/points of amr experiment "
                                "table1): a seed made there under the same numerics and "
                                "profile definition is taken, not trained again")
    ablations.set_defaults(handler=_ablations)

    sed = experiments.add_parser(
        "sed", help="zero-shot sound event detection: AM-DETR and the sliding window vs "
                    "supervised references (a linear probe and a CRNN)",
        description="On SED recordings of the profile's corpora (several events of several "
                    "classes, one prompt per class), scored by the authors' frame rule: "
                    "frame-level F1 at the default and the validation-tuned threshold "
                    "(each detector's grid: quantiles of its validation scores), the "
                    "F1-against-threshold curve of each detector, and the zero-shot F1 as a "
                    "share of each supervised reference's (a linear probe on the window "
                    "features, a CRNN on log-mels). Writes OUT/sed.json and "
                    "OUT/provenance.json.")
    add_profile_run(sed)
    sed.add_argument("--seed", type=int, help="AM-DETR training seed (default: the profile's)")
    sed.set_defaults(handler=_sed)

    occurrences = experiments.add_parser(
        "occurrences", help="queries with zero, one or several moments",
        description="AM-DETR trained as in the paper and with absent pairs (presence "
                    "AUROC, kept/refused at the stored threshold, R1/mAP on present "
                    "queries); the paper's model and one trained on a simulation that "
                    "repeats clips (2-5 placements due, 5 s gaps), scored on single- and "
                    "multi-moment test queries apart, and how many moments each asserts. "
                    "Writes OUT/occurrences.json, OUT/provenance.json and each model's "
                    "mixed-test predictions as OUT/predictions/*.jsonl.")
    add_profile_run(occurrences)
    occurrences.set_defaults(handler=_occurrences)

    transfer = experiments.add_parser(
        "transfer", help="sim-to-real: quick and real-sounds models on each other's test",
        description="AM-DETR (N training seeds) and the baseline of the quick and the "
                    "real-sounds profiles, each scored on both profiles' test splits; "
                    "R1@0.5 per ESC-50 class; the real-sounds test asked in paraphrases. "
                    "Needs AMR_DATA_ROOT. Writes OUT/transfer.json, OUT/provenance.json "
                    "and every prediction set as OUT/predictions/*.jsonl; each trained "
                    "model's predictions are kept in OUT/points/, so a rerun continues "
                    "where an interrupted one stopped.")
    transfer.add_argument("--seeds", type=int, default=3,
                          help="AM-DETR training seeds (default %(default)s)")
    transfer.add_argument("--trained-on", nargs="+", choices=TRANSFER_PROFILES,
                          help="only the models of these profiles (default: all)")
    transfer.add_argument("--no-mix", dest="mix", action="store_false",
                          help="leave out the model trained on both profiles at once")
    transfer.add_argument("--out", required=True, help="output folder")
    add_device(transfer, "auto")
    transfer.set_defaults(handler=_transfer)


def _recorded(command: str, out: str, run: Callable[[], Any],
              details: Callable[[Any], dict[str, Any]] | None = None) -> Any:
    """Run a study, then write ``OUT/provenance.json``: the command with its options, the
    commit, the machine and the time it took (``details`` of the result, if given, add to
    these or replace them)."""
    from amr_lib.experiments.results import PROVENANCE, provenance, write_json

    started = time.perf_counter()
    result = run()
    made = provenance(command, time.perf_counter() - started)
    write_json(Path(out) / PROVENANCE, made | (details(result) if details else {}))
    return result


def _chosen(text: str, allowed: tuple[str, ...], what: str) -> list[str]:
    """The comma-separated names of ``text``, each one of ``allowed`` (at least one)."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = sorted(set(names) - set(allowed))
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown {what} {unknown}; choose from "
                                         f"{', '.join(allowed)}")
    return names


def _recipe_list(text: str) -> list[str]:
    from amr_lib.model.recipes import RECIPES

    return _chosen(text, tuple(RECIPES), "recipes")


def grid_details(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """What a beyond grid's provenance says of its points: the time they took, summed
    (a grid that spans sessions took far longer than its last, resumed run), and the
    numerics fingerprints they were made under (another machine's when a finished grid of
    it was read back, ``--any-numerics``; several only for a grid made before grids were
    kept to one numerics)."""
    points = [point for row in rows for point in row["per_seed"]]
    return {"seconds": round(sum(point["seconds"] for point in points)),
            "point_numerics": sorted({point["numerics"] for point in points})}


def _beyond(args: argparse.Namespace) -> int:
    from amr_lib.config import resolve_device
    from amr_lib.experiments.beyond import BEYOND, run_beyond
    from amr_lib.profiles import load_profile

    resolve_device(args.device)
    command = " ".join(["amr experiment beyond", f"--profile {args.profile}",
                        f"--seeds {args.seeds}", f"--out {args.out}",
                        f"--recipes {','.join(args.recipes)}",
                        f"--absent-shares {','.join(f'{v:g}' for v in args.absent_shares)}",
                        *(["--any-numerics"] if args.any_numerics else [])])
    rows = _recorded(command, args.out, lambda: run_beyond(
        load_profile(args.profile), args.seeds, args.out, args.recipes, args.absent_shares,
        args.device, args.any_numerics), details=grid_details)
    print(f"{'recipe':<14}{'share':>6}{'mAP':>8}{'AUROC':>8}{'hard':>8}{'SED F1':>8}")
    for row in rows:
        points = row["per_seed"]

        def mean(values) -> float:
            return float(sum(values) / len(values))

        share = "" if row["absent_share"] is None else f"{row['absent_share']:g}"
        print(f"{row['recipe']:<14}{share:>6}"
              f"{mean([p['report']['mAP'] for p in points]):>8.2f}"
              f"{mean([p['presence']['any']['auroc'] for p in points]):>8.3f}"
              f"{mean([p['presence']['hard']['auroc'] for p in points]):>8.3f}"
              f"{mean([p['sed']['tuned']['f1'] for p in points]):>8.3f}")
    print(f"{Path(args.out) / BEYOND}")
    return 0


def _study_list(text: str) -> list[str]:
    from amr_lib.experiments.ablations import OPT_IN, STUDIES

    return _chosen(text, STUDIES + OPT_IN, "studies")


def _table1(args: argparse.Namespace) -> int:
    from amr_lib.config import resolve_device
    from amr_lib.experiments.results import METRICS
    from amr_lib.experiments.table1 import run_table1
    from amr_lib.profiles import load_profile

    resolve_device(args.device)
    command = " ".join(["amr experiment table1", f"--profile {args.profile}",
                        f"--seeds {args.seeds}", f"--out {args.out}"]
                       + ([f"--epochs {args.epochs}"] if args.epochs else []))
    rows = _recorded(command, args.out, lambda: run_table1(
        load_profile(args.profile), args.seeds, args.out, args.clap_model, args.device,
        args.epochs))
    print(f"{'method':<30}{'features':<23}" + "".join(f"{m:>14}" for m in METRICS))
    for row in rows:
        cells = "".join(f"{row[m]:>8.2f} ±{row[m + '_std']:>4.1f}" for m in METRICS)
        print(f"{row['method']:<30}{row['features']:<23}{cells}")
    print(f"{Path(args.out) / 'table1.json'}")
    return 0


def _recipe_search(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from amr_lib.config import resolve_device
    from amr_lib.experiments.recipe_search import SEARCH, run_search
    from amr_lib.profiles import RetrievalSetup, load_profile

    resolve_device(args.device)
    base = replace(load_profile(args.profile), retrieval=RetrievalSetup.quick())
    command = " ".join(["amr experiment recipe-search", f"--profile {args.profile}",
                        f"--out {args.out}"]
                       + ([f"--epochs {args.epochs}"] if args.epochs else []))
    result = _recorded(command, args.out, lambda: run_search(
        base, args.out, device=args.device, epochs=args.epochs))
    print(f"{'preset':<8}{'lr':>8}{'data':>6}{'valid mAP':>11}{'kept':>6}{'run':>5}")
    for point in result["points"]:
        training = point["training"]
        print(f"{point['preset']:<8}{point['lr']:>8g}{point['train_scale']:>5g}x"
              f"{point['valid']['mAP']:>11.2f}{training['best_epoch']:>6}"
              f"{len(training['curve']):>5}")
    chosen = result["chosen"]
    print(f"chosen: {chosen['preset']} preset, lr {chosen['lr']:g}, "
          f"{chosen['train_scale']:g}x data")
    print(f"{Path(args.out) / SEARCH}")
    return 0


def _scoreboard(args: argparse.Namespace) -> int:
    from amr_lib.experiments.results import provenance, write_json
    from amr_lib.experiments.scoreboard import SCOREBOARD, markdown, scoreboard
    from amr_lib.storage.atomic import atomic_write

    if not Path(args.data).is_dir():
        raise FileNotFoundError(f"{args.data}: no such folder of committed results")
    rows = scoreboard(args.data)
    out = Path(args.out) / SCOREBOARD
    write_json(out, rows)
    atomic_write(out.with_suffix(".md"),
                 lambda temporary: temporary.write_text(markdown(rows), encoding="utf-8"))
    # beside it, as every committed result in book/data has its provenance
    command = f"amr experiment scoreboard --data {args.data} --out {args.out}"
    write_json(out.with_name(out.stem + ".provenance.json"), provenance(command, 0.0))
    for row in rows:
        ours = "" if row["ours"] is None else (
            f" {row['ours']:+.2f} [{row['ci_low']:+.2f}, {row['ci_high']:+.2f}]")
        where = f" ({row['profile']}, {row['metric']})" if row["profile"] else ""
        print(f"{row['verdict']:<16}{row['claim']}{where}{ours}")
    print(f"{Path(args.out) / SCOREBOARD}")
    return 0


def _ablations(args: argparse.Namespace) -> int:
    from amr_lib.config import resolve_device
    from amr_lib.experiments.ablations import (
        ABLATIONS,
        DATA_SCALES,
        STUDIES,
        WINDOWS_S,
        AblationGrid,
        run_ablations,
    )
    from amr_lib.experiments.results import PROVENANCE, provenance, write_json
    from amr_lib.experiments.table1 import encoders_for
    from amr_lib.profiles import load_profile

    resolve_device(args.device)
    grid = AblationGrid(args.windows, args.data_scales, tuple(encoders_for(args.clap_model)))
    rows, seconds = run_ablations(load_profile(args.profile), args.seeds, args.out,
                                  args.studies, grid, args.clap_model, args.device,
                                  args.epochs, reuse=[Path(d) for d in args.reuse_points])

    def listed(values) -> str:
        return ",".join(f"{v:g}" if isinstance(v, float) else v for v in values)

    options = [("--studies", args.studies, STUDIES), ("--windows", args.windows, WINDOWS_S),
               ("--data-scales", args.data_scales, DATA_SCALES)]
    command = " ".join(["amr experiment ablations", f"--profile {args.profile}",
                        f"--seeds {args.seeds}", f"--out {args.out}"]
                       + [f"{flag} {listed(values)}" for flag, values, default in options
                          if tuple(values) != tuple(default)]
                       + ([f"--epochs {args.epochs}"] if args.epochs else [])
                       + ([f"--reuse-points {' '.join(args.reuse_points)}"]
                          if args.reuse_points else []))
    # the grid's own time: points finished by an earlier, interrupted run count too
    write_json(Path(args.out) / PROVENANCE, provenance(command, seconds))
    print(f"{'study':<10}{'value':>8}  {'method':<10}{'features':<23}{'mAP':>14}")
    for row in rows:
        print(f"{row['study']:<10}{row['value']!s:>8}  {row['method']:<10}"
              f"{row['features']:<23}{row['mAP']:>8.2f} ±{row['mAP_std']:>4.1f}")
    print(f"{Path(args.out) / ABLATIONS}")
    return 0


def _sed(args: argparse.Namespace) -> int:
    from amr_lib.config import resolve_device
    from amr_lib.experiments.results import write_json
    from amr_lib.experiments.sed import SED_JSON, run_sed
    from amr_lib.profiles import load_profile

    resolve_device(args.device)
    command = " ".join(["amr experiment sed", f"--profile {args.profile}", f"--out {args.out}"]
                       + ([f"--seed {args.seed}"] if args.seed is not None else []))

    def study() -> dict[str, Any]:
        result = run_sed(load_profile(args.profile), args.device, args.seed)
        write_json(Path(args.out) / SED_JSON, result)
        return result

    result = _recorded(command, args.out, study)
    print(f"{'method':<16}{'F1 default':>12}{'F1 tuned':>10}{'threshold':>11}{'flat':>6}")
    for method, report in result["methods"].items():
        print(f"{method:<16}{report['default']['f1']:>12.3f}{report['tuned']['f1']:>10.3f}"
              f"{report['tuned_threshold']:>11.3f}{report['f1_flat_share']:>6.2f}")
    for reference, shares in result["share_of"].items():
        print(f"share of the {reference} F1: " + ", ".join(
            f"{method} {share:.0%}" for method, share in shares.items() if share is not None))
    print(f"{Path(args.out) / SED_JSON}")
    return 0


def _occurrences(args: argparse.Namespace) -> int:
    from amr_lib.config import resolve_device
    from amr_lib.experiments.occurrences import OCCURRENCES, run_occurrences
    from amr_lib.experiments.results import write_json
    from amr_lib.profiles import load_profile

    resolve_device(args.device)
    command = f"amr experiment occurrences --profile {args.profile} --out {args.out}"

    def study() -> dict[str, Any]:
        result = run_occurrences(load_profile(args.profile), args.device,
                                 predictions_dir=Path(args.out) / "predictions")
        write_json(Path(args.out) / OCCURRENCES, result)
        return result

    result = _recorded(command, args.out, study)
    for name, found in result["presence"].items():
        print(f"presence, {name} model: AUROC {found['test_auroc']:.3f}, "
              f"R1@0.5 {found['R1@0.5']:.2f}, mAP {found['mAP']:.2f}")
    for name, found in result["several"].items():
        scores, counting = found["scores"], found["counting"]["multi"]
        print(f"{name} model: mAP single {scores['single']['mAP']:.2f}, multi "
              f"{scores['multi']['mAP']:.2f}; multi-moment queries: "
              f"{counting['asserted_mean']:.2f} moments asserted for "
              f"{counting['true_mean']:.2f}, all found {counting['all_found_share']:.0%}")
    print(f"{Path(args.out) / OCCURRENCES}")
    return 0


def _transfer(args: argparse.Namespace) -> int:
    from amr_lib.config import resolve_device
    from amr_lib.experiments.results import write_json
    from amr_lib.experiments.transfer import PROFILES, TRANSFER, run_transfer, spread
    from amr_lib.profiles import load_profile

    if args.seeds < 1:
        raise ValueError(f"--seeds must be at least 1, got {args.seeds}")
    resolve_device(args.device)
    command = (f"amr experiment transfer --seeds {args.seeds}"
               + (f" --trained-on {' '.join(args.trained_on)}" if args.trained_on else "")
               + ("" if args.mix else " --no-mix") + f" --out {args.out}")

    def study() -> dict[str, Any]:
        found = run_transfer(args.seeds, args.device,
                             profiles={name: load_profile(name) for name in PROFILES},
                             mix=args.mix, trained_on=args.trained_on,
                             points=Path(args.out) / "points")
        result = found.rows()
        found.write_predictions(Path(args.out) / "predictions")
        write_json(Path(args.out) / TRANSFER, result)
        return result

    result = _recorded(command, args.out, study)
    print(f"{'method':<10}{'trained on':<14}{'tested on':<14}{'queries':<13}"
          f"{'R1@0.5':>14}{'mAP':>14}")
    for row in spread(result["cells"], ("method", "trained_on", "tested_on", "queries")):
        print(f"{row['method']:<10}{row['trained_on']:<14}{row['tested_on']:<14}"
              f"{row['queries']:<13}{row['R1@0.5']:>8.2f} ±{row['R1@0.5_std']:>4.1f}"
              f"{row['mAP']:>8.2f} ±{row['mAP_std']:>4.1f}")
    print(f"{Path(args.out) / TRANSFER}")
    return 0
