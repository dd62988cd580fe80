"""`hf:NAME`: a Hugging Face transformers model, built offline.

NAME is a model type from transformers' config registry, built from that config class's defaults (`hf:bert`
is BertConfig(): BERT-base; `hf:gpt2` is GPT-2 small; `hf:llama` is Llama-7B-sized), or a local directory
holding `config.json` (and weights, which are loaded when present). Anything else, such as a Hub repository id,
would need a download and is refused with a message saying how to make a local directory from it.

The head comes from `--task` or a suffix, `hf:NAME:TASK` (default: the bare model, AutoModel). Weights are
random unless the directory has them. The Hub is switched off (HF_HUB_OFFLINE=1) before transformers is
imported. Inputs come from the config (`benchbench.sources.hf_inputs`); the model runs with its cache off and
returns plain tensors (`benchbench.sources.hf_forward`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from benchbench.core.errors import BadInputError, unknown_name
from benchbench.sources.base import Target
from benchbench.sources.hf_forward import make_positional, plain_outputs
from benchbench.sources.hf_inputs import plan_inputs
from benchbench.sources.registry import register_source
from benchbench.sources.torchvision_ops import import_torchvision, torchvision_installed

# --task name -> transformers auto class. "model" is the bare model (hidden states out).
TASKS = {
    "model": "AutoModel",
    "causal-lm": "AutoModelForCausalLM",
    "masked-lm": "AutoModelForMaskedLM",
    "seq2seq-lm": "AutoModelForSeq2SeqLM",
    "sequence-classification": "AutoModelForSequenceClassification",
    "token-classification": "AutoModelForTokenClassification",
    "question-answering": "AutoModelForQuestionAnswering",
    "image-classification": "AutoModelForImageClassification",
    "audio-classification": "AutoModelForAudioClassification",
    "ctc": "AutoModelForCTC",
    "speech-seq2seq": "AutoModelForSpeechSeq2Seq",
}
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                "pytorch_model.bin.index.json")  # fmt: skip
TRUST_FLAG = "--trust-remote-code"  # the CLI option that sets TRUST_ENV (cli/common.py)
TRUST_ENV = "BENCHBENCH_TRUST_REMOTE_CODE"  # "1": a folder's own Python (config.json's auto_map) may run
MEMORY_SHARE = 0.6  # refuse to build a model whose fp32 weights take more than this share of free memory


def import_transformers() -> Any:
    """transformers with the Hub off; torchvision (which it imports) first, through `import_torchvision`."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    if torchvision_installed():
        import_torchvision()
    import transformers
    import transformers.dynamic_module_utils as dynamic

    transformers.logging.set_verbosity_error()
    if hasattr(dynamic, "TIME_OUT_REMOTE_CODE"):  # a call left undecided raises instead of asking on stdin
        dynamic.TIME_OUT_REMOTE_CODE = 0
    return transformers


def split_task(name: str, task: str | None) -> tuple[str, str]:
    """`NAME:TASK` or NAME with `--task`; one of the two, and a known task."""
    base, sep, suffix = name.rpartition(":")
    if sep and suffix in TASKS:
        if task is not None and task != suffix:
            raise BadInputError(f"hf:{name} names task {suffix!r} and --task says {task!r}; give one")
        name, task = base, suffix
    task = task or "model"
    if task not in TASKS:
        raise unknown_name("task for hf: models", task, TASKS)
    return name, task


def _is_local_dir(name: str) -> bool:
    return Path(name).expanduser().is_dir()


def trust_remote_code() -> bool:
    """Whether the user allowed a model folder's own Python to run (`--trust-remote-code`, or TRUST_ENV=1)."""
    return os.environ.get(TRUST_ENV) == "1"


