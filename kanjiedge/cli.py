"""`kanjiedge` command line: one sub-command per module, each module owning its own argparse.

Every sub-command module exposes `cli(argv: list[str]) -> int`. Errors a user can fix (bad file, missing
dataset, wrong target name, an --out the command will not overwrite) are raised as `kanjiedge.errors.UserError`
(or FileNotFoundError) and printed as one line, without a traceback; any other exception is a bug and keeps its
traceback.
"""

import importlib
import sys

COMMANDS = {  # name -> (module, one-line help)
    "etl": ("kanjiedge.etl", "inspect ETL files: `etl info PATH...`, `etl show PATH --index N --out x.png`"),
    "synth": ("kanjiedge.synth", "write synthetic ETL files rendered from KanjiVG strokes"),
    "fonts": ("kanjiedge.fontwriter", "installed Japanese fonts: `fonts list`, `fonts write` (fonts as ETL writers)"),
    "dataset": ("kanjiedge.dataset", "ETL files (or synthetic ones) -> artifacts/dataset/<name>/"),
    "train": ("kanjiedge.train", "train a registered architecture"),
    "evaluate": ("kanjiedge.evaluate", "accuracy of a checkpoint or ONNX model on a folder of ETL files"),
    "predict": ("kanjiedge.predict", "top-k characters for an image of a handwritten character"),
    "edge": ("kanjiedge.edge", "quantize + export + verify one deployment target"),
    "webpage": ("kanjiedge.webpage", "write the drawing web page for an ONNX model (optionally --serve it)"),
}


def usage() -> str:
    lines = ["usage: kanjiedge COMMAND [options]   (kanjiedge COMMAND --help for details)", "", "commands:"]
    lines += [f"  {name:<10} {help_}" for name, (_, help_) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0
    if argv[0] in ("-V", "--version"):
        from kanjiedge import __version__

        print(__version__)
        return 0
    if argv[0] not in COMMANDS:
        print(f"kanjiedge: unknown command {argv[0]!r}\n\n{usage()}", file=sys.stderr)
        return 2
    from kanjiedge.errors import UserError

    module = importlib.import_module(COMMANDS[argv[0]][0])
    try:
        return int(module.cli(argv[1:]) or 0)
    except (UserError, FileNotFoundError, PermissionError) as e:  # what a user can fix; a bug keeps its traceback
        print(f"kanjiedge {argv[0]}: error: {e}", file=sys.stderr)
        return getattr(e, "exit_code", 1)
    except KeyboardInterrupt:
        print(f"kanjiedge {argv[0]}: interrupted (finished outputs are kept; partial ones were not written)",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
