"""The `sgan` command: data, train, baseline, compare, sweep, evaluate, sample, predict, export."""

from __future__ import annotations

import os
import signal
import sys

# Run as the `sgan` command, a Ctrl-C while Python loads the modules is held until they are loaded
# (see `run`), so that it ends the command in one line, not a traceback from inside an import.
_held: list[int] = []
if __name__ == "__main__" or os.path.basename(sys.argv[0]) == "sgan":
    signal.signal(signal.SIGINT, lambda signum, frame: _held.append(signum))

import argparse  # noqa: E402
import json  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import TYPE_CHECKING, Any  # noqa: E402

if TYPE_CHECKING:
    from sgan.config import Config

# sgan's modules are imported inside the commands, so that the command line starts quickly.


def add_run_options(p: argparse.ArgumentParser) -> None:
    """The options of one run: which preset, how many labels, which seed, where."""
    from sgan.config import PRESETS

    p.add_argument("--preset", choices=sorted(PRESETS), help="model and schedule (default: gia)")
    p.add_argument("--labels", type=int, help="labeled examples the trainer may see (default: 100)")
    p.add_argument("--seed", type=int, help="seed for the labeled subset, initialisation and sampling")
    p.add_argument("--label-seed", type=int,
                   help="a separate seed for the labeled subset (default: --seed), as improved-gan's --seed_data")
    p.add_argument("--out", help="run directory (default: runs/<preset>-<method>-<labels>-s<seed>)")
    add_train_options(p)


def add_train_options(p: argparse.ArgumentParser) -> None:
    """Options every trained run takes, one run or a sweep of them."""
    from sgan.config import CHOICES
    from sgan.data.sources import DATASETS

    p.add_argument("--steps", type=int, help="training steps (default: the preset's schedule)")
    p.add_argument("--batch-size", type=int,
                   help="images per step; presets that use half batches (stacked) take half for each update")
    p.add_argument("--dataset", choices=list(DATASETS), help="default: mnist")
    p.add_argument("--data-dir",
                   help="folder holding the dataset files (else SGAN_DATA_DIR, cache, /usr/share/datasets)")
    p.add_argument("--data", metavar="DIR|FILE.npz",
                   help="your own images: a folder with labeled/<class>/, unlabeled/ and optionally test/<class>/, "
                        "or an .npz with x_labeled, y_labeled, x_unlabeled[, x_test, y_test, classes]")
    p.add_argument("--channels", type=int, choices=[1, 3], help="with --data: 1 greyscale, 3 RGB (default: the data's)")
    p.add_argument("--image-size", type=int, metavar="N",
                   help="with --data: resize to NxN, a multiple of 4 (default: the labeled images' size)")
    p.add_argument("--strict", action="store_true", default=None,
                   help="with --data: stop at an unreadable file instead of skipping it")
    p.add_argument("--sample-interval", type=int, help="steps between evaluations, sample grids and checkpoints")
    p.add_argument("--device", help="auto (CUDA where available, else CPU; the default), cpu, cuda, cuda:N or mps")
    p.add_argument("--precision", choices=CHOICES["precision"],
                   help="bf16: autocast; bf16-generator: the generator only, the classifier in float32")
    p.add_argument("--channels-last", action=argparse.BooleanOptionalAction,
                   help="NHWC convolutions (default: on a CPU, where they are faster)")
    p.add_argument("--compile", action="store_true", default=None, help="torch.compile the networks")
    p.add_argument("--tensorboard", action="store_true", default=None,
                   help="also write TensorBoard events to RUN/tensorboard (pip install 'sgan[tensorboard]')")
    p.add_argument("--threads", type=int, help="torch threads (default: all cores)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--set", action="append", default=[], metavar="OPTION=VALUE",
                   help="any configuration option (sgan.config.Config), e.g. --set consistency_weight=0.05; "
                        "repeatable")


