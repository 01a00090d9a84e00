"""The ``amr`` command.

- ``amr evaluate GT.jsonl PRED.jsonl [--json]``: Lighthouse's R1@IoU / mAP@IoU report.
- ``amr describe A.jsonl [B.jsonl ...] [--json]``: what a benchmark holds (queries,
  recordings, moments per query, moment lengths, coverage).
- ``amr simulate --clips KIND --backgrounds KIND --split SPLIT --out DIR``: a Clotho-Moment
  style split (recipes, annotations, optionally audio).
- ``amr features --annotations A.jsonl --recipes R.jsonl --encoder KIND --out ROOT``: sliding-
  window audio features and query features of a simulated split, in Lighthouse's layout.
- ``amr train --profile quick --out DIR``: the profile's whole chain (simulation, encoder,
  features, AM-DETR, test metrics), each stage reused from the cache when it exists; writes
  ``DIR/best.ckpt`` and ``DIR/metrics.json``. Under ``torchrun`` it trains with DDP.
- ``amr train --features DIR --annotations TRAIN.jsonl --valid VALID.jsonl [--test
  TEST.jsonl] --out RUN``: AM-DETR on released pre-extracted features (Lighthouse's layout);
  ``amr predict --checkpoint RUN/best.ckpt --features DIR ...`` predicts from them.
- ``amr predict --checkpoint CKPT | --baseline PARAMS.json --annotations GT.jsonl
  --audio-dir DIR --out PRED.jsonl``: Lighthouse prediction JSONL for every query (AM-DETR
  or the sliding-window baseline), ready for ``amr evaluate``.
- ``amr experiment table1 --profile quick --seeds 3 --out DIR``: Table I (baseline vs
  AM-DETR per encoder, blind controls) as ``DIR/table1.json``, with the baseline's tuned
  parameters and the AM-DETR checkpoints.
- ``amr experiment ablations --profile quick --seeds 3 --out DIR [--studies window,data]``:
  the window, data-amount and feature studies as ``DIR/ablations.json``; resumable.
- ``amr experiment sed --profile quick --out DIR``: zero-shot sound event detection
  (AM-DETR, the sliding window, a supervised frame classifier) as ``DIR/sed.json``.
- ``amr experiment occurrences --profile quick --out DIR``: queries with zero, one or
  several moments (absent-pair training and presence AUROC; a mixed single/multi-moment
  simulation, scores by moment count and counting) as ``DIR/occurrences.json``.
- ``amr experiment transfer --seeds 3 --out DIR [--trained-on P ...] [--no-mix]``:
  sim-to-real, both ways (quick and real-sounds models on each other's test split), R1 per
  sound class, paraphrased queries, as ``DIR/transfer.json``, and every prediction set as
  ``DIR/predictions/*.jsonl``.
- ``amr retrieve --checkpoint CKPT AUDIO "QUERY" [--top-k 5] [--json] [--plot OUT.png]``:
  moments in a file, optionally drawn on its spectrogram.
- ``amr demo [--checkpoint CKPT] [--port 7860] [--host 127.0.0.1]``: a Gradio app to search
  your own recordings (upload, record or pick an example; plot, table and players).

Each subcommand parses its arguments and calls one library function with explicit values;
no argument namespace travels into the library.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from amr_lib import __version__
from amr_lib.audio import AudioError
from amr_lib.clotho_moment import read_split, simulate_split, write_split
from amr_lib.config import DEFAULT_PROFILE, PROFILES, TRANSFER_PROFILES
from amr_lib.corpora import BACKGROUND_KINDS, CLIP_KINDS, CorpusSpec
from amr_lib.corpora.base import SPLITS, CorpusError
from amr_lib.lighthouse_jsonl import (
    LighthouseFormatError,
    read_annotations,
    read_predictions,
    write_predictions,
)
from amr_lib.metrics import IOU_THRESHOLDS, evaluate
from amr_lib.simulate import SimulationConfig


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            status = _run(args)
        except (LighthouseFormatError, CorpusError, AudioError, FileNotFoundError,
                FileExistsError, ValueError) as error:
            print(f"amr {args.command}: error: {error}", file=sys.stderr)
            status = 2
    for warning in caught:
        print(f"amr {args.command}: warning: {warning.message}", file=sys.stderr)
    return status


def _run(args: argparse.Namespace) -> int:
    """Unpack the parsed arguments into one library call per subcommand."""
    if args.command == "evaluate":
        return _evaluate(args.annotations, args.predictions, as_json=args.json)
    if args.command == "describe":
        return _describe(args.annotations, args.json)
    if args.command == "train" and args.features:
        return _train_released(args.features, args.annotations, args.valid, args.test,
                               args.out, args.model, args.epochs, args.seed, args.device,
                               args.absent_share)
    if args.command == "train":
        if args.annotations or args.valid or args.test:
            raise ValueError("--annotations, --valid and --test go with --features DIR "
                             "(released features); a profile simulates its own splits")
        return _train(args.profile, args.out, args.device, args.epochs, args.absent_share)
    if args.command == "predict" and args.features:
        return _predict_released(args.checkpoint, args.features, args.annotations, args.out,
                                 args.device)
    if args.command == "predict":
        return _predict(args.checkpoint, args.baseline, args.annotations, args.audio_dir,
                        args.out, args.device, args.clap_model)
    if args.command == "retrieve":
        return _retrieve(args.checkpoint, args.audio, args.query, args.top_k, args.json,
                         args.device, args.clap_model, args.plot)
    if args.command == "experiment" and args.experiment == "ablations":
        return _ablations(args.profile, args.seeds, args.out, args.studies, args.windows,
                          args.data_scales, args.clap_model, args.device, args.epochs)
    if args.command == "experiment" and args.experiment == "sed":
        return _sed(args.profile, args.out, args.device, args.seed)
    if args.command == "experiment" and args.experiment == "occurrences":
        return _occurrences(args.profile, args.out, args.device)
    if args.command == "experiment" and args.experiment == "transfer":
        return _transfer(args.seeds, args.out, args.device, args.trained_on, args.mix)
    if args.command == "experiment":
        return _table1(args.profile, args.seeds, args.out, args.clap_model, args.device,
                       args.epochs)
    if args.command == "demo":
        return _demo(args.checkpoint, args.port, args.host, args.examples_dir, args.device,
                     args.clap_model)
    if args.command == "features":
        return _features(annotations=args.annotations, recipes=args.recipes,
                         encoder=args.encoder, window_s=args.window, hop_s=args.hop,
                         out=args.out, checkpoint=args.encoder_checkpoint,
                         clap_model=args.clap_model, device=args.device, seed=args.seed)
    return _simulate(
        clips=CorpusSpec(args.clips, args.clip_root, args.seed),
        backgrounds=CorpusSpec(args.backgrounds, args.background_root, args.seed),
        split=args.split, out=args.out, seed=args.seed, max_segments=args.max_segments,
        write_audio=args.write_audio, sample_rate=args.sample_rate,
        segment_s=args.segment_s, mean_gap_s=args.mean_gap_s, instances=args.instances)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="amr", description="Language-based audio moment retrieval (amr_lib).")
    parser.add_argument("--version", action="version", version=f"amr_lib {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    evaluate_parser = commands.add_parser(
        "evaluate", help="R1@IoU and mAP@IoU of predictions, exactly as Lighthouse reports them",
        description="Score Lighthouse prediction JSONL against annotation JSONL. Values are "
                    "percentages rounded to 2 decimals.")
    evaluate_parser.add_argument("annotations", help="ground-truth JSONL (relevant_windows)")
    evaluate_parser.add_argument("predictions", help="prediction JSONL (pred_relevant_windows)")
    evaluate_parser.add_argument("--json", action="store_true",
                                 help="print one JSON object instead of the table")

    describe = commands.add_parser(
        "describe", help="recordings, queries and moments of annotation files",
        description="Summarise Lighthouse annotation files: queries, recordings, moments per "
                    "query, moment lengths and gaps (seconds), the share of a recording a "
                    "query covers, windows that end past the recording.")
    describe.add_argument("annotations", nargs="+", help="annotation JSONL file(s)")
    describe.add_argument("--json", action="store_true",
                          help="print one JSON object per file instead of the table")

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
    simulate.add_argument("--instances", type=_instances, default=defaults.instances,
                          metavar="FEWEST,MOST",
                          help="place each drawn clip this many times (e.g. 2,5: queries with "
                               "several relevant windows; default 1,1)")

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
    features.add_argument("--device", default="cpu", help="cpu or cuda (default %(default)s)")
    features.add_argument("--seed", type=int, default=0)

    train = commands.add_parser(
        "train", help="run a profile's chain and train AM-DETR",
        description="Simulate the profile's splits, train or reuse its feature encoder, "
                    "extract features, train AM-DETR (best epoch by validation average mAP) "
                    "and score it on test. Every stage is cached. Writes OUT/best.ckpt, "
                    "OUT/metrics.json, OUT/history.csv and OUT/test_predictions.jsonl. "
                    "With --features, train on released pre-extracted features in "
                    "Lighthouse's layout (DIR/clap/{vid}.npz, DIR/clap_text/qid{qid}.npz) "
                    "for the queries of --annotations instead, with the paper's recipe.")
    _profile_arguments(train)
    train.add_argument("--epochs", type=int, help="override the profile's number of epochs")
    train.add_argument("--absent-share", type=float, default=0.0, metavar="F",
                       help="pair this share of each batch with the text of a query about "
                            "another recording, labelled 'no moment', so the top score says "
                            "whether a sound is present; the threshold chosen on validation "
                            "goes into the checkpoint (default %(default)s)")
    released = train.add_argument_group("released features (instead of a profile)")
    released.add_argument("--features", metavar="DIR",
                          help="folder of released features in Lighthouse's layout")
    released.add_argument("--annotations", metavar="TRAIN.jsonl",
                          help="training queries (Lighthouse annotation JSONL)")
    released.add_argument("--valid", metavar="VALID.jsonl",
                          help="validation queries: picks the best epoch")
    released.add_argument("--test", metavar="TEST.jsonl",
                          help="test queries: scored with the best epoch")
    released.add_argument("--model", choices=("paper", "quick"), default="paper",
                          help="AM-DETR size (default %(default)s)")
    released.add_argument("--seed", type=int, default=0)

    predict = commands.add_parser(
        "predict", help="predict moments for every query of an annotation file",
        description="Read AUDIO_DIR/{vid}.wav|flac|ogg|mp3 for every recording of the annotations "
                    "and write the top-10 moments of every query as Lighthouse prediction "
                    "JSONL.")
    model = predict.add_mutually_exclusive_group(required=True)
    model.add_argument("--checkpoint", help="AM-DETR: best.ckpt written by amr train")
    model.add_argument("--baseline", metavar="PARAMS.json",
                       help="the sliding-window baseline: baseline_<features>.json written "
                            "by amr experiment table1")
    predict.add_argument("--annotations", required=True, help="Lighthouse annotation JSONL")
    inputs = predict.add_mutually_exclusive_group(required=True)
    inputs.add_argument("--audio-dir", help="folder of {vid}.wav/.flac files")
    inputs.add_argument("--features", metavar="DIR",
                        help="released features in Lighthouse's layout, for a checkpoint "
                             "trained on them with amr train --features")
    predict.add_argument("--out", required=True, help="prediction JSONL to write")

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
    _experiment_arguments(table1, clap_adds="CLAP rows")

    ablations = experiments.add_parser(
        "ablations", help="the paper's ablations: window length, data amount, features",
        description="On the profile's test split: AM-DETR and the baseline with 1, 4 and "
                    "7 s windows; AM-DETR on 1/8 to 4x the simulated training data; AM-DETR "
                    "with each encoder. Writes OUT/ablations.json and OUT/provenance.json; "
                    "each seed's result is kept in OUT/points/, so a rerun continues where "
                    "an interrupted one stopped.")
    _experiment_arguments(ablations, clap_adds="CLAP to the features study")
    ablations.add_argument("--studies", default="window,data,features",
                           type=_study_list, help="comma-separated subset of window, data, "
                                                  "features (default all)")
    ablations.add_argument("--windows", type=_numbers, default="1,4,7",
                           help="window lengths in seconds (default 1,4,7)")
    ablations.add_argument("--data-scales", type=_numbers, default="0.125,0.25,0.5,1,2,4",
                           help="training data relative to the profile's split: shares "
                                "up to 1, whole numbers above (default "
                                "0.125,0.25,0.5,1,2,4)")

    sed = experiments.add_parser(
        "sed", help="zero-shot sound event detection: AM-DETR and the sliding window vs a "
                    "supervised frame classifier",
        description="On SED recordings of the profile's corpora (several events of several "
                    "classes, one prompt per class): frame-level F1 at the default and the "
                    "validation-tuned threshold, the F1-against-threshold curve of each "
                    "detector, and the zero-shot F1 as a share of the supervised one. "
                    "Writes OUT/sed.json and OUT/provenance.json.")
    _profile_arguments(sed)
    sed.add_argument("--seed", type=int, help="AM-DETR training seed (default: the profile's)")

    occurrences = experiments.add_parser(
        "occurrences", help="queries with zero, one or several moments",
        description="AM-DETR trained as in the paper and with absent pairs (presence "
                    "AUROC, kept/refused at the stored threshold, R1/mAP on present "
                    "queries); the paper's model and one trained on a simulation that "
                    "repeats clips (2-5 placements due, 5 s gaps), scored on single- and "
                    "multi-moment test queries apart, and how many moments each asserts. "
                    "Writes OUT/occurrences.json, OUT/provenance.json and each model's "
                    "mixed-test predictions as OUT/predictions/*.jsonl.")
    _profile_arguments(occurrences)

    transfer = experiments.add_parser(
        "transfer", help="sim-to-real: quick and real-sounds models on each other's test",
        description="AM-DETR (N training seeds) and the baseline of the quick and the "
                    "real-sounds profiles, each scored on both profiles' test splits; "
                    "R1@0.5 per ESC-50 class; the real-sounds test asked in paraphrases. "
                    "Needs AMR_DATA_ROOT. Writes OUT/transfer.json, OUT/provenance.json "
                    "and every prediction set as OUT/predictions/*.jsonl.")
    transfer.add_argument("--seeds", type=int, default=3,
                          help="AM-DETR training seeds (default %(default)s)")
    transfer.add_argument("--trained-on", nargs="+", choices=TRANSFER_PROFILES,
                          help="only the models of these profiles (default: all)")
    transfer.add_argument("--no-mix", dest="mix", action="store_false",
                          help="leave out the model trained on both profiles at once")
    transfer.add_argument("--out", required=True, help="output folder")
    transfer.add_argument("--device", default="auto",
                          help="auto, cpu or cuda (default auto)")

    retrieve = commands.add_parser(
        "retrieve", help="find the moments of a recording that match a text query",
        description="Print the best moments (start, end, score) for QUERY in AUDIO. "
                    "Recordings longer than the training length are scored in chunks.")
    retrieve.add_argument("--checkpoint", required=True, help="best.ckpt written by amr train")
    retrieve.add_argument("audio", help="audio file (wav, flac, ...)")
    retrieve.add_argument("query", help="text query, e.g. 'a dog barks'")
    retrieve.add_argument("--top-k", type=int, default=5)
    retrieve.add_argument("--json", action="store_true", help="print JSON")
    retrieve.add_argument("--plot", metavar="OUT.png",
                          help="also draw the spectrogram with the moments to this image")

    demo = commands.add_parser(
        "demo", help="a web app to search your own recordings (Gradio, localhost)",
        description="Upload or record audio, type what you are listening for, and see and "
                    "hear the moments found. Without --checkpoint, the quick profile's model "
                    "from the cache (trained first when there is none).")
    demo.add_argument("--checkpoint", help="best.ckpt written by amr train")
    demo.add_argument("--port", type=int, default=7860)
    demo.add_argument("--host", default="127.0.0.1",
                      help="address to listen on (default localhost only; 0.0.0.0 for all)")
    demo.add_argument("--examples-dir", help="where to write the bundled example mixtures "
                                             "(default: the cache)")
    for command in (predict, retrieve, demo):
        command.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
        command.add_argument("--clap-model",
                             help="local CLAP folder, for checkpoints trained on CLAP features")
    return parser


def _evaluate(annotations_path: str, predictions_path: str, as_json: bool) -> int:
    report = evaluate(read_annotations(annotations_path), read_predictions(predictions_path))
    print(json.dumps(report) if as_json else format_report(report))
    return 0


def _describe(paths: list[str], as_json: bool) -> int:
    from amr_lib.benchmark_stats import describe

    rows = {path: describe(read_annotations(path)) for path in paths}
    if as_json:
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


def _simulate(clips: CorpusSpec, backgrounds: CorpusSpec, split: str, out: str, seed: int,
              max_segments: int | None, write_audio: bool, sample_rate: int, segment_s: float,
              mean_gap_s: float, instances: tuple[int, int] = (1, 1)) -> int:
    config = SimulationConfig(segment_s=segment_s, mean_gap_s=mean_gap_s,
                              sample_rate=sample_rate, instances=instances)
    result = simulate_split(clips, backgrounds, split, config, seed, max_segments)
    folder = write_split(result, out, write_audio=write_audio)
    print(f"{folder}: {len(result.recipes)} segments, {len(result.annotations)} queries"
          + (", audio rendered" if write_audio else ""))
    return 0


def _features(annotations: str, recipes: str, encoder: str, window_s: float, hop_s: float,
              out: str, checkpoint: str | None, clap_model: str, device: str,
              seed: int) -> int:
    # imported here: torch and transformers take seconds to load, `amr evaluate` needs neither
    from amr_lib.features.encoders import make_feature_encoder
    from amr_lib.features.extract import extract_features
    from amr_lib.features.windows import WindowConfig

    split = read_split(Path(recipes).parent)
    split = replace(split, annotations=read_annotations(annotations))
    window = WindowConfig(window_s, hop_s)
    feature_encoder = make_feature_encoder(
        encoder, window, clip_corpus=split.clip_corpus, sample_rate=split.config.sample_rate,
        checkpoint=checkpoint, clap_model=clap_model, device=device, seed=seed)
    store = extract_features(split, feature_encoder, window, out)
    print(f"{store.audio_dir}: {len({a.vid for a in split.annotations})} recordings; "
          f"{store.text_dir}: {len(split.annotations)} queries")
    return 0


def _train(profile_name: str, out: str, device: str, epochs: int | None,
           absent_share: float = 0.0) -> int:
    from amr_lib.experiment import export_run, train_profile
    from amr_lib.profiles import load_profile
    from amr_lib.train import is_main_process

    run = train_profile(load_profile(profile_name), device=device, epochs=epochs,
                        absent_share=absent_share)
    if is_main_process():
        folder = export_run(run, out)
        print(f"profile {profile_name!r}: best epoch {run.result.best_epoch} of "
              f"{len(run.result.history)}; test split ({run.summary['queries']['test']} "
              f"queries):")
        print(format_report(run.test_metrics))
        presence = run.summary["presence"]
        line = (f"present vs absent queries (test): AUROC of the top score "
                f"{presence['test_auroc']:.3f}")
        if "threshold" in presence:
            line += (f"; at threshold {presence['threshold']:.3f}, "
                     f"{presence['test_present_kept']:.0%} of present kept, "
                     f"{presence['test_absent_refused']:.0%} of absent refused")
        print(line)
        print(f"{folder / 'best.ckpt'}, {folder / 'metrics.json'}")
    return 0


def _train_released(features: str, annotations: str | None, valid: str | None,
                    test: str | None, out: str, model: str, epochs: int | None, seed: int,
                    device: str, absent_share: float) -> int:
    from amr_lib.features.released import ReleasedFeatures
    from amr_lib.released_run import train_released
    from amr_lib.train import is_main_process

    if not (annotations and valid):
        raise ValueError("--features needs --annotations TRAIN.jsonl and --valid VALID.jsonl")
    run = train_released(ReleasedFeatures(features), annotations, valid, out, test, model,
                         epochs, seed, device, absent_share)
    if is_main_process():
        summary = run.summary
        print(f"best epoch {summary['best_epoch']} of {summary['epochs']} "
              f"({summary['queries']['train']} training queries); validation:")
        print(format_report(summary["valid"]))
        if "test" in summary:
            print(f"test ({summary['queries']['test']} queries):")
            print(format_report(summary["test"]))
        print(f"{Path(out) / 'best.ckpt'}, {Path(out) / 'metrics.json'}")
    return 0


def _predict_released(checkpoint: str | None, features: str, annotations: str, out: str,
                      device: str) -> int:
    from amr_lib.features.released import ReleasedFeatures
    from amr_lib.released_run import predict_released

    if checkpoint is None:
        raise ValueError("--features predicts with an AM-DETR --checkpoint; the baseline "
                         "needs audio (--audio-dir)")
    predictions = predict_released(checkpoint, ReleasedFeatures(features), annotations,
                                   device)
    write_predictions(out, predictions)
    print(f"{out}: predictions for {len(predictions)} queries")
    return 0


def _table1(profile_name: str, seeds: int, out: str, clap_model: str | None, device: str,
            epochs: int | None) -> int:
    import time

    from amr_lib.profiles import load_profile
    from amr_lib.table1 import METRICS, PROVENANCE, provenance, run_table1, write_json

    started = time.perf_counter()
    rows = run_table1(load_profile(profile_name), seeds, out, clap_model, device, epochs)
    command = " ".join(["amr experiment table1", f"--profile {profile_name}",
                        f"--seeds {seeds}", f"--out {out}"]
                       + ([f"--epochs {epochs}"] if epochs else []))
    write_json(Path(out) / PROVENANCE, provenance(command, time.perf_counter() - started))
    print(f"{'method':<30}{'features':<23}" + "".join(f"{m:>14}" for m in METRICS))
    for row in rows:
        cells = "".join(f"{row[m]:>8.2f} ±{row[m + '_std']:>4.1f}" for m in METRICS)
        print(f"{row['method']:<30}{row['features']:<23}{cells}")
    print(f"{Path(out) / 'table1.json'}")
    return 0


def _profile_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of a command that runs one profile's chain into a folder."""
    parser.add_argument("--profile", choices=PROFILES, default=DEFAULT_PROFILE)
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")


