"""Import torchvision when its C++ ops cannot load: the model builders are pure Python and still work.

A torchvision wheel built against another torch (PyPI's torchvision 0.28 is a CUDA build whose `_C.so` links
libtorch_cuda, next to the CPU build of torch 2.13) fails to load its `_C` extension. torchvision then goes on
without its ops, but `torchvision/_meta_registrations.py` registers fake kernels for `torchvision::nms` and
`torchvision::qnms` unconditionally, so `import torchvision` itself raises `operator torchvision::nms does not
exist`, and so does `import timm`, which imports torchvision.

`import_torchvision()` tries the extension first, as torchvision does. If it loads, nothing else happens. If it
does not, the schemas of the ops torchvision's Python code registers fake kernels for are defined (from
torchvision's own `csrc/ops/*.cpp` schemas) with no kernel, so the import goes through; a warning says once
that detection ops (nms, roi_align, ...) will not run, and `benchbench.core.env` records it in every result's
environment. Calling such an op then fails with torch's own "could not run torchvision::nms" error.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import warnings
from pathlib import Path
from types import ModuleType

import torch

from benchbench.core.env import note_env

# torchvision's op schemas, as torchvision/csrc/ops/*.cpp define them (TORCH_LIBRARY_FRAGMENT(torchvision, m)).
SCHEMAS = {
    "nms": "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms": "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
}
_FAKE_REGISTRATION = re.compile(r"""register_fake\(\s*["']torchvision::(\w+)["']""")
ENV_KEY = "torchvision_ops"

_LIBRARY: torch.library.Library | None = None  # kept alive: the schemas live as long as it does
_STATUS: str | None = None


def torchvision_installed() -> bool:
    return importlib.util.find_spec("torchvision") is not None


def _package_dir() -> Path:
    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("torchvision is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def _load_extension(package: Path) -> str | None:
    """Load torchvision's `_C` extension as torchvision would; the reason it fails, or None if it loads."""
    libs = sorted(package.glob("_C*.so")) + sorted(package.glob("_C*.pyd"))
    if not libs:
        return "torchvision has no _C extension file"
    try:
        torch.ops.load_library(str(libs[0]))
    except (OSError, ImportError, RuntimeError) as exc:
        root = (
            exc.__cause__ or exc
        )  # torch wraps the loader's own message ("libtorch_cuda.so: cannot open ...")
        return f"{type(root).__name__}: {str(root).splitlines()[0]}"
    return None


def _has_op(name: str) -> bool:
    try:
        getattr(torch.ops.torchvision, name)
    except (AttributeError, RuntimeError):
        return False
    return True


def ops_needing_schemas(package: Path) -> list[str]:
    """The torchvision ops its Python code registers fake kernels for whether or not `_C` loaded."""
    source = (package / "_meta_registrations.py").read_text()
    return sorted(set(_FAKE_REGISTRATION.findall(source)))


def _define_schemas(names: list[str]) -> list[str]:
    """Define the schemas of `names` that do not exist yet; returns those defined."""
    global _LIBRARY
    missing = [n for n in names if not _has_op(n)]
    unknown = [n for n in missing if n not in SCHEMAS]
    if unknown:
        raise ImportError(
            f"torchvision's C++ ops did not load and benchbench knows no schema for {unknown}: "
            "install a torchvision built for this torch"
        )
    if missing and _LIBRARY is None:
        _LIBRARY = torch.library.Library("torchvision", "FRAGMENT")
    for name in missing:
        _LIBRARY.define(SCHEMAS[name])
    return missing


def import_torchvision() -> ModuleType:
    """`import torchvision`, defining the schemas its import needs when its C++ ops cannot load (see above)."""
    global _STATUS
    if "torchvision" in sys.modules and _STATUS is not None:
        return sys.modules["torchvision"]
    package = _package_dir()
    reason = _load_extension(package)
    if reason is None:
        _STATUS = "loaded"
    else:
        defined = _define_schemas(ops_needing_schemas(package))
        _STATUS = (
            f"C++ ops not loaded ({reason}); schemas of {', '.join(defined) or 'no op'} defined without kernels "
            "so that the model builders import: detection ops (nms, roi_align, ...) do not run"
        )
        warnings.warn(f"torchvision: {_STATUS}", RuntimeWarning, stacklevel=2)
    note_env(ENV_KEY, _STATUS)
    import torchvision

    return torchvision


def ops_status() -> str | None:
    """'loaded', the reason the ops did not load, or None before `import_torchvision()` ran."""
    return _STATUS
