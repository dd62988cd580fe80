"""What to profile: a zoo model by name, a library model (`torchvision:NAME`, `timm:NAME`, `hf:NAME`), or a
user's model given as `pkg.module:factory`.

Library names are built by the sources registered in `benchbench.sources.registry` (one module per library:
`torchvision`, `timm`, `hf`), offline and with random weights; `--size` is the zoo's and does not apply to them.

A user factory (`pkg.module:factory` or `path/file.py:factory`) is a callable taking no required
arguments (it is passed `batch_size` and `seq_len` when its signature names them) that returns either
`(model, inputs)` or a model with an `example_inputs(batch_size)` method. Everything downstream sees a
`Target`, whose `input_maker` gives inputs at other batch sizes for sweeps.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from benchbench.core.errors import BadInputError, one_line, unknown_name
from benchbench.models.registry import get_model_spec
from benchbench.sources import hf, timm, torchvision  # noqa: F401  (each registers its prefix)
from benchbench.sources.base import Target
from benchbench.sources.hf_forward import is_hf_model, make_positional
from benchbench.sources.registry import SOURCES, source_of
from benchbench.sources.torchvision_ops import import_torchvision, torchvision_installed

__all__ = ["SOURCES", "Target", "is_library_model", "is_user_model", "load_target", "make_inputs"]

LIBRARY_SIZE = "default"  # the size a library model reports: the library's own configuration


def is_library_model(model: str) -> bool:
    """`torchvision:NAME`, `timm:NAME` or `hf:NAME` (a registered prefix)."""
    return model.partition(":")[0] in SOURCES and ":" in model


def is_user_model(model: str) -> bool:
    return ":" in model and not is_library_model(model)


def default_size(model: str, zoo_default: str) -> str | None:
    """The size a command uses when none is given: the zoo default for zoo names, none for the others."""
    return zoo_default if ":" not in model else None


def _import_module(mod_name: str, path: str):
    """Import `pkg.module` (the working directory is searched too) or a `file.py` path."""
    if mod_name.endswith(".py"):
        file = Path(mod_name)
        if not file.is_file():
            raise BadInputError(f"model {path!r}: no such file {mod_name!r}")
        spec = importlib.util.spec_from_file_location(file.stem, file)
        mod = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(mod)
        except Exception as e:
            raise BadInputError(f"model {path!r}: importing {mod_name!r} failed: {one_line(e)}") from None
        return mod
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())  # the `benchbench` script does not search the working directory
    try:
        return importlib.import_module(mod_name)
    except Exception as e:  # a missing module, a syntax error, an exception at import: the user's code
        raise BadInputError(f"cannot import module {mod_name!r} of model {path!r}: {one_line(e)}") from None


def _load_factory(path: str) -> Callable:
    mod_name, _, attr = path.partition(":")
    if not mod_name or not attr:
        raise BadInputError(f"model {path!r}: a user model is given as pkg.module:factory or file.py:factory")
    if torchvision_installed():  # so that a factory importing torchvision, timm or transformers imports
        import_torchvision()
    mod = _import_module(mod_name, path)
    try:
        factory = getattr(mod, attr)
    except AttributeError:
        names = [n for n in dir(mod) if not n.startswith("_") and callable(getattr(mod, n))]
        raise unknown_name(f"factory in {mod_name}", attr, names) from None
    if not callable(factory):
        raise BadInputError(f"model {path!r}: {attr!r} is a {type(factory).__name__}, not a callable factory")
    return factory


def _accepts(fn: Callable, name: str) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def _call_sized(fn: Callable, batch_size: int, seq_len: int | None, *, positional: bool = False) -> Any:
    """Call `fn` with batch_size (and seq_len) where its signature takes them."""
    kwargs: dict[str, Any] = {}
    if _accepts(fn, "batch_size"):
        kwargs["batch_size"] = batch_size
    elif positional:
        return fn(batch_size)
    if seq_len is not None and _accepts(fn, "seq_len"):
        kwargs["seq_len"] = seq_len
    return fn(**kwargs)


def _as_inputs(inputs: Any, path: str) -> tuple:
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    if not inputs or not any(isinstance(x, torch.Tensor) for x in inputs):
        raise BadInputError(
            f"model {path!r}: example inputs hold no tensor (got {[type(x).__name__ for x in inputs]})"
        )
    return inputs


def _user_target(path: str, batch_size: int, seq_len: int | None, seed: int) -> Target:
    """Build a user's model from `pkg.module:factory` (see the module docstring for what it may return)."""
    factory = _load_factory(path)
    torch.manual_seed(seed)
    try:
        made = _call_sized(factory, batch_size, seq_len)
    except BadInputError:
        raise
    except Exception as e:
        raise BadInputError(f"model {path!r}: the factory raised {one_line(e)}") from None

    if isinstance(made, tuple) and len(made) == 2 and isinstance(made[0], nn.Module):
        net, inputs = made
    elif isinstance(made, nn.Module):
        net, inputs = made, None
    else:
        raise BadInputError(
            f"factory {path!r} must return (model, inputs) or a model with example_inputs(batch_size); "
            f"got {type(made).__name__}"
        )
    maker: Callable[[int, int | None], tuple] | None = None
    if callable(getattr(net, "example_inputs", None)):

        def maker(bs: int, seq: int | None) -> tuple:
            torch.manual_seed(seed)
            return _as_inputs(_call_sized(net.example_inputs, bs, seq, positional=True), path)

    elif _accepts(factory, "batch_size"):

        def maker(bs: int, seq: int | None) -> tuple:
            torch.manual_seed(seed)
            return _as_inputs(_call_sized(factory, bs, seq)[1], path)

    if maker is not None and (
        inputs is None or batch_size != _batch_of(_as_inputs(inputs, path), batch_size)
    ):
        try:
            inputs = maker(batch_size, seq_len)
        except BadInputError:
            raise
        except Exception as e:  # the user's example_inputs raised: that is their input, not our bug
            raise BadInputError(f"model {path!r}: making its example inputs raised {one_line(e)}") from None
    if inputs is None:
        raise BadInputError(
            f"model {path!r}: the factory returned a model without example_inputs(batch_size)"
        )
    inputs = _as_inputs(inputs, path)
    notes: list[str] = []
    if is_hf_model(net) and "forward" not in vars(net):  # ModelOutput and caches out, plain tensors in
        params = list(inspect.signature(net.forward).parameters)
        notes = make_positional(net, tuple(params[: len(inputs)]))
    return Target(path, "user", "user", net, inputs, _batch_of(inputs, batch_size), seq_len, None, maker,
                  library="user", notes=notes)  # fmt: skip