def _experiment_arguments(parser: argparse.ArgumentParser, clap_adds: str) -> None:
    """The options of ``amr experiment table1`` and ``ablations``: a profile's chain, with
    seeds, CLAP and an epoch override."""
    _profile_arguments(parser)
    parser.add_argument("--seeds", type=int, default=3,
                        help="AM-DETR training seeds (default %(default)s)")
    parser.add_argument("--clap-model", help=f"CLAP hub id or local folder: adds {clap_adds}")
    parser.add_argument("--epochs", type=int, help="override the profile's number of epochs")


def _instances(text: str) -> tuple[int, int]:
    try:
        fewest, most = (int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected FEWEST,MOST (two whole numbers), got "
                                         f"{text!r}") from None
    return fewest, most


def _numbers(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}"
                                         ) from None


def _study_list(text: str) -> list[str]:
    from amr_lib.ablations import STUDIES

    studies = [name.strip() for name in text.split(",") if name.strip()]
    unknown = sorted(set(studies) - set(STUDIES))
    if unknown or not studies:
        raise argparse.ArgumentTypeError(f"unknown studies {unknown}; choose from "
                                         f"{', '.join(STUDIES)}")
    return studies


def _ablations(profile_name: str, seeds: int, out: str, studies: list[str],
               windows_s: tuple[float, ...], data_scales: tuple[float, ...],
               clap_model: str | None, device: str, epochs: int | None) -> int:
    from amr_lib.ablations import (
        ABLATIONS,
        DATA_SCALES,
        STUDIES,
        WINDOWS_S,
        AblationGrid,
        run_ablations,
    )
    from amr_lib.profiles import load_profile
    from amr_lib.table1 import PROVENANCE, encoders_for, provenance, write_json

    grid = AblationGrid(windows_s, data_scales, tuple(encoders_for(clap_model)))
    rows, seconds = run_ablations(load_profile(profile_name), seeds, out, studies, grid,
                                  clap_model, device, epochs)

    def listed(values) -> str:
        return ",".join(f"{v:g}" if isinstance(v, float) else v for v in values)

    options = [("--studies", studies, STUDIES), ("--windows", windows_s, WINDOWS_S),
               ("--data-scales", data_scales, DATA_SCALES)]
    command = " ".join(["amr experiment ablations", f"--profile {profile_name}",
                        f"--seeds {seeds}", f"--out {out}"]
                       + [f"{flag} {listed(values)}" for flag, values, default in options
                          if tuple(values) != tuple(default)]
                       + ([f"--epochs {epochs}"] if epochs else []))
    write_json(Path(out) / PROVENANCE, provenance(command, seconds))
    print(f"{'study':<10}{'value':>8}  {'method':<10}{'features':<23}{'mAP':>14}")
    for row in rows:
        print(f"{row['study']:<10}{row['value']!s:>8}  {row['method']:<10}"
              f"{row['features']:<23}{row['mAP']:>8.2f} ±{row['mAP_std']:>4.1f}")
    print(f"{Path(out) / ABLATIONS}")
    return 0