def config_from_args(args: argparse.Namespace, method: str = "sgan") -> Config:
    from sgan.config import run_config

    if args.data:
        named = [f"--{k.replace('_', '-')}" for k in ("dataset", "data_dir", "labels", "label_seed")
                 if getattr(args, k, None) is not None]
        if named:
            raise ValueError(f"--data uses every image in its labeled set; {', '.join(named)} choose from a named "
                             "dataset and do not go with it")
    elif any(getattr(args, k, None) is not None for k in ("channels", "image_size", "strict")):
        raise ValueError("--channels, --image-size and --strict describe your own images: give them with --data")
    return run_config(args.preset or "gia", method, **run_options(args))


def run_options(args: argparse.Namespace) -> dict[str, Any]:
    """The options a user gave, as run_config keywords (None: the preset's value)."""
    single = {k: getattr(args, k, None) for k in ("labels", "seed", "label_seed", "out")}
    return dict(
        steps=args.steps, batch_size=args.batch_size, dataset=args.dataset, data_dir=args.data_dir,
        sample_interval=args.sample_interval, precision=args.precision, channels_last=args.channels_last,
        device=args.device, data=str(Path(args.data).absolute()) if args.data else None, channels=args.channels,
        image_size=args.image_size, strict=args.strict,
        compile=args.compile, tensorboard=args.tensorboard, threads=args.threads, **single,
        **parse_settings(getattr(args, "set", [])),
    )


def parse_settings(settings: list[str]) -> dict[str, Any]:
    """--set OPTION=VALUE pairs; a VALUE that reads as JSON (0.05, true, null) is that value, else a string."""
    values: dict[str, Any] = {}
    flagged = {"steps", "batch_size", "dataset", "data_dir", "sample_interval", "precision", "channels_last", "device",
               "data", "channels", "image_size", "strict", "compile", "tensorboard", "threads", "labels", "seed",
               "label_seed", "out"}
    for item in settings:
        name, sep, text = item.partition("=")
        if not sep or not name:
            raise ValueError(f"--set {item!r}: expected OPTION=VALUE, e.g. --set consistency_weight=0.05")
        key = name.strip().replace("-", "_")
        if key in flagged:
            raise ValueError(f"--set {key}: it has its own option, --{key.replace('_', '-')}")
        if key in ("preset", "method"):
            raise ValueError(f"--set {key}: choose it with {'--preset' if key == 'preset' else 'the command'}")
        try:
            values[name.strip().replace("-", "_")] = json.loads(text)
        except json.JSONDecodeError:
            values[name.strip().replace("-", "_")] = text
    return values


def cmd_data(args: argparse.Namespace) -> int:
    from sgan.data import data_summary, format_summary

    if args.data:
        return own_data_summary(args.data, Path(args.out))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    summary = data_summary(args.dataset, args.data_dir, out_png=out / f"{args.dataset}-examples.png")
    print(format_summary(summary))
    return 0


def own_data_summary(data: str, out: Path) -> int:
    """`sgan data --data`: the classes, counts and shape a run on the user's images would see, and a grid."""
    import numpy as np

    from sgan.data.split import own_split
    from sgan.report import save_grid

    split = own_split(data, unlabeled="rest", pixel_range="unit")
    c, h, w = split.image_shape
    labeled = np.bincount(split.labeled_targets.numpy(), minlength=split.num_classes)
    test = np.bincount(split.test_targets.numpy(), minlength=split.num_classes)
    width = max(len("class"), *(len(name) for name in split.classes))
    lines = [f"data        {split.source}",
             f"images      {len(split.labeled_images)} labeled, {len(split.unlabeled_images)} unlabeled, "
             f"{len(split.test_images) or 'no'} test; {h}x{w}, {'RGB' if c == 3 else 'greyscale'}",
             *(f"note        {n}" for n in split.notes), "", f"{'class':<{width}}  {'labeled':>7}  {'test':>6}"]
    lines += [f"{name:<{width}}  {a:>7}  {b:>6}" for name, a, b in zip(split.classes, labeled, test, strict=True)]
    out.mkdir(parents=True, exist_ok=True)
    grid = save_grid(split.labeled_images[:100], out / f"{Path(data).stem}-labeled.png", "unit")
    print("\n".join([*lines, "", f"grid        {grid} (the first 100 labeled images)"]))
    return 0


