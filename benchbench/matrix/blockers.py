"""What blocks a model on a runtime, by name: the ops and the user's source lines an error or report points at.

Read from dynamo's and torch.export's own texts (their "User Stack" frames, "Caused by:" lines and traced-op
names) and from `torch.export.draft_export`'s report, which lists every failure it met with the user frame.
Frames inside torch and the Python libraries are left out: the line to fix is the user's.
"""

from __future__ import annotations

import re
from typing import Any

from benchbench.deploy.readiness import failing_op

_FRAME = re.compile(r'File "([^"]+)", line (\d+), in (\w+)\n\s*(.+)')
_CAUSED = re.compile(r"Caused by: (.+?)\s+# (\S+):(\d+) in (\w+)")
_CAUSED_AT = re.compile(r"Caused by: \((\S+\.py):(\d+) in (\w+)\)")  # non-strict export: the place, no code
# library frames, and benchbench's own wrappers around library models (the line to fix is never there)
_LIBRARY = ("site-packages", "dist-packages", "/torch/", "<frozen", "/lib/python3", "benchbench/sources/")
MAX_BLOCKERS = 8


def _user_file(path: str) -> bool:
    return not any(part in path for part in _LIBRARY)


def _short(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def blockers_from_text(text: str) -> list[str]:
    """'op aten.nonzero', 'model.py:14 in forward: return y[:, :n]' ... found in an error's text, in order."""
    found: list[str] = []
    op = failing_op(text)
    if op:
        found.append(f"op {op}")
    for path, line, fn, code in _FRAME.findall(text):
        if _user_file(path):
            found.append(f"{_short(path)}:{line} in {fn}: {code.strip()}")
    for code, path, line, fn in _CAUSED.findall(text):
        if _user_file(path):
            found.append(f"{_short(path)}:{line} in {fn}: {code.strip()}")
    for path, line, fn in _CAUSED_AT.findall(text):
        if _user_file(path):
            found.append(f"{_short(path)}:{line} in {fn}")
    return list(dict.fromkeys(found))[:MAX_BLOCKERS]


def _file_names(report: Any) -> dict[int, str]:
    """Index → file name for a draft report's frames: the report's own table, else torch's structured-log
    intern table (the report's copy can miss files interned by an earlier export in the same process)."""
    names: dict[int, str] = {}
    try:
        from torch._logging.structured import INTERN_TABLE

        names.update({index: path for path, index in INTERN_TABLE.items()})
    except ImportError:
        pass
    names.update(getattr(report, "str_to_filename", None) or {})
    return names


def draft_failures(report: Any) -> list[str]:
    """Each failure of a `torch.export.draft_export` report: its kind and the user frame it happened at."""
    names = _file_names(report)
    out = []
    for failure in getattr(report, "failures", []):
        data = failure.data if isinstance(failure.data, dict) else {}
        kind = getattr(failure.failure_type, "name", str(failure.failure_type))
        frame = next((f for f in reversed(data.get("user_stack") or []) if f.get("name") not in
                      ("_wrapped_call_impl", "_call_impl")), None)  # fmt: skip
        if frame is None:
            out.append(kind.lower().replace("_", " ") + (f" ({data['expr']})" if "expr" in data else ""))
            continue
        path = names.get(frame.get("filename"), str(frame.get("filename")))
        out.append(f"{kind.lower().replace('_', ' ')} at {_short(str(path))}:{frame.get('line')} in "
                   f"{frame.get('name')}: {frame.get('loc', '').strip()}")  # fmt: skip
    return list(dict.fromkeys(out))[:MAX_BLOCKERS]