def _sed(profile_name: str, out: str, device: str, seed: int | None) -> int:
    import time

    from amr_lib.profiles import load_profile
    from amr_lib.sed_experiment import SED_JSON, run_sed
    from amr_lib.table1 import PROVENANCE, provenance, write_json

    started = time.perf_counter()
    result = run_sed(load_profile(profile_name), device, seed)
    write_json(Path(out) / SED_JSON, result)
    command = " ".join(["amr experiment sed", f"--profile {profile_name}", f"--out {out}"]
                       + ([f"--seed {seed}"] if seed is not None else []))
    write_json(Path(out) / PROVENANCE, provenance(command, time.perf_counter() - started))
    print(f"{'method':<16}{'F1 default':>12}{'F1 tuned':>10}{'threshold':>11}{'flat':>6}")
    for method, report in result["methods"].items():
        print(f"{method:<16}{report['default']['f1']:>12.3f}{report['tuned']['f1']:>10.3f}"
              f"{report['tuned_threshold']:>11.3f}{report['f1_flat_share']:>6.2f}")
    shares = result["share_of_supervised"]
    print("share of the supervised F1: " + ", ".join(
        f"{method} {share:.0%}" for method, share in shares.items() if share is not None))
    print(f"{Path(out) / SED_JSON}")
    return 0


