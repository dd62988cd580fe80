"""The `benchbench` command: a thin shell over the library.

Exit codes, for every command: 0 ok; 1 a gate, check or model failed; 2 bad input or environment (one line
naming the input, what was wrong and what is allowed); 3 an internal error (one line, and the traceback in a log
file whose path is printed; `--debug` shows it instead); 130 interrupted. A closed pipe (`| head`) ends the
command quietly. No traceback reaches the terminal otherwise.

Building the parser imports only this package's command modules, which import the library (and torch) inside
their `run`, so `benchbench --help` and `--version` answer at once.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import sys

from benchbench import __version__
from benchbench.core.errors import BadInputError, CheckFailedError, one_line

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

# Command modules of this package, in the order `--help` lists them; each has `add_parser(subparsers)`,
# which sets `func(args) -> exit code`.
COMMANDS = ("listing", "profile", "export", "swap", "kernels", "gpu_check", "estimate", "card", "health", "serve", "run",
            "report", "gate", "history", "compare", "merge", "generate")  # fmt: skip


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's own usage errors are bad input too: exit 2, one line
        self.exit(
            EXIT_BAD_INPUT, f"{self.prog}: error: {' '.join(message.split())} (see {self.prog} --help)\n"
        )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="benchbench", description="What a neural network costs and whether it is ready to deploy."
    )
    parser.add_argument("--version", action="version", version=f"benchbench {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an internal error")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except (
            ImportError
        ) as exc:  # an environment with only some dependencies (a GPU machine's torch and triton)
            _unavailable(sub, _COMMAND_NAMES.get(name, name.replace("_", "-")), exc)
            continue
        module.add_parser(sub)
    return parser


_COMMAND_NAMES = {"listing": "list"}  # command module → command, where they differ


def _unavailable(sub: argparse._SubParsersAction, command: str, exc: ImportError) -> None:
    """A command whose module cannot be imported here: it stays listed and says what is missing (exit 2)."""
    missing = (exc.name or str(exc)).split(".")[0]
    p = sub.add_parser(command, help=f"(unavailable here: needs {missing})", add_help=False)
    p.add_argument("rest", nargs=argparse.REMAINDER)

    def refuse(args: argparse.Namespace) -> int:
        raise BadInputError(f"benchbench {command} needs the package {missing!r}, which this environment lacks; "
                            "install benchbench with its dependencies")  # fmt: skip

    p.set_defaults(func=refuse)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except BadInputError as e:
        return _say(f"benchbench: error: {e}", EXIT_BAD_INPUT)
    except CheckFailedError as e:
        return _say(f"benchbench: check failed: {e}", EXIT_FAILED)
    except KeyboardInterrupt:
        return _say("benchbench: interrupted", EXIT_INTERRUPTED)
    except BrokenPipeError:
        _quiet_stdout()  # the reader went away (`| head`): nothing more to say, to anyone
        return EXIT_OK
    except (
        ImportError,
        MemoryError,
        OSError,
    ) as e:  # the environment: a missing package, memory, a file system
        if args.debug:
            raise
        return _say(f"benchbench: error: {environment_line(e)}", EXIT_BAD_INPUT)
    except RuntimeError as e:
        if args.debug or not _out_of_memory(e):
            return _internal(e, args.debug)
        return _say(f"benchbench: error: out of memory ({one_line(e)}); choose a smaller size, batch or shape",
                    EXIT_BAD_INPUT)  # fmt: skip
    except Exception as e:  # a bug of benchbench's: one line here, the traceback in a log
        return _internal(e, args.debug)


def _internal(e: Exception, debug: bool) -> int:
    if debug:
        raise e
    log = internal_error_log(e)
    where = f"; the traceback is in {log}" if log else ""
    return _say(
        f"benchbench: internal error: {one_line(e)}{where} (rerun with --debug to see it)", EXIT_INTERNAL
    )


def _out_of_memory(e: BaseException) -> bool:
    text = str(e).lower()
    return "out of memory" in text or "can't allocate memory" in text or "not enough memory" in text


def environment_line(e: BaseException) -> str:
    if isinstance(e, ModuleNotFoundError):
        return f"{one_line(e)}; install it (pip install the package, or benchbench's extra that needs it)"
    if isinstance(e, MemoryError):
        return "out of memory; choose a smaller size, batch size or shape"
    if isinstance(e, OSError) and e.filename:
        return f"{e.filename}: {e.strerror or one_line(e)}"
    return one_line(e)


def internal_error_log(e: BaseException) -> str | None:
    """Write the traceback of `e` to a log file (under $XDG_STATE_HOME or ~/.local/state, else the temp folder)."""
    import datetime
    import os
    import tempfile
    import traceback
    from pathlib import Path

    text = "".join(traceback.format_exception(type(e), e, e.__traceback__))
    stamp = datetime.datetime.now().strftime("%Y%m%dT%H%M%S")
    state = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    for folder in (state / "benchbench", Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"benchbench-error-{stamp}-{os.getpid()}.log"
            path.write_text(f"benchbench {__version__}, argv {sys.argv}\n{text}")
            return str(path)
        except OSError:
            continue
    return None


def _say(line: str, code: int) -> int:
    with contextlib.suppress(OSError):
        print(" ".join(line.split()), file=sys.stderr)  # one line, whatever the message held
    return code


def _quiet_stdout() -> None:
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so that the interpreter's final flush cannot fail again
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
