"""What to profile: a zoo model by name, a library model (`torchvision:NAME`, `timm:NAME`, `hf:NAME`), or a
user's model given as `pkg.module:factory`.

Library names are built by the sources registered in `benchbench.sources.registry` (one module per library:
`torchvision`, `timm`, `hf`), offline and with random weights; `--size` is the zoo's and does not apply to them.

A user factory (`pkg.module:factory` or `path/file.py:factory`) is a callable taking no required
arguments (it is passed `batch_size` and `seq_len` when its signature names them) that returns either
`(model, inputs)` or a model with an `example_inputs(batch_size)` method. Everything downstream sees a
`Target`, whose `input_maker` gives inputs at other batch sizes for sweeps.

Inputs a factory gives at one batch only (no example_inputs, no batch_size argument) keep their batch unless
another is asked for; then they are repeated along their batch axis, found as the leading dim every tensor
input shares (`repeat_maker`), or, where there is none, the batch is refused in one line. Export keeps such a
model's batch axis fixed (`Target.fixed_batch`) and says so.
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

__all__ = [
    "SOURCES",
    "Target",
    "is_library_model",
    "is_user_model",
    "load_target",
    "make_inputs",
    "requested_batch",
]

LIBRARY_SIZE = "default"  # the size a library model reports: the library's own configuration


def is_library_model(model: str) -> bool:
    """`torchvision:NAME`, `timm:NAME` or `hf:NAME` (a registered prefix)."""
    return model.partition(":")[0] in SOURCES and ":" in model


def is_user_model(model: str) -> bool:
    return ":" in model and not is_library_model(model)


def requested_batch(model: str, given: int | None, default: int) -> int | None:
    """The batch a command asks for: the one given, else None for a user factory (its inputs' own batch), else
    `default`."""
    if given is not None:
        return given
    return None if is_user_model(model) else default


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


def _user_target(path: str, batch_size: int | None, seq_len: int | None, seed: int) -> Target:
    """Build a user's model from `pkg.module:factory` (see the module docstring for what it may return).

    `batch_size` None keeps the batch of the inputs the factory returns."""
    factory = _load_factory(path)
    torch.manual_seed(seed)
    try:
        made = _call_sized(factory, batch_size or 1, seq_len)
    except BadInputError:
        raise
    except Exception as e:
        raise BadInputError(f"model {path!r}: the factory raised {one_line(e)}") from None
    net, inputs = _model_and_inputs(made, path)
    maker = _factory_maker(net, factory, path, seed)
    fixed: int | None = None
    derivation: str | None = None
    if (
        maker is None and inputs is not None
    ):  # inputs at one batch: repeat them along their batch axis, or refuse
        inputs = _as_inputs(inputs, path)
        fixed = _batch_of(inputs, 1)
        maker, derivation = repeat_maker(inputs, seq_len)
        if batch_size is not None and batch_size != fixed:
            if maker is None:
                raise BadInputError(_no_batch_axis(path, inputs, batch_size, fixed))
            inputs = maker(batch_size, seq_len)
    elif maker is not None and (
        inputs is None or batch_size not in (None, _batch_of(_as_inputs(inputs, path), batch_size))
    ):
        inputs = _made_inputs(maker, batch_size or 1, seq_len, path)
    if inputs is None:
        raise BadInputError(
            f"model {path!r}: the factory returned a model without example_inputs(batch_size)"
        )
    inputs = _as_inputs(inputs, path)
    notes: list[str] = [f"batch {_batch_of(inputs, 1)} made from the factory's batch {fixed} by {derivation}"] if (
        derivation and _batch_of(inputs, 1) != fixed) else []  # fmt: skip
    if is_hf_model(net) and "forward" not in vars(net):  # ModelOutput and caches out, plain tensors in
        params = list(inspect.signature(net.forward).parameters)
        notes += make_positional(net, tuple(params[: len(inputs)]))
    return Target(path, "user", "user", net, inputs, _batch_of(inputs, batch_size or 1), seq_len, None, maker,
                  library="user", notes=notes, fixed_batch=fixed, batch_derivation=derivation)  # fmt: skip


def _model_and_inputs(made: Any, path: str) -> tuple[nn.Module, Any]:
    """(model, inputs or None) from what a factory returned, or one line saying what it must return."""
    if isinstance(made, tuple) and len(made) == 2 and isinstance(made[0], nn.Module):
        return made[0], made[1]
    if isinstance(made, nn.Module):
        return made, None
    raise BadInputError(
        f"factory {path!r} must return (model, inputs) or a model with example_inputs(batch_size); "
        f"got {type(made).__name__}"
    )


def _factory_maker(net: nn.Module, factory: Callable, path: str, seed: int) -> Callable | None:
    """Inputs at any batch from the user's own code: the model's example_inputs, or a factory taking batch_size."""
    if callable(getattr(net, "example_inputs", None)):

        def from_method(bs: int, seq: int | None) -> tuple:
            torch.manual_seed(seed)
            return _as_inputs(_call_sized(net.example_inputs, bs, seq, positional=True), path)

        return from_method
    if _accepts(factory, "batch_size"):

        def from_factory(bs: int, seq: int | None) -> tuple:
            torch.manual_seed(seed)
            return _as_inputs(_call_sized(factory, bs, seq)[1], path)

        return from_factory
    return None


def _made_inputs(maker: Callable, batch_size: int, seq_len: int | None, path: str) -> tuple:
    try:
        return maker(batch_size, seq_len)
    except BadInputError:
        raise
    except Exception as e:  # the user's example_inputs raised: that is their input, not our bug
        raise BadInputError(f"model {path!r}: making its example inputs raised {one_line(e)}") from None


def batch_axis_size(inputs: tuple) -> int | None:
    """The batch of inputs given at one batch size, found as the leading dim shared by every tensor input of rank
    >= 1 (token ids and their mask, an image and its label map, ...); None when they disagree or none has one."""
    leading = {int(x.shape[0]) for x in inputs if isinstance(x, torch.Tensor) and x.dim() >= 1}
    return leading.pop() if len(leading) == 1 else None


def repeat_maker(inputs: tuple, seq_len: int | None) -> tuple[Callable | None, str | None]:
    """A maker giving `inputs` at another batch by repeating them along axis 0, and a phrase saying so; (None,
    None) when no batch axis can be found (`batch_axis_size`). The sequence length cannot change this way."""
    size = batch_axis_size(inputs)
    if size is None:
        return None, None

    def repeated(bs: int, seq: int | None) -> tuple:
        if seq not in (None, seq_len):
            raise BadInputError(
                f"the factory gives inputs at one sequence length only; for length {seq}, give the model an "
                "example_inputs(batch_size, seq_len) method or a factory taking seq_len"
            )
        times = -(-bs // size)  # ceil: tile whole examples, then cut to the batch asked for
        return tuple(
            x.repeat(times, *([1] * (x.dim() - 1)))[:bs]
            if isinstance(x, torch.Tensor) and x.dim() >= 1
            else x
            for x in inputs
        )

    return (
        repeated,
        f"repeating its inputs along axis 0 (the leading dim, {size}, shared by every tensor input)",
    )


def _no_batch_axis(path: str, inputs: tuple, batch_size: int, fixed: int) -> str:
    shapes = [tuple(x.shape) for x in inputs if isinstance(x, torch.Tensor)]
    return (f"model {path!r}: its factory gives inputs at batch {fixed} only and no batch axis can be found to make "
            f"batch {batch_size} (the tensor inputs {shapes} share no leading dim); give the model an "
            "example_inputs(batch_size) method or a factory taking batch_size, or drop the batch size")  # fmt: skip


def _batch_of(inputs: tuple, default: int) -> int:
    first = next((x for x in inputs if isinstance(x, torch.Tensor)), None)
    return int(first.shape[0]) if first is not None and first.dim() else default


def load_target(
    model: str,
    size: str | None = "tiny",
    batch_size: int | None = 1,
    seq_len: int | None = None,
    seed: int = 0,
    task: str | None = None,
) -> Target:
    """Build `model` (zoo name, `torchvision:`/`timm:`/`hf:NAME`, or `pkg.module:factory`) with inputs for
    `batch_size`; `size` picks a zoo preset (None: tiny), `task` an hf: model's head.

    `batch_size` None: the model's own, 1 except for a factory returning inputs (theirs). A factory's inputs at
    one batch are repeated along their batch axis for another (`repeat_maker`), or the batch is refused."""
    if batch_size is None and not is_user_model(model):
        batch_size = 1
    if batch_size is not None and batch_size < 1:
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
