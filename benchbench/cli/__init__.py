"""The `benchbench` command: a thin shell over the library.

Exit codes, for every command: 0 ok; 1 a gate, check or model failed; 2 bad input or environment (one line
naming the input, what was wrong and what is allowed); 3 an internal error (one line, and the traceback in a log
file whose path is printed; `--debug` shows it instead); 130 interrupted. A closed pipe (`| head`) ends the
command quietly. No traceback reaches the terminal otherwise.

Every module of this package with an `add_parser(subparsers)` function is a command (found by `command_modules`,
registered in `COMMANDS` by its command name, and listed by `--help` in that order): adding a command is adding
its module. Building the parser imports only these modules, which import the library (and torch) inside their
`run`, so `benchbench --help` and `--version` answer at once.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import pkgutil
import sys
import warnings
from collections.abc import Callable

from benchbench import __version__
from benchbench.core import inert
from benchbench.core.errors import BadInputError, CheckFailedError, one_line
from benchbench.core.registry import Registry

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

# command name -> its module's `add_parser(subparsers)`, which sets `func(args) -> exit code`
COMMANDS: Registry[Callable[[argparse._SubParsersAction], None]] = Registry("command")
_NOT_COMMANDS = frozenset({"common", "serve_llm"})  # modules of this package that are not commands
_COMMAND_NAMES = {"listing": "list"}  # command module → command, where they differ


def command_name(module: str) -> str:
    """The command a module of this package defines: `gpu_check` → `gpu-check`, `listing` → `list`."""
    return _COMMAND_NAMES.get(module, module.replace("_", "-"))


def command_modules() -> list[str]:
    """The command modules of this package, in the order `--help` lists them (by command name)."""
    found = [
        m.name
        for m in pkgutil.iter_modules(__path__)
        if not m.name.startswith("_") and m.name not in _NOT_COMMANDS
    ]
    return sorted(found, key=command_name)


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
    parser.add_argument("--plugin", action="append", default=[], metavar="MODULE",
                        help="import MODULE first, registering the run stages it defines (repeatable)")  # fmt: skip
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in command_modules():
        command = command_name(name)
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except (
            ImportError
        ) as exc:  # an environment with only some dependencies (a GPU machine's torch and triton)
            _unavailable(sub, command, exc)
            continue
        if command not in COMMANDS:
            COMMANDS.add(command, module.add_parser)
        COMMANDS.get(command)(sub)
    return parser


def _unavailable(sub: argparse._SubParsersAction, command: str, exc: ImportError) -> None:
    """A command whose module cannot be imported here: it stays listed and says what is missing (exit 2)."""
    missing = (exc.name or str(exc)).split(".")[0]
    p = sub.add_parser(command, help=f"(unavailable here: needs {missing})", add_help=False)
    p.add_argument("rest", nargs=argparse.REMAINDER)

    def refuse(args: argparse.Namespace) -> int:
        raise BadInputError(f"benchbench {command} needs the package {missing!r}, which this environment lacks; "
                            "install benchbench with its dependencies")  # fmt: skip

    p.set_defaults(func=refuse)


def _terminated(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM keeps Ctrl-C's contract: what is done is kept, exit 130


def main(argv: list[str] | None = None) -> int:
    """Run one command; the exit code (see the module docstring). SIGTERM counts as Ctrl-C from the start."""
    import signal
    import threading

    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        return _main(argv)
    except KeyboardInterrupt:  # while the parser is built, before a command's own handling
        return _say("benchbench: interrupted", EXIT_INTERRUPTED)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _main(argv: list[str] | None) -> int:
    args = build_parser().parse_args(argv)
    # torchvision's "C++ ops not loaded" notice is recorded in every result's env.notes; on the terminal it
    # would come before the one error line of a command that fails
    warnings.filterwarnings("ignore", message=r"torchvision: C\+\+ ops not loaded", category=RuntimeWarning)
    try:
        if args.plugin:
            from benchbench.stages import load_plugins

            load_plugins(args.plugin)
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
    """Write the traceback of `e` to a new log file under $XDG_STATE_HOME/benchbench (or ~/.local/state), else
    to a fresh file of the temp folder made by `tempfile.mkstemp` (unpredictable name, mode 0600, never an
    existing file or link followed); None when neither can be written."""
    import datetime
    import os
    import tempfile
    import traceback
    from pathlib import Path

    text = f"benchbench {__version__}, argv {sys.argv}\n" + "".join(
        traceback.format_exception(type(e), e, e.__traceback__)
    )
    prefix = f"benchbench-error-{datetime.datetime.now().strftime('%Y%m%dT%H%M%S')}-"
    state = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "benchbench"
    for folder in (state, None):  # None: the temp folder
        try:
            if folder is not None:
                folder.mkdir(parents=True, exist_ok=True)
            fd, path = tempfile.mkstemp(prefix=prefix, suffix=".log", dir=folder)
            with os.fdopen(fd, "w") as f:
                f.write(text)
            return path
        except OSError:
            continue
    return None


def _say(line: str, code: int) -> int:
    with contextlib.suppress(OSError):
        # one line, no control character, whatever the message held
        print(inert.one_line(line), file=sys.stderr)
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