def _batch_of(inputs: tuple, default: int) -> int:
    first = next((x for x in inputs if isinstance(x, torch.Tensor)), None)
    return int(first.shape[0]) if first is not None and first.dim() else default


def load_target(
    model: str,
    size: str | None = "tiny",
    batch_size: int = 1,
    seq_len: int | None = None,
    seed: int = 0,
    task: str | None = None,
) -> Target:
    """Build `model` (zoo name, `torchvision:`/`timm:`/`hf:NAME`, or `pkg.module:factory`) with inputs for
    `batch_size`; `size` picks a zoo preset (None: tiny), `task` an hf: model's head."""
    if batch_size < 1:
        raise BadInputError(f"batch size must be >= 1, got {batch_size}")
    if seq_len is not None and seq_len < 1:
        raise BadInputError(f"sequence length must be >= 1, got {seq_len}")
    found = source_of(model)
    if found is not None:
        source, name = found
        if size not in (None, LIBRARY_SIZE):
            raise BadInputError(
                f"--size {size} applies to zoo models; {model} is built as {source.package} defines it "
                + (
                    "(give a config directory, hf:DIR, for another size)"
                    if source.prefix == "hf"
                    else "(drop --size)"
                )
            )
        if task is not None and not source.tasks:
            raise BadInputError(f"--task applies to hf: models; {model} has no task option")
        source.require()
        return source.build(name, batch_size, seq_len, seed, task)
    if task is not None:
        raise BadInputError(f"--task applies to hf: models (e.g. hf:gpt2 --task causal-lm), not to {model}")
    if is_user_model(model):
        return _user_target(model, batch_size, seq_len, seed)
    size = size or "tiny"
    spec = get_model_spec(model)
    spec.config(size)  # validates the size before anything is built
    torch.manual_seed(seed)
    net = spec.build(size)
    inputs = spec.example_inputs(size, batch_size, seq_len, seed=seed)
    seq = seq_len if seq_len is not None else (spec.seq_len or {}).get(size)

    def maker(bs: int, sl: int | None) -> tuple:
        return spec.example_inputs(size, bs, sl, seed=seed)

    return Target(model, size, spec.modality, net, inputs, batch_size, seq, spec, maker,
                  library="zoo", description=spec.description, input_names=spec.input_names,
                  reference=spec.reference if size == "base" else None)  # fmt: skip


def make_inputs(target: Target, batch_size: int, seq_len: int | None = None) -> tuple:
    """Fresh example inputs for `target` at another batch size / sequence length."""
    if batch_size == target.batch_size and seq_len in (None, target.seq_len):
        return target.inputs
    if target.input_maker is None:
        raise BadInputError(
            f"model {target.name!r} gives inputs for batch {target.batch_size} only; to sweep batch sizes, "
            "give it an example_inputs(batch_size) method or a factory taking batch_size"
        )
    return target.input_maker(batch_size, seq_len)