def cmd_train(args: argparse.Namespace, method: str = "sgan") -> int:
    from sgan.engine import resume, train

    if getattr(args, "resume", None):
        check_resume_options(args)
        result = resume(args.resume, steps=args.steps, threads=args.threads, data_dir=args.data_dir,
                        device=args.device, progress=not args.no_progress)
    else:
        if getattr(args, "config", None):
            from sgan.config import on_this_machine

            given = [k for k, v in run_options(args).items() if v is not None and k not in (*RESUME_OPTIONS, "out")]
            if given or args.preset:
                names = ", ".join("--" + k.replace("_", "-") for k in (given or ["preset"]))
                raise ValueError(f"--config {args.config} reruns that configuration; {names} cannot change it "
                                 "(only --out, --steps, --threads, --data-dir and --device may)")
            # where and how this machine runs it; the rest is the saved run's
            config = on_this_machine(load_config_file(args.config), args.threads, args.data_dir, args.device)
            if args.steps:
                config = config.with_steps(args.steps)
            if args.out:
                config = config.replace(out=args.out)
        else:
            config = config_from_args(args, method)
        if getattr(args, "summary", False):
            from sgan.summary import summarize

            print(summarize(config))
            return 0
        result = train(config, progress=not args.no_progress)
    print_result(result)
    return 0


# What may differ when a run goes on: its length, and where and how fast it runs. The rest is the
# run's configuration, saved in its folder; changing it would splice two different runs into one.
RESUME_OPTIONS = ("steps", "threads", "data_dir", "device")


def check_resume_options(args: argparse.Namespace) -> None:
    given = {k: v for k, v in run_options(args).items() if v is not None and k not in RESUME_OPTIONS}
    given |= {k: True for k in ("preset", "config") if getattr(args, k, None)}
    given |= {"summary": True} if getattr(args, "summary", False) else {}
    if given:
        names = ", ".join("--" + k.replace("_", "-") for k in given)
        raise ValueError(f"--resume continues {args.resume} with the configuration saved there; {names} cannot "
                         f"change it (only --steps, --threads, --data-dir and --device may)")


def load_config_file(path: str) -> Config:
    from sgan.config import config_from_dict

    try:
        values = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: cannot read config ({e})") from None
    return config_from_dict(values)


def print_result(result: dict[str, Any]) -> None:
    accuracy = ("no test set" if result["test_accuracy"] is None
                else f"{100 * result['test_accuracy']:.2f}% ({result['test_errors']} errors)")
    print(f"{result['preset']} {result['method']}: test accuracy {accuracy}, {result['steps']} steps in "
          f"{result['wall_seconds']:.1f} s; report: {Path(result['run_dir']) / 'report.md'}")
    for warning in result.get("warnings", []):
        print(f"sgan: warning: {warning}", file=sys.stderr)


