"""``amr evaluate``, ``amr evaluate-sed``, ``amr fingerprint``, ``amr describe``, ``amr
simulate`` and ``amr features``: annotation files scored (as moments, or as SED frames)
and summarised, the machine's numerics named, splits simulated, features extracted."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

from amr_lib.cli.options import add_device, format_report, instances
from amr_lib.corpora import BACKGROUND_KINDS, CLIP_KINDS, CorpusSpec
from amr_lib.corpora.base import SPLITS
from amr_lib.lighthouse_jsonl import read_annotations, read_predictions
from amr_lib.metrics import evaluate
from amr_lib.simulation.algorithm import SimulationConfig
from amr_lib.simulation.clotho_moment import read_split, simulate_split, write_split


def register(commands: argparse._SubParsersAction) -> None:
    evaluate_parser = commands.add_parser(
        "evaluate", help="R1@IoU and mAP@IoU of predictions, exactly as Lighthouse reports them",
        description="Score Lighthouse prediction JSONL against annotation JSONL. Values are "
                    "percentages rounded to 2 decimals.")
    evaluate_parser.add_argument("annotations", help="ground-truth JSONL (relevant_windows)")
    evaluate_parser.add_argument("predictions", help="prediction JSONL (pred_relevant_windows)")
    evaluate_parser.add_argument("--json", action="store_true",
                                 help="print one JSON object instead of the table")
    evaluate_parser.set_defaults(handler=_evaluate)

    evaluate_sed_parser = commands.add_parser(
        "evaluate-sed", help="frame-level P/R/F1 of zero-shot SED, as the authors' script",
        description="Score Lighthouse prediction JSONL as sound event detection: the query "
                    "of each reference line is its label; frame t (t = 0, 1, ... s, "
                    "ceil(duration) frames) is active where a window [start, end] holds "
                    "start <= t <= end (for predictions, a window scored above the "
                    "threshold); micro precision, recall and F1 over every (label, frame) "
                    "cell, in percent, as zero-shot_sed_eval/evaluate.py of the authors' "
                    "Lighthouse wrapper computes them.")
    evaluate_sed_parser.add_argument("annotations", help="reference JSONL (relevant_windows)")
    evaluate_sed_parser.add_argument("predictions",
                                     help="prediction JSONL (pred_relevant_windows)")
    # 0.5 is sed.scoring.DEFAULT_THRESHOLD, written here so `amr` starts without sklearn
    evaluate_sed_parser.add_argument("--threshold", type=float, default=0.5,
                                     help="a moment counts above this score "
                                          "(default %(default)s)")
    evaluate_sed_parser.add_argument("--json", action="store_true",
                                     help='print {"precision", "recall", "f1"} as JSON')
    evaluate_sed_parser.set_defaults(handler=_evaluate_sed)

    fingerprint = commands.add_parser(
        "fingerprint", help="the numerics fingerprint of this machine and code",
        description="Print the fingerprint of the numbers this machine computes with this "
                    "code (amr_lib.numerics): caches and committed results are keyed on it, "
                    "and a chapter's live run repeats a committed seed exactly only under "
                    "the same fingerprint.")
    fingerprint.add_argument("--json", action="store_true",
                             help="print the fingerprint and the machine as JSON")
    fingerprint.set_defaults(handler=_fingerprint)

    describe = commands.add_parser(
        "describe", help="recordings, queries and moments of annotation files",
        description="Summarise Lighthouse annotation files: queries, recordings, moments per "
                    "query, moment lengths and gaps (seconds), the share of a recording a "
                    "query covers, windows that end past the recording.")
    describe.add_argument("annotations", nargs="+", help="annotation JSONL file(s)")
    describe.add_argument("--json", action="store_true",
                          help="print one JSON object per file instead of the table")
    describe.set_defaults(handler=_describe)

    simulate = commands.add_parser(
        "simulate", help="simulate a Clotho-Moment style split (Algorithm 1)",
        description="Overlay captioned clips on background segments; write recipes.jsonl, "
                    "annotations.jsonl and simulation.json (and audio/ with --write-audio) "
                    "to a new folder.")
    simulate.add_argument("--clips", choices=CLIP_KINDS, required=True)
    simulate.add_argument("--clip-root", help="clip corpus folder (default: under "
                                              "AMR_DATA_ROOT for esc50/clotho)")
    simulate.add_argument("--backgrounds", choices=BACKGROUND_KINDS, required=True)
    simulate.add_argument("--background-root", help="folder of long recordings (default: "
                                                    "AMR_DATA_ROOT/urban_ambience/audio)")
    simulate.add_argument("--split", choices=SPLITS, required=True)
    simulate.add_argument("--out", required=True, help="new (or empty) output folder")
    simulate.add_argument("--seed", type=int, default=0)
    simulate.add_argument("--max-segments", type=int, help="use at most N background segments")
    simulate.add_argument("--write-audio", action="store_true",
                          help="also render every mixture to OUT/audio/{vid}.wav")
    defaults = SimulationConfig()
    simulate.add_argument("--sample-rate", type=int, default=defaults.sample_rate,
                          help="Hz of the rendered mixtures (default %(default)s)")
    simulate.add_argument("--segment-s", type=float, default=defaults.segment_s,
                          help="background segment length in seconds (default %(default)s)")
    simulate.add_argument("--mean-gap-s", type=float, default=defaults.mean_gap_s,
                          help="mean exponential gap before each event (default %(default)s)")
    simulate.add_argument("--instances", type=instances, default=defaults.instances,
                          metavar="FEWEST,MOST",
                          help="place each drawn clip this many times (e.g. 2,5: queries with "
                               "several relevant windows; default 1,1)")
    simulate.set_defaults(handler=_simulate)

    features = commands.add_parser(
        "features", help="extract sliding-window audio and query features of a simulated split",
        description="Render the mixtures of a split written by `amr simulate`, embed every "
                    "window and query, and store them as ROOT/{name}/{vid}.npz and "
                    "ROOT/{name}_text/qid{qid}.npz (Lighthouse's layout).")
    features.add_argument("--annotations", required=True, help="the split's annotations.jsonl")
    features.add_argument("--recipes", required=True,
                          help="the split's recipes.jsonl (simulation.json must sit beside it)")
    features.add_argument("--encoder", choices=("contrastive", "contrastive-untrained", "clap"),
                          required=True)
    features.add_argument("--window", type=float, default=1.0, help="window length in seconds")
    features.add_argument("--hop", type=float, default=1.0, help="hop between frames, seconds")
    features.add_argument("--out", required=True, help="feature root folder")
    features.add_argument("--encoder-checkpoint",
                          help="a saved contrastive encoder (default: train one, or reuse "
                               "the cached one trained on the same clips)")
    features.add_argument("--clap-model", default="laion/clap-htsat-unfused",
                          help="CLAP hub id or local folder (default %(default)s)")
    add_device(features, "cpu")
    features.add_argument("--seed", type=int, default=0)
    features.set_defaults(handler=_features)


def _evaluate(args: argparse.Namespace) -> int:
    report = evaluate(read_annotations(args.annotations), read_predictions(args.predictions))
    print(json.dumps(report) if args.json else format_report(report))
    return 0


def _evaluate_sed(args: argparse.Namespace) -> int:
    from amr_lib.sed.scoring import evaluate_sed  # scikit-learn: only when asked

    report = evaluate_sed(read_annotations(args.annotations),
                          read_predictions(args.predictions), args.threshold)
    if args.json:
        print(json.dumps(report))
    else:
        print("precision  recall      F1")
        print(f"{report['precision']:9.2f} {report['recall']:7.2f} {report['f1']:7.2f}")
    return 0


def _fingerprint(args: argparse.Namespace) -> int:
    from amr_lib.numerics import describe  # trains a tiny model: only when asked

    machine = describe()
    if args.json:
        print(json.dumps(machine))
    else:
        print(machine["fingerprint"])
        print(", ".join(f"{key} {value}" for key, value in machine.items()
                        if key != "fingerprint"))
    return 0


def _describe(args: argparse.Namespace) -> int:
    from amr_lib.simulation.benchmark_stats import describe

    rows = {path: describe(read_annotations(path)) for path in args.annotations}
    if args.json:
        for path, row in rows.items():
            print(json.dumps({"file": path, **row}))
        return 0
    print(f"{'file':<36}{'queries':>8}{'recs':>6}{'len s':>7}{'moments':>8}{'multi':>7}"
          f"{'moment s':>9}{'cover':>7}")
    for path, row in rows.items():
        print(f"{Path(path).name[:35]:<36}{row['queries']:>8}{row['recordings']:>6}"
              f"{row['duration_s']['mean']:>7.1f}{row['moments_per_query']:>8.2f}"
              f"{row['multi_moment_share']:>7.0%}{row['moment_s']['median']:>9.1f}"
              f"{row['coverage']['mean']:>7.0%}")
    return 0


def _simulate(args: argparse.Namespace) -> int:
    config = SimulationConfig(segment_s=args.segment_s, mean_gap_s=args.mean_gap_s,
                              sample_rate=args.sample_rate, instances=args.instances)
    result = simulate_split(CorpusSpec(args.clips, args.clip_root, args.seed),
                            CorpusSpec(args.backgrounds, args.background_root, args.seed),
                            args.split, config, args.seed, args.max_segments)
    folder = write_split(result, args.out, write_audio=args.write_audio)
    print(f"{folder}: {len(result.recipes)} segments, {len(result.annotations)} queries"
          + (", audio rendered" if args.write_audio else ""))
    return 0


def _features(args: argparse.Namespace) -> int:
    # imported here: torch and transformers take seconds to load, `amr evaluate` needs neither
    from amr_lib.config import resolve_device
    from amr_lib.features.encoders import make_feature_encoder
    from amr_lib.features.extract import extract_features
    from amr_lib.features.windows import WindowConfig

    split = read_split(Path(args.recipes).parent)
    split = replace(split, annotations=read_annotations(args.annotations))
    window = WindowConfig(args.window, args.hop)
    feature_encoder = make_feature_encoder(
        args.encoder, window, clip_corpus=split.clip_corpus,
        sample_rate=split.config.sample_rate, checkpoint=args.encoder_checkpoint,
        clap_model=args.clap_model, device=str(resolve_device(args.device)), seed=args.seed)
    store = extract_features(split, feature_encoder, window, args.out)
    print(f"{store.audio_dir}: {len({a.vid for a in split.annotations})} recordings; "
          f"{store.text_dir}: {len(split.annotations)} queries")
    return 0