def _occurrences(profile_name: str, out: str, device: str) -> int:
    import time

    from amr_lib.occurrences import OCCURRENCES, run_occurrences
    from amr_lib.profiles import load_profile
    from amr_lib.table1 import PROVENANCE, provenance, write_json

    started = time.perf_counter()
    result = run_occurrences(load_profile(profile_name), device,
                             predictions_dir=Path(out) / "predictions")
    write_json(Path(out) / OCCURRENCES, result)
    command = f"amr experiment occurrences --profile {profile_name} --out {out}"
    write_json(Path(out) / PROVENANCE, provenance(command, time.perf_counter() - started))
    for name, found in result["presence"].items():
        print(f"presence, {name} model: AUROC {found['test_auroc']:.3f}, "
              f"R1@0.5 {found['R1@0.5']:.2f}, mAP {found['mAP']:.2f}")
    for name, found in result["several"].items():
        scores, counting = found["scores"], found["counting"]["multi"]
        print(f"{name} model: mAP single {scores['single']['mAP']:.2f}, multi "
              f"{scores['multi']['mAP']:.2f}; multi-moment queries: "
              f"{counting['asserted_mean']:.2f} moments asserted for "
              f"{counting['true_mean']:.2f}, all found {counting['all_found_share']:.0%}")
    print(f"{Path(out) / OCCURRENCES}")
    return 0