def _refuse_folder_code(transformers: Any, folder: Path, name: str) -> None:
    """Refuse, before transformers sees it, a config.json that only the folder's own code could build: one with
    an `auto_map`, or a `model_type` transformers does not know. Nothing of the folder is imported."""
    try:
        raw = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BadInputError(f"hf:{name}: config.json cannot be read: {type(exc).__name__}") from None
    if not isinstance(raw, dict):
        raise BadInputError(f"hf:{name}: config.json is not a JSON object")
    model_type = raw.get("model_type")
    if raw.get("auto_map"):
        if trust_remote_code():
            return
        raise BadInputError(
            f"hf:{name}: config.json names the folder's own Python code (auto_map), which benchbench does not run "
            f"unless you pass {TRUST_FLAG} (only for a folder you trust)"
        )
    if not isinstance(model_type, str) or model_type not in transformers.CONFIG_MAPPING:
        raise BadInputError(
            f"hf:{name}: config.json's model_type {model_type!r} is not a transformers model type; give a config "
            "of a type transformers knows, such as bert, gpt2 or llama"
        )


def load_config(transformers: Any, name: str) -> tuple[Any, Path | None, str]:
    """(config, local directory or None, where it came from). A folder's own code is never imported unless
    `trust_remote_code()`; transformers never asks on standard input (trust_remote_code is always given)."""
    if _is_local_dir(name):
        folder = Path(name).expanduser()
        if not (folder / "config.json").is_file():
            raise BadInputError(
                f"hf:{name} is a directory without config.json; save one with config.save_pretrained(DIR)"
            )
        _refuse_folder_code(transformers, folder, name)
        try:
            config = transformers.AutoConfig.from_pretrained(
                str(folder), local_files_only=True, trust_remote_code=trust_remote_code()
            )
        except Exception as exc:  # a malformed or unknown config
            raise BadInputError(
                f"hf:{name}: config.json cannot be read: {type(exc).__name__}: {exc}"
            ) from None
        return config, folder, f"{folder}/config.json"
    types = sorted(transformers.CONFIG_MAPPING.keys())
    if name in transformers.CONFIG_MAPPING:
        config = transformers.AutoConfig.for_model(name)
        return config, None, f"{type(config).__name__}() defaults"
    if "/" in name or name.startswith("."):
        raise BadInputError(
            f"hf:{name} is not a local directory, and a Hub repository id would need a download, which benchbench "
            f"never does; on a machine with network run AutoConfig.from_pretrained({name!r}).save_pretrained(DIR) "
            "and pass hf:DIR, or give a model type such as hf:bert"
        )
    raise unknown_name("transformers model type (or local directory)", name, types)


def _free_bytes() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


class TooBigToBuild(BadInputError):
    """The model's weights would not fit in this machine's memory. Commands that can count instead (`estimate`,
    `profile`, `card`) catch it and count on the meta device (`meta_model`, `meta_target`); commands that must
    run the model print its line."""

    def __init__(self, message: str, params: int, free_bytes: int | None = None) -> None:
        super().__init__(message)
        self.params = params
        self.free_bytes = free_bytes

    @property
    def why(self) -> str:
        """Why nothing that runs the model was measured, with the figures: for "not measured: ..." lines."""
        free = "unknown" if self.free_bytes is None else f"{self.free_bytes / 2**30:.1f} GiB free"
        return (f"the model does not fit in memory (needs {4 * self.params / 2**30:.1f} GiB for its float32 weights, "
                f"this machine has {free}; benchbench builds a model only below {MEMORY_SHARE:.0%} of it)")  # fmt: skip


def meta_model(auto: Any, config: Any) -> Any:
    """The model built on the meta device: every shape, no storage (a 70B config costs no memory)."""
    with torch.device("meta"):
        return auto.from_config(config, trust_remote_code=trust_remote_code())


def _check_fits(auto: Any, config: Any, name: str) -> int:
    """Parameters of the model, counted on the meta device; refuse one whose weights would not fit in memory."""
    n = sum(p.numel() for p in meta_model(auto, config).parameters())
    free = _free_bytes()
    if free is not None and 4 * n > MEMORY_SHARE * free:
        raise TooBigToBuild(
            f"hf:{name} has {n / 1e9:.2f} B parameters ({4 * n / 2**30:.1f} GiB in float32), more than "
            f"{MEMORY_SHARE:.0%} of this machine's {free / 2**30:.1f} GiB free, too big to run here; "
            "`benchbench estimate` counts it on the meta device, or give a smaller config as hf:DIR",
            n,
            free,
        )
    return n


