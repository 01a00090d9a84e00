"""``amr train`` and ``amr predict``: AM-DETR trained from a profile or from released
features, and predictions for every query of an annotation file."""

from __future__ import annotations

import argparse
from pathlib import Path

from amr_lib.cli.options import add_clap_model, add_device, add_profile_run, format_report
from amr_lib.lighthouse_jsonl import read_annotations, write_predictions
from amr_lib.model.recipes import RECIPES


def register(commands: argparse._SubParsersAction) -> None:
    train = commands.add_parser(
        "train", help="run a profile's chain and train AM-DETR",
        description="Simulate the profile's splits, train or reuse its feature encoder, "
                    "extract features, train AM-DETR (best epoch by validation average mAP) "
                    "and score it on test. Every stage is cached. Writes OUT/best.ckpt, "
                    "OUT/metrics.json, OUT/history.csv and OUT/test_predictions.jsonl. "
                    "With --features, train on released pre-extracted features in "
                    "Lighthouse's layout (DIR/clap/{vid}.npz, DIR/clap_text/qid{qid}.npz) "
                    "for the queries of --annotations instead, with the paper's recipe.")
    add_profile_run(train)
    train.add_argument("--epochs", type=int, help="override the profile's number of epochs")
    train.add_argument("--absent-share", type=float, default=0.0, metavar="F",
                       help="pair this share of each batch with the text of a query about "
                            "another recording, labelled 'no moment', so the top score says "
                            "whether a sound is present; the threshold chosen on validation "
                            "goes into the checkpoint (default %(default)s)")
    train.add_argument("--recipe", choices=list(RECIPES), default="paper",
                       help="paper (AM-DETR as published, the default) or a recipe beyond "
                            "the paper: presence (a presence head on absent pairs), "
                            "class-aware (absent pairs by sound class), in-recording (the "
                            "recording's other events as hard negatives), aware (all of "
                            "them); these calibrate a presence probability on validation, "
                            "so amr retrieve and amr demo can answer 'not found'")
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
    train.set_defaults(handler=_train)

    predict = commands.add_parser(
        "predict", help="predict moments for every query of an annotation file",
        description="Read the audio of every recording of the annotations (AUDIO_DIR/"
                    "{vid}.wav, .flac, .ogg or .mp3) and write the top-10 moments of every "
                    "query as Lighthouse prediction JSONL.")
    model = predict.add_mutually_exclusive_group(required=True)
    model.add_argument("--checkpoint", help="AM-DETR: best.ckpt written by amr train")
    model.add_argument("--baseline", metavar="PARAMS.json",
                       help="the sliding-window baseline: baseline_<features>.json written "
                            "by amr experiment table1")
    predict.add_argument("--annotations", required=True, help="Lighthouse annotation JSONL")
    inputs = predict.add_mutually_exclusive_group(required=True)
    inputs.add_argument("--audio-dir",
                        help="folder of {vid}.wav, .flac, .ogg or .mp3 files")
    inputs.add_argument("--features", metavar="DIR",
                        help="released features in Lighthouse's layout, for a checkpoint "
                             "trained on them with amr train --features")
    predict.add_argument("--out", required=True, help="prediction JSONL to write")
    add_device(predict, "cpu")
    add_clap_model(predict)
    predict.set_defaults(handler=_predict)


def _train(args: argparse.Namespace) -> int:
    if args.features:
        return _train_released(args)
    if args.annotations or args.valid or args.test:
        raise ValueError("--annotations, --valid and --test go with --features DIR "
                         "(released features); a profile simulates its own splits")
    from amr_lib.config import resolve_device
    from amr_lib.profiles import load_profile
    from amr_lib.runs.chain import export_run, train_profile
    from amr_lib.train import is_main_process

    resolve_device(args.device)
    run = train_profile(load_profile(args.profile), device=args.device, epochs=args.epochs,
                        absent_share=args.absent_share, recipe=args.recipe)
    if is_main_process():
        folder = export_run(run, args.out, presence=True)
        print(f"profile {args.profile!r}: best epoch {run.result.best_epoch} of "
              f"{len(run.result.history)}; test split ({run.queries['test']} "
              f"queries):")
        print(format_report(run.test_metrics))
        presence = run.presence
        line = (f"present vs absent queries (test): AUROC of the top score "
                f"{presence['test_auroc']:.3f}")
        if "threshold" in presence:
            line += (f"; at threshold {presence['threshold']:.3f}, "
                     f"{presence['test_present_kept']:.0%} of present kept, "
                     f"{presence['test_absent_refused']:.0%} of absent refused")
        print(line)
        calibrated = presence.get("calibrated")
        if calibrated:
            print(f"calibrated presence probability ({' + '.join(calibrated['signals'])}): "
                  f"test AUROC {calibrated['test_auroc']:.3f}, ECE "
                  f"{calibrated['test_ece']:.3f}; at {calibrated['threshold']:.2f}, "
                  f"{calibrated['test_present_kept']:.0%} of present kept, "
                  f"{calibrated['test_absent_refused']:.0%} of absent refused")
        print(f"{folder / 'best.ckpt'}, {folder / 'metrics.json'}")
    return 0


def _train_released(args: argparse.Namespace) -> int:
    from amr_lib.config import resolve_device
    from amr_lib.features.released import ReleasedFeatures
    from amr_lib.runs.released import train_released
    from amr_lib.train import is_main_process

    if not (args.annotations and args.valid):
        raise ValueError("--features needs --annotations TRAIN.jsonl and --valid VALID.jsonl")
    resolve_device(args.device)
    run = train_released(ReleasedFeatures(args.features), args.annotations, args.valid,
                         args.out, args.test, args.model, args.epochs, args.seed, args.device,
                         args.absent_share)
    if is_main_process():
        summary = run.summary
        print(f"best epoch {summary['best_epoch']} of {summary['epochs']} "
              f"({summary['queries']['train']} training queries); validation:")
        print(format_report(summary["valid"]))
        if "test" in summary:
            print(f"test ({summary['queries']['test']} queries):")
            print(format_report(summary["test"]))
        print(f"{Path(args.out) / 'best.ckpt'}, {Path(args.out) / 'metrics.json'}")
    return 0


def _predict(args: argparse.Namespace) -> int:
    from amr_lib.config import resolve_device

    device = str(resolve_device(args.device))
    if args.features:
        return _predict_released(args, device)
    from amr_lib.retrieve import BaselineRetriever, Retriever, predict_annotations

    records = read_annotations(args.annotations)
    retriever = (Retriever.from_checkpoint(args.checkpoint, device, args.clap_model)
                 if args.checkpoint
                 else BaselineRetriever.from_params(args.baseline, device, args.clap_model))
    write_predictions(args.out, predict_annotations(retriever, records, args.audio_dir))
    print(f"{args.out}: predictions for {len(records)} queries")
    return 0


def _predict_released(args: argparse.Namespace, device: str) -> int:
    from amr_lib.features.released import ReleasedFeatures
    from amr_lib.runs.released import predict_released

    if args.checkpoint is None:
        raise ValueError("--features predicts with an AM-DETR --checkpoint; the baseline "
                         "needs audio (--audio-dir)")
    predictions = predict_released(args.checkpoint, ReleasedFeatures(args.features),
                                   args.annotations, device)
    write_predictions(args.out, predictions)
    print(f"{args.out}: predictions for {len(predictions)} queries")
    return 0