def _transfer(seeds: int, out: str, device: str, trained_on: list[str] | None,
              mix: bool) -> int:
    import time

    from amr_lib.profiles import load_profile
    from amr_lib.table1 import PROVENANCE, provenance, write_json
    from amr_lib.transfer import PROFILES, TRANSFER, run_transfer, spread

    if seeds < 1:
        raise ValueError(f"--seeds must be at least 1, got {seeds}")
    started = time.perf_counter()
    study = run_transfer(seeds, device, profiles={name: load_profile(name)
                                                  for name in PROFILES},
                         mix=mix, trained_on=trained_on)
    result = study.rows()
    study.write_predictions(Path(out) / "predictions")
    write_json(Path(out) / TRANSFER, result)
    command = (f"amr experiment transfer --seeds {seeds}"
               + (f" --trained-on {' '.join(trained_on)}" if trained_on else "")
               + ("" if mix else " --no-mix") + f" --out {out}")
    write_json(Path(out) / PROVENANCE, provenance(command, time.perf_counter() - started))
    print(f"{'method':<10}{'trained on':<14}{'tested on':<14}{'queries':<13}"
          f"{'R1@0.5':>14}{'mAP':>14}")
    for row in spread(result["cells"], ("method", "trained_on", "tested_on", "queries")):
        print(f"{row['method']:<10}{row['trained_on']:<14}{row['tested_on']:<14}"
              f"{row['queries']:<13}{row['R1@0.5']:>8.2f} ±{row['R1@0.5_std']:>4.1f}"
              f"{row['mAP']:>8.2f} ±{row['mAP_std']:>4.1f}")
    print(f"{Path(out) / TRANSFER}")
    return 0