def meta_target(name: str, seq_len: int | None, task: str | None) -> Target:
    """`hf:NAME` built on the meta device with inputs there too, for a config too big to build (`TooBigToBuild`):
    every parameter and activation has its shape and no storage, so parameters, MACs and the layer table can be
    counted while nothing can be run or timed. The weights are never allocated, nor read from the folder."""
    name, task = split_task(name, task)
    transformers = import_transformers()
    config, _, config_source = load_config(transformers, name)
    model = meta_model(getattr(transformers, TASKS[task]), config).eval()
    plan = plan_inputs(model, seq_len)
    # transformers reads tensor values while preparing its attention mask (is the mask all ones? are the positions
    # packed?), which meta tensors do not have; with no mask (every token attended, as with a mask of ones) and
    # the cache on, it reads none, and the forward counts the same MACs
    kept = [(n, t.to("meta")) for n, t in zip(plan.names, plan.make(1, seq_len)) if n != "attention_mask"]
    names, inputs = tuple(n for n, _ in kept), tuple(t for _, t in kept)
    notes = make_positional(model, names, use_cache=True)
    if names != plan.names:
        notes.append(
            "attention_mask left out on the meta device: every token attended, as with a mask of ones"
        )
    return Target(
        name=f"hf:{name}" + (f":{task}" if task != "model" else ""), size="default", modality=plan.modality,
        model=model, inputs=inputs, batch_size=1, seq_len=(seq_len or plan.default_seq) if plan.seq_unit else None,
        library="hf", input_names=names, task=task, notes=notes,
        description=f"transformers {type(model).__name__} from {config_source}, on the meta device (shapes only, "
        f"no weights); inputs: {plan.source}",
    )  # fmt: skip


@register_source("hf", package="transformers", extra="hf", example="hf:bert", tasks=tuple(TASKS))
def hf_target(name: str, batch_size: int, seq_len: int | None, seed: int, task: str | None) -> Target:
    """Build a transformers model offline (see the module docstring)."""
    name, task = split_task(name, task)
    transformers = import_transformers()
    config, folder, config_source = load_config(transformers, name)
    auto = getattr(transformers, TASKS[task])
    has_weights = folder is not None and any((folder / f).exists() for f in WEIGHT_FILES)
    try:
        _check_fits(auto, config, name)
        torch.manual_seed(seed)
        if has_weights:
            model = auto.from_pretrained(
                str(folder), config=config, local_files_only=True, trust_remote_code=trust_remote_code()
            )
        else:
            model = auto.from_config(config, trust_remote_code=trust_remote_code())
    except BadInputError:
        raise
    except ValueError as exc:  # e.g. "Unrecognized configuration class ... for this kind of AutoModel"
        raise BadInputError(f"hf:{name} has no {task} head: {str(exc).splitlines()[0]}") from None
    model.eval()
    if hasattr(model.config, "use_cache"):
        model.config.use_cache = False
    plan = plan_inputs(model, seq_len)
    with torch.no_grad():
        torch.manual_seed(seed)
        _, out_names, _ = plain_outputs(model(**dict(zip(plan.names, plan.make(1, None)))))
    notes = make_positional(model, plan.names)
    torch.manual_seed(seed)
    inputs = plan.make(batch_size, seq_len)
    weights = f"weights from {folder}" if has_weights else "random weights"
    return Target(
        name=f"hf:{name}" + (f":{task}" if task != "model" else ""), size="default", modality=plan.modality,
        model=model, inputs=inputs, batch_size=batch_size,
        seq_len=(seq_len or plan.default_seq) if plan.seq_unit else None, input_maker=plan.make, library="hf",
        description=f"transformers {type(model).__name__} from {config_source} ({weights}; attention "
        f"{getattr(model.config, '_attn_implementation', '?')}); inputs: {plan.source}",
        input_names=plan.names, output_names=tuple(out_names), notes=notes, task=task,
    )  # fmt: skip