def cmd_compare(args: argparse.Namespace) -> int:
    from sgan.engine import train

    results = []
    for method in ("sgan", "supervised"):
        config = config_from_args(args, method)
        if args.out:
            config = config.replace(out=str(Path(args.out) / method))
        results.append(train(config, progress=not args.no_progress))
    lines = ["| method | labels | steps | test accuracy | test errors | wall seconds |", "|---|---|---|---|---|---|"]
    for r in results:
        accuracy, errors = ("none (no test set)", "-") if r["test_accuracy"] is None else (
            f"{100 * r['test_accuracy']:.2f}%", r["test_errors"])
        lines.append(f"| {r['method']} | {r['labels']} | {r['steps']} | {accuracy} | {errors} | "
                     f"{r['wall_seconds']:.1f} |")
    table = "\n".join(lines)
    print(table)
    if args.out:
        title = f"# {results[0]['preset']}: SGAN against the supervised baseline"
        from sgan.files import write_text

        write_text(Path(args.out, "compare.md"), f"{title}\n\n{table}\n")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from sgan.inference import evaluate_checkpoint

    result = evaluate_checkpoint(args.checkpoint, data_dir=args.data_dir)
    print(f"{args.checkpoint}: test accuracy {100 * result['accuracy']:.2f}% ({result['errors']} errors in "
          f"{result['size']}; {result['evaluated_with']}, step {result['step']})")
    print("per-class accuracy: " + " ".join(f"{name}:" + ("n/a" if a is None else f"{100 * a:.1f}")
                                            for name, a in zip(result["classes"], result["per_class_accuracy"],
                                                               strict=True)))
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    from sgan.inference import sample_checkpoint

    path = sample_checkpoint(args.checkpoint, n=args.n, out=args.out, seed=args.seed)
    print(f"wrote {args.n} generated images to {path}")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from sgan.data import DataError
    from sgan.predict import format_row, predict_files, write_csv

    if args.out and not Path(args.out).resolve().parent.is_dir():
        raise ValueError(f"--out {args.out}: the folder {Path(args.out).parent} does not exist")
    rows = predict_files(args.checkpoint, args.paths, top_k=args.top_k, batch_size=args.batch_size)
    failed = [row for row in rows if row["error"]]
    if not rows:
        raise DataError(f"no image files found in {', '.join(args.paths)}")
    if len(failed) == len(rows):
        first = failed[0]["error"]
        raise DataError(first if len(rows) == 1 else f"none of the {len(rows)} files could be classified "
                        f"(first: {first})")
    for row in rows:
        if row["error"]:
            print(f"sgan: warning: skipped {row['error']}", file=sys.stderr)
        else:
            print(format_row(row))
    if failed:
        done = len(rows) - len(failed)
        print(f"sgan: {done} image{'s' * (done != 1)} classified, {len(failed)} file{'s' * (len(failed) != 1)} "
              "skipped", file=sys.stderr)
    if args.out:
        print(f"sgan: wrote {len(rows)} rows to {write_csv(rows, args.out, args.top_k)}", file=sys.stderr)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from sgan.export import export_classifier

    path = export_classifier(args.checkpoint, args.out, format=args.format)
    print(f"wrote the classifier as {args.format} to {path} (input: uint8 images [N, H, W, C], output: logits)")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from sgan.devices import resolve_device
    from sgan.sweep import plan, run_sweep

    resolve_device(args.device or "auto")  # a device this machine lacks: one line, before any run

    if args.data:
        from sgan.data.split import has_test_images

        if args.labels_list != "100":
            raise ValueError("--data uses every image in its labeled set; --labels chooses from a named dataset")
        if not has_test_images(args.data):
            raise ValueError(f"a sweep compares test accuracies: {args.data} has no test images "
                             "(DIR/test/<class>/... or x_test in the .npz)")
    presets = [p.strip() for p in args.presets.split(",") if p.strip()]
    try:
        labels = [int(n) for n in args.labels_list.split(",") if n.strip()]
    except ValueError:
        raise ValueError(f"--labels must be comma-separated integers, got {args.labels_list!r}") from None
    if args.seeds <= 0:
        raise ValueError(f"--seeds must be positive, got {args.seeds}")
    specs = plan(presets, labels, range(args.seeds), args.baseline, precision=args.precision)
    options = {k: v for k, v in run_options(args).items() if v is not None and k not in ("labels", "seed", "out")}
    print(f"sweep: {len(specs)} runs into {args.out} ({args.workers} worker(s), executor {args.executor})")
    _, failures = run_sweep(specs, args.out, options, workers=args.workers, executor=args.executor,
                            address=args.address)
    print(Path(args.out, "results.md").read_text())
    if failures:
        for spec, error in failures:
            print(f"sgan: error: {spec.name} failed: {error.splitlines()[0]}", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    from sgan.data.sources import DATASETS

    parser = argparse.ArgumentParser(prog="sgan", description="Semi-supervised GANs for image classification.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("data", help="summarise a dataset and draw examples of each class")
    p.add_argument("--dataset", default="mnist", choices=list(DATASETS))
    p.add_argument("--data-dir")
    p.add_argument("--data", metavar="DIR|FILE.npz", help="your own images instead: what sgan train --data would see")
    p.add_argument("--out", default="runs/data", help="folder for the example grid (default: runs/data)")
    p.set_defaults(func=cmd_data)

    p = sub.add_parser("train", help="train a semi-supervised GAN")
    add_run_options(p)
    p.add_argument("--resume", metavar="DIR", help="continue the interrupted run in DIR")
    p.add_argument("--config", metavar="FILE", help="rerun from a run's config.json")
    p.add_argument("--summary", action="store_true", help="print the networks' layers and parameter counts")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("baseline", help="train the same classifier supervised on the labeled subset only")
    add_run_options(p)
    p.set_defaults(func=lambda a: cmd_train(a, method="supervised"))

    p = sub.add_parser("compare", help="train the SGAN and its supervised baseline, then tabulate")
    add_run_options(p)
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("sweep", help="a grid of presets x label counts x seeds, resumable, aggregated")
    add_train_options(p)
    p.add_argument("--presets", default="gia", help="comma-separated presets (default: gia)")
    p.add_argument("--labels", dest="labels_list", default="100", help="comma-separated label counts")
    p.add_argument("--seeds", type=int, default=3, help="number of seeds, 0..N-1 (default: 3)")
    p.add_argument("--baseline", action="store_true", help="also train each cell's supervised baseline")
    p.add_argument("--out", required=True, help="sweep folder; rerunning resumes it")
    p.add_argument("--workers", type=int, default=1, help="runs in parallel; cores are shared among them")
    p.add_argument("--executor", choices=["local", "ray"], default="local")
    p.add_argument("--address", help="Ray cluster address (default: start a local Ray instance)")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("evaluate", help="test accuracy of a checkpoint")
    p.add_argument("checkpoint")
    p.add_argument("--data-dir")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("sample", help="a grid of generated images from a checkpoint")
    p.add_argument("checkpoint")
    p.add_argument("--n", type=int, default=100)
    p.add_argument("--out", default="samples.png")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("predict", help="classify image files with a checkpoint's classifier")
    p.add_argument("checkpoint", metavar="RUN|CHECKPOINT", help="a run directory or a checkpoint file")
    p.add_argument("paths", nargs="+", metavar="PATH", help="image files, or folders (searched recursively)")
    p.add_argument("--top-k", type=int, default=1, metavar="K", help="the K most probable classes (default: 1)")
    p.add_argument("--out", metavar="FILE.csv", help="also write the predictions as CSV")
    p.add_argument("--batch-size", type=int, default=256, help="images per forward pass (default: 256)")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("export", help="the classifier with its input scaling, as TorchScript or ONNX")
    p.add_argument("checkpoint", metavar="RUN|CHECKPOINT", help="a run directory or a checkpoint file")
    p.add_argument("--format", required=True, choices=["torchscript", "onnx"],
                   help="onnx needs pip install 'sgan[onnx]'")
    p.add_argument("--out", required=True, metavar="FILE", help="the file to write")
    p.set_defaults(func=cmd_export)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:  # while sgan and torch load, or outside a training loop (a sweep's parent)
        print("sgan: interrupted; completed runs and saved checkpoints are kept", file=sys.stderr)
        return 130


def _main(argv: list[str] | None) -> int:
    from sgan.checkpoint import CheckpointError
    from sgan.data import DataError
    from sgan.engine import TrainingError, TrainingInterrupted

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except TrainingInterrupted as e:
        print(f"sgan: {e}", file=sys.stderr)
        return 130
    except (DataError, CheckpointError, TrainingError, ValueError, OSError) as e:
        print(f"sgan: error: {e}", file=sys.stderr)
        return 1


def run() -> None:
    """The console entry point: `main`, then an exit that a late Ctrl-C cannot turn into a traceback."""
    # A Ctrl-C in the middle of numpy's or torch's import leaves the module broken for the rest of
    # the process (a later import fails with ImportError): those imports finish first, then it counts.
    signal.signal(signal.SIGINT, lambda signum, frame: _held.append(signum))
    try:
        import numpy  # noqa: F401
        import torch  # noqa: F401
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if _held:
        print("sgan: interrupted; completed runs and saved checkpoints are kept", file=sys.stderr)
        sys.stderr.flush()
        os._exit(130)
    code = main()
    # Nothing is left to stop once main has returned; a Ctrl-C in torch's exit handlers would print a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.stdout.flush()
    sys.stderr.flush()
    if code == 130:
        # After an interrupt inside an import CPython re-raises SIGINT at exit (status -2); leave with ours.
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    run()
