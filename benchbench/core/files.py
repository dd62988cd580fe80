"""Files written atomically (a temp file in the same folder, then a rename) and JSON read with one-line errors."""

from __future__ import annotations

import dataclasses
import glob
import json
import math
import os
import stat
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchbench.core.errors import BadInputError


def to_jsonable(obj: Any) -> Any:
    """Plain JSON data: dataclasses as dicts (with their `__derived__` properties), non-finite floats as None."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        d = {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
        for name in getattr(type(obj), "__flatten__", ()):  # a mapping field written as the record's own keys
            d = {k2: v2 for k, v in d.items() for k2, v2 in (v.items() if k == name else [(k, v)])}
        for name in getattr(type(obj), "__derived__", ()):
            d[name] = to_jsonable(getattr(obj, name))
        return d
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None  # JSON has no NaN or infinity
    if isinstance(obj, Path):
        return str(obj)
    return obj


ORPHAN_AGE_S = 600  # a temp file of ours this old was left by a killed writer: the next write removes it


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


FILE_MODE = 0o666 & ~_umask()  # what open() would give: 0644 under umask 022, readable by the group


STDOUT_PATHS = ("-", "/dev/stdout")  # written through to standard output, never replaced


def _kind(mode: int) -> str | None:
    """What a file of this mode is, for a refusal; None for a regular file."""
    kinds = ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
             (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))  # fmt: skip
    return next(
        (name for test, name in kinds if test(mode)), None if stat.S_ISREG(mode) else "not a regular file"
    )


def refuse_special_output(path: str | Path, what: str = "output file") -> None:
    """BadInputError unless `path` is absent or a regular file: a folder, FIFO, device, socket or symbolic link
    given as an output would be replaced by a regular file (or, for a FIFO, block), so it is refused. A symbolic
    link is refused rather than followed: give its target. '-' and /dev/stdout are standard output (allowed)."""
    if str(path) in STDOUT_PATHS:
        return
    try:
        mode = os.lstat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return  # nothing there (a parent that is no folder is said later)
    except OSError as e:
        raise BadInputError(f"cannot use {what} {path}: {e.strerror}") from None
    kind = _kind(mode)
    if kind == "a folder":
        raise BadInputError(f"{what} {path} is a folder; give a file path")
    if kind == "a symbolic link":
        raise BadInputError(f"{what} {path} is a symbolic link, which benchbench does not write through; give "
                            f"the path it points to ({os.path.realpath(path)}) or a new file")  # fmt: skip
    if kind is not None:
        raise BadInputError(f"{what} {path} is {kind}, not a regular file; give a file path (or - for "
                            "standard output)")  # fmt: skip


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write a file atomically and durably: a temp file in the same folder, fsynced, renamed over `path`, the
    folder fsynced; mode as the user's umask gives. A reader sees the old file or the new one, never half of one.
    Only a regular file is ever replaced (see `refuse_special_output`); '-' and /dev/stdout are written through."""
    if str(path) in STDOUT_PATHS:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return Path(path)
    path = Path(path)
    refuse_special_output(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_orphans(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fchmod(f.fileno(), FILE_MODE)
            os.fsync(f.fileno())
        refuse_special_output(path)  # again: what was checked may have been swapped since
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def write_text(path: str | Path, text: str) -> Path:
    """Write a text file atomically (see `write_bytes`)."""
    return write_bytes(path, text.encode())


def write_json(path: str | Path, data: Any) -> Path:
    """Write `data` as JSON atomically (see `write_bytes`); NaN and infinities become null."""
    return write_bytes(path, (json.dumps(to_jsonable(data), indent=2, allow_nan=False) + "\n").encode())


def _remove_orphans(path: Path) -> None:
    """Temp files a killed writer of `path` left behind (older than ORPHAN_AGE_S, so never a live writer's)."""
    now = time.time()
    for tmp in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        try:
            if now - tmp.stat().st_mtime > ORPHAN_AGE_S:
                tmp.unlink()
        except OSError:
            pass


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _read_text(path: Path, fmt: str, what: str) -> str:
    """The text of the `fmt` (JSON, TOML) file that serves as `what`, or one BadInputError line saying why not:
    a folder, missing, binary, unreadable."""
    if path.is_dir():
        raise BadInputError(f"{what} {path} is a folder; give a {fmt} file")
    if not path.is_file():
        raise BadInputError(f"no such {what}: {path}")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise BadInputError(f"{path}: not a text ({fmt}) file") from None
    except OSError as e:
        raise BadInputError(f"cannot read {path}: {e.strerror}") from None


def read_json(path: str | Path) -> Any:
    """The data of a JSON file, or one BadInputError line: missing, binary, not JSON, or nested too deeply for
    this reader (a results file never is)."""
    path = Path(path)
    text = _read_text(path, "JSON", "results file")
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise BadInputError(f"{path}: not valid JSON ({e.msg} at line {e.lineno})") from None
    except RecursionError:
        raise BadInputError(f"{path}: JSON nested too deeply to be a benchbench file") from None


def read_toml(path: str | Path, what: str) -> dict[str, Any]:
    """A TOML file parsed, or one BadInputError line saying why it cannot be (`what` names the file's role)."""
    import tomllib

    path = Path(path)
    text = _read_text(path, "TOML", what)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise BadInputError(f"{path}: not valid TOML ({e})") from None