def _predict(checkpoint: str | None, baseline: str | None, annotations: str, audio_dir: str,
             out: str, device: str, clap_model: str | None) -> int:
    from amr_lib.retrieve import BaselineRetriever, Retriever, predict_annotations

    retriever = (Retriever.from_checkpoint(checkpoint, device, clap_model) if checkpoint
                 else BaselineRetriever.from_params(baseline, device, clap_model))
    records = read_annotations(annotations)
    write_predictions(out, predict_annotations(retriever, records, audio_dir))
    print(f"{out}: predictions for {len(records)} queries")
    return 0


def _retrieve(checkpoint: str, audio: str, query: str, top_k: int, as_json: bool,
              device: str, clap_model: str | None, plot: str | None = None) -> int:
    from amr_lib.retrieve import Retriever

    retriever = Retriever.from_checkpoint(checkpoint, device, clap_model)
    moments = retriever.retrieve(audio, query, top_k)
    threshold = retriever.presence_threshold
    if as_json:
        rows = [moment.to_json() for moment in moments]
        if threshold is not None:
            for row in rows:
                row["above_threshold"] = row["score"] >= threshold
        print(json.dumps(rows))
    else:
        if retriever.found(moments) is False:
            print(f"no match above the presence threshold {threshold:.3f} (best score "
                  f"{moments[0].score:.3f}); the closest moments:")
        print(f"{'start_s':>8} {'end_s':>8} {'score':>6}")
        for moment in moments:
            print(f"{moment.start_s:>8.1f} {moment.end_s:>8.1f} {moment.score:>6.3f}")
    if plot is not None:
        _plot_moments(audio, query, moments, plot)
        if not as_json:
            print(plot)
    return 0


