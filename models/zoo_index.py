"""The zoo's index: what `benchbench list` shows, written to `benchbench/data/zoo.json` so that listing the zoo
imports neither torch nor a model family.

The index is derived from the registry and checked against it by `tests/models/test_zoo_index.py`; after adding
or changing a model, write it again with `python -m benchbench.models.zoo_index`.
"""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from typing import Any

INDEX_PATH = Path(str(files("benchbench.data") / "zoo.json"))


def build_index() -> dict[str, Any]:
    """The index as the registry sees it now: every model's listing fields, and the allowed modalities."""
    from benchbench.models.registry import MODALITIES, get_model_spec, list_models

    return {"modalities": list(MODALITIES), "models": [get_model_spec(n).to_dict() for n in list_models()]}


def render_index(index: dict[str, Any]) -> str:
    """The index as the text of zoo.json (stable: sorted by name, two-space indent, a final newline)."""
    return json.dumps(index, indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    """Write zoo.json from the registry."""
    from benchbench.core.files import write_text

    write_text(INDEX_PATH, render_index(build_index()))
    print(f"wrote {INDEX_PATH}")


if __name__ == "__main__":
    main()
