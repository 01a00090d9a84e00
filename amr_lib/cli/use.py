"""``amr retrieve`` and ``amr demo``: a trained model asked about your own recordings."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from amr_lib.cli.options import add_clap_model, add_device, positive_int


def register(commands: argparse._SubParsersAction) -> None:
    retrieve = commands.add_parser(
        "retrieve", help="find the moments of a recording that match text queries",
        description="Print the best moments (start, end, score) for each QUERY in AUDIO; "
                    "the recording is embedded once for all of them. Recordings longer "
                    "than the training length are scored in chunks. A checkpoint trained "
                    "with absent queries also says whether each sound is there at all: "
                    "'not found' (with the closest moments, shown as such) when its "
                    "calibrated presence probability is below its threshold.")
    retrieve.add_argument("--checkpoint", required=True, help="best.ckpt written by amr train")
    retrieve.add_argument("audio", help="audio file (wav, flac, ...)")
    retrieve.add_argument("query", nargs="+",
                          help="text queries, e.g. 'a dog barks' 'a church bell rings'")
    retrieve.add_argument("--top-k", type=positive_int, default=5)
    retrieve.add_argument("--json", action="store_true",
                          help="print one JSON object: duration_s, profile, "
                               "presence_threshold and, per query, found, presence "
                               "(the calibrated probability, or null) and the moments")
    retrieve.add_argument("--plot", metavar="OUT.png",
                          help="also draw the spectrogram with the moments to this image "
                               "(one panel per query)")
    add_device(retrieve, "cpu")
    add_clap_model(retrieve)
    retrieve.set_defaults(handler=_retrieve)

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
    add_device(demo, "cpu")
    add_clap_model(demo)
    demo.set_defaults(handler=_demo)


def _retrieve(args: argparse.Namespace) -> int:
    from amr_lib.config import resolve_device
    from amr_lib.retrieve import CheckpointInfo, Retriever, check_query, check_recording

    # every input is checked before the model and its encoder load (seconds)
    queries = [check_query(query) for query in args.query]
    device = resolve_device(args.device)
    if args.plot is not None:
        _check_plot_path(args.plot)
    info = CheckpointInfo.read(args.checkpoint)
    duration_s = check_recording(args.audio, info.window)
    retriever = Retriever.from_checkpoint(args.checkpoint, device, args.clap_model)
    frames = retriever.embed(args.audio)
    # a list, not a dict: a query asked twice is answered twice
    searches = [(query, retriever.search_frames(frames, query, args.top_k))
                for query in queries]
    calibration = retriever.calibration
    # the threshold the verdicts use: the calibrated probability's, or the top score's
    threshold = (calibration.threshold if calibration is not None
                 else retriever.presence_threshold)
    if args.json:
        score_threshold = None if calibration is not None else threshold
        print(json.dumps({
            "audio": args.audio, "duration_s": round(duration_s, 3),
            "profile": info.profile, "recipe": info.recipe,
            "presence_threshold": threshold,
            "queries": [{"query": query, "found": search.found, "presence": search.presence,
                         "moments": [_moment_json(moment, score_threshold)
                                     for moment in search.moments]}
                        for query, search in searches]}))
    else:
        _print_answers(args.audio, duration_s, info, searches, threshold,
                       calibration is not None)
    if args.plot is not None:
        _plot_answers(args.audio, [(q, search.moments) for q, search in searches], args.plot)
        if not args.json:
            print(args.plot)
    return 0


def _moment_json(moment, threshold: float | None) -> dict:
    row = moment.to_json()
    if threshold is not None:
        row["above_threshold"] = moment.score >= threshold
    return row


def _check_plot_path(out: str) -> None:
    """Refuse a figure type matplotlib cannot write, before anything is computed (a
    missing folder is made, as for every file amr writes)."""
    from matplotlib.figure import Figure

    path = Path(out)
    kinds = Figure().canvas.get_supported_filetypes()
    if path.suffix[1:].lower() not in kinds:
        raise ValueError(f"{path}: cannot draw a {path.suffix or 'suffix-less'} file; use "
                         f"one of {', '.join('.' + kind for kind in sorted(kinds))}")


def _print_answers(audio: str, duration_s: float, info, searches: list,
                   threshold: float | None, calibrated: bool) -> None:
    print(f"{audio}: {duration_s:.1f} s; model trained on {info.profile or 'unknown data'} "
          f"({info.recipe} recipe)")
    if threshold is None:
        print("this checkpoint has no presence threshold (trained without absent queries):\n"
              "the scores rank moments, they do not say whether a sound is there")
    for query, search in searches:
        moments = search.moments
        print(f"\n{query!r}")
        if calibrated:
            verdict = "found" if search.found else "not found"
            print(f"{verdict}: presence probability {search.presence:.2f} (threshold "
                  f"{threshold:.2f})" + ("" if search.found else "; the closest moments:"))
        elif search.found is False:
            print(f"no match above the presence threshold {threshold:.3f} (best score "
                  f"{moments[0].score:.3f}); the closest moments:")
        print(f"{'start_s':>8} {'end_s':>8} {'score':>6}")
        for moment in moments:
            print(f"{moment.start_s:>8.1f} {moment.end_s:>8.1f} {moment.score:>6.3f}")


def _plot_answers(audio: str, answers: list, out: str) -> None:
    """The book's figure of found moments, one panel per query, to a file (a bare
    ``Figure``: no GUI backend, whatever backend the caller's process uses)."""
    from matplotlib.figure import Figure

    from amr_lib.audio import load_audio
    from amr_lib.storage.atomic import atomic_write
    from amr_lib.viz import plot_found_moments

    samples, rate = load_audio(audio)
    fig = Figure(figsize=(10, 3 * len(answers)), layout="constrained")
    axes = fig.subplots(len(answers), 1, squeeze=False)[:, 0]
    for ax, (query, moments) in zip(axes, answers, strict=True):
        plot_found_moments(samples, rate, [(m.start_s, m.end_s, m.score) for m in moments],
                           query, ax=ax)
    atomic_write(Path(out), lambda path: fig.savefig(path, dpi=120,
                                                     format=Path(out).suffix[1:].lower()))


def _demo(args: argparse.Namespace) -> int:
    from amr_lib.config import resolve_device
    from amr_lib.demo import DemoSession, build_app, write_examples
    from amr_lib.retrieve import Retriever
    from amr_lib.storage.cache import default_cache_root

    device = resolve_device(args.device)
    checkpoint = args.checkpoint
    if checkpoint is None:
        from amr_lib.profiles import load_profile
        from amr_lib.runs.chain import train_profile

        print("no --checkpoint: the quick profile's model (trained now if not cached)")
        checkpoint = str(train_profile(load_profile("quick"), str(device)).run_dir
                         / "best.ckpt")
    session = DemoSession(Retriever.from_checkpoint(checkpoint, device, args.clap_model))
    examples = write_examples(args.examples_dir or default_cache_root() / "demo_examples")
    build_app(session, examples).launch(server_name=args.host, server_port=args.port,
                                        show_error=False)
    return 0