def _demo(checkpoint: str | None, port: int, host: str, examples_dir: str | None,
          device: str, clap_model: str | None) -> int:
    from amr_lib.cache import default_cache_root
    from amr_lib.demo import DemoSession, build_app, write_examples
    from amr_lib.retrieve import Retriever

    if checkpoint is None:
        from amr_lib.experiment import train_profile
        from amr_lib.profiles import load_profile

        print("no --checkpoint: the quick profile's model (trained now if not cached)")
        checkpoint = str(train_profile(load_profile("quick"), device).run_dir / "best.ckpt")
    session = DemoSession(Retriever.from_checkpoint(checkpoint, device, clap_model))
    examples = write_examples(examples_dir or default_cache_root() / "demo_examples")
    build_app(session, examples).launch(server_name=host, server_port=port,
                                        show_error=False)
    return 0


def _plot_moments(audio: str, query: str, moments, out: str) -> None:
    """The figure the book draws, to a file (a bare ``Figure``: no GUI backend, no
    window, whatever backend the caller's process uses)."""
    from matplotlib.figure import Figure

    from amr_lib.atomic import atomic_write
    from amr_lib.audio import load_audio
    from amr_lib.viz import plot_found_moments

    samples, rate = load_audio(audio)
    fig = Figure(figsize=(10, 3), layout="constrained")
    plot_found_moments(samples, rate, [(m.start_s, m.end_s, m.score) for m in moments],
                       query, ax=fig.subplots())
    atomic_write(Path(out), lambda path: fig.savefig(path, dpi=120,
                                                     format=Path(out).suffix[1:] or "png"))


def format_report(report: dict[str, float]) -> str:
    """The report as a table: one row per metric, one column per IoU threshold."""
    header = "IoU     " + "".join(f"{t:>8.2f}" for t in IOU_THRESHOLDS) + f"{'avg':>8}"
    rows = [header]
    for metric in ("R1", "mAP"):
        values = "".join(f"{report[f'{metric}@{t:g}']:>8.2f}" for t in IOU_THRESHOLDS)
        average = f"{report['mAP']:>8.2f}" if metric == "mAP" else " " * 8
        rows.append(f"{metric:<8}{values}{average}")
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())
