"""Architecture lint: the common pitfalls of the design guide (../shared/seed.md), caught before training.

Each rule reads the module structure and one traced forward pass (`benchbench.health.trace`) and
returns findings with the module path, why it matters and the usual fix. Rules:

- `small-batch-batchnorm`: BatchNorm with a per-device batch below `small_batch` (default 16).
- `dropout-after-batchnorm`: a Dropout of nonzero probability applied directly to a BatchNorm's output (a
  `Dropout(p=0.0)`, as timm builds when drop_rate is 0, is no dropout and is not reported).
- `deep-plain-stack`: more than `max_plain_depth` (default 10) weighted layers on one path and no skip connection;
  `max_normalised_depth` (20) when most of them feed a normalisation layer (PointNet, VGG with BatchNorm).
- `params-per-sample`: more than `max_params_per_sample` parameters per training sample (needs a dataset size).
- `attention-memory`: the T×T attention scores an unfused kernel materialises are at least half the activations.
- `activation-convention`: an activation that contradicts the family's convention (ReLU in a Transformer block).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from benchbench.health.records import Finding
from benchbench.health.trace import ForwardTrace, trace_forward

SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True)
class LintConfig:
    small_batch: int = 16  # below this per-device batch, BatchNorm statistics are too noisy
    max_plain_depth: int = 10  # weighted layers on one path before residual connections are needed
    # ... when most of them are followed by a norm: plain stacks with BatchNorm train (VGG-19, Simonyan & Zisserman
    # 2015; PointNet's 18 through its T-Nets), but plain-34 trains worse than plain-18 (He et al. 2016, Fig. 4)
    max_normalised_depth: int = 20
    dataset_size: int | None = None  # training samples, for the parameters-per-sample rule
    max_params_per_sample: float = 100.0
    attention_share: float = 0.5  # share of activation bytes above which attention memory "dominates"


_BATCHNORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)
_DROPOUTS = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout, nn.FeatureAlphaDropout)


def drops_anything(module: nn.Module | None) -> bool:
    """Whether a dropout module zeroes anything in training: its probability is above 0 (p=0 is the identity)."""
    return module is not None and float(getattr(module, "p", 1.0)) > 0.0


def check_small_batch_batchnorm(
    model: nn.Module, trace: ForwardTrace, batch_size: int, cfg: LintConfig
) -> list[Finding]:
    if batch_size >= cfg.small_batch:
        return []
    return [
        Finding(
            "small-batch-batchnorm",
            "warning",
            name,
            f"{type(m).__name__} trained with a per-device batch of {batch_size} (< {cfg.small_batch})",
            "batch statistics from a few samples are noisy, so training is unstable and eval-mode statistics differ "
            "from those seen in training",
            "use GroupNorm or LayerNorm, or a larger per-device batch (or SyncBatchNorm across devices)",
        )
        for name, m in model.named_modules()
        if isinstance(m, _BATCHNORMS)
    ]


def check_dropout_after_batchnorm(
    model: nn.Module, trace: ForwardTrace, batch_size: int, cfg: LintConfig
) -> list[Finding]:
    produced_by_bn = {
        t: c.name for c in trace.calls if c.type in {b.__name__ for b in _BATCHNORMS} for t in c.outputs
    }
    modules = dict(model.named_modules())
    findings = []
    for c in trace.calls:
        if c.type in {d.__name__ for d in _DROPOUTS} and drops_anything(modules.get(c.name)):
            source = next((produced_by_bn[t] for t in c.inputs if t in produced_by_bn), None)
            if source is not None:
                findings.append(
                    Finding(
                        "dropout-after-batchnorm",
                        "warning",
                        c.name,
                        f"{c.type} applied directly to the output of BatchNorm {source}",
                        "dropout shifts the variance BatchNorm normalised in training but not at inference, so the "
                        "statistics BatchNorm learned do not match what it sees in eval mode (Li et al. 2019, "
                        "'Understanding the Disharmony between Dropout and Batch Normalization')",
                        "move dropout after the last BatchNorm (e.g. before the classifier), or drop it",
                    )
                )
    return findings


def common_module_prefix(names: list[str]) -> str:
    """The deepest module containing all `names`: ['body.0', 'body.38'] → 'body'."""
    prefix: list[str] = []
    for parts in zip(*(n.split(".") for n in names)):
        if any(p != parts[0] for p in parts):
            break
        prefix.append(parts[0])
    return ".".join(prefix)


_NORMS = {"BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm", "LayerNorm", "GroupNorm", "InstanceNorm1d",
          "InstanceNorm2d", "InstanceNorm3d", "RMSNorm"}  # fmt: skip


def normalised_share(trace: ForwardTrace, chain: list[str]) -> float:
    """Share of the weighted modules in `chain` whose output goes straight into a normalisation layer."""
    normed_inputs = {t for c in trace.calls if c.type in _NORMS for t in c.inputs}
    outputs = {c.name: set(c.outputs) for c in trace.calls}
    return sum(bool(outputs.get(n, set()) & normed_inputs) for n in chain) / max(len(chain), 1)


def check_deep_plain_stack(
    model: nn.Module, trace: ForwardTrace, batch_size: int, cfg: LintConfig
) -> list[Finding]:
    if trace.max_depth <= cfg.max_plain_depth or any(s >= 2 for s in trace.skip_spans):
        return []
    chain = trace.deepest_chain
    normalised = normalised_share(trace, chain) >= 0.5
    if normalised and trace.max_depth <= cfg.max_normalised_depth:
        return []
    container = common_module_prefix(chain)
    limit = (
        f"more than {cfg.max_normalised_depth} even with normalisation" if normalised else "no normalisation"
    )
    return [
        Finding(
            "deep-plain-stack",
            "warning",
            container,
            f"{trace.max_depth} weighted layers on one path ({chain[0]} … {chain[-1]}) with no residual connection "
            f"({limit})",
            "without skip connections, gradients through a deep stack vanish or explode and the training loss "
            "plateaus (He et al. 2016)",
            "add residual connections (x + f(x)) around blocks, or make the stack shallower",
        )
    ]


def check_params_per_sample(
    model: nn.Module, trace: ForwardTrace, batch_size: int, cfg: LintConfig
) -> list[Finding]:
    if not cfg.dataset_size:
        return []
    params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    ratio = params / cfg.dataset_size
    if ratio <= cfg.max_params_per_sample:
        return []
    return [
        Finding(
            "params-per-sample",
            "warning",
            "",
            f"{params:,} trainable parameters for {cfg.dataset_size:,} samples ({ratio:,.0f} per sample, "
            f"limit {cfg.max_params_per_sample:g})",
            "rule of thumb: the classical 'ten samples per parameter' is far too strict for deep networks, which "
            "train well well past one parameter per sample, but beyond ~100 parameters per sample a model trained "
            "from scratch tends to memorise the training set (seed.md: 'too large for the dataset')",
            "start from pretrained weights, shrink width/depth, or regularise harder (dropout, weight decay, "
            "augmentation); set the limit with --max-params-per-sample",
        )
    ]


def check_attention_memory(
    model: nn.Module, trace: ForwardTrace, batch_size: int, cfg: LintConfig
) -> list[Finding]:
    if not trace.attention:
        return []
    scores = sum(a.score_bytes for a in trace.attention)
    share = scores / (scores + trace.activation_bytes)
    if share < cfg.attention_share:
        return []
    longest = max(trace.attention, key=lambda a: a.q_shape[-2] * a.k_shape[-2])
    where = longest.module_stack[-1] if longest.module_stack else ""
    return [
        Finding(
            "attention-memory",
            "warning",
            where,
            f"attention score matrices take {share:.0%} of activation memory (sequence {longest.q_shape[-2]}×"
            f"{longest.k_shape[-2]}, {len(trace.attention)} attention calls)",
            "an unfused attention materialises a T×T matrix per head, which grows quadratically with the sequence "
            "and dominates memory for long sequences",
            "use a fused, memory-efficient kernel (FlashAttention; `benchbench swap MODEL --ops attention`), "
            "or shorter/windowed sequences",
        )
    ]


def check_activation_convention(
    model: nn.Module, trace: ForwardTrace, batch_size: int, cfg: LintConfig
) -> list[Finding]:
    # A module that ran attention is an attention module; its parent is a Transformer block.
    blocks = {a.module_stack[-2] for a in trace.attention if len(a.module_stack) >= 2}
    findings = []
    for name, m in model.named_modules():
        if isinstance(m, (nn.ReLU, nn.ReLU6, nn.LeakyReLU)) and any(
            name.startswith(b + ".") for b in blocks if b
        ):
            findings.append(
                Finding(
                    "activation-convention",
                    "info",
                    name,
                    f"{type(m).__name__} inside a Transformer block",
                    "Transformers conventionally use GELU or SwiGLU in their feed-forward layers (BERT, GPT-2, ViT, "
                    "LLaMA); ReLU works but usually trains slightly worse at the same size",
                    "use nn.GELU (or a SwiGLU feed-forward) unless ReLU is a deliberate choice (e.g. the original "
                    "Transformer, FT-Transformer's ReGLU)",
                )
            )
    return findings


RULES = (
    check_small_batch_batchnorm,
    check_dropout_after_batchnorm,
    check_deep_plain_stack,
    check_params_per_sample,
    check_attention_memory,
    check_activation_convention,
)


def trace_for_lint(model: nn.Module, inputs: tuple) -> ForwardTrace:
    """One traced forward pass in eval mode (dropout off), the model's mode restored after."""
    was_training = model.training
    model.eval()
    try:
        return trace_forward(model, inputs)
    finally:
        model.train(was_training)


def lint_model(
    model: nn.Module,
    inputs: tuple,
    *,
    batch_size: int,
    config: LintConfig | None = None,
    trace: ForwardTrace | None = None,
) -> list[Finding]:
    """All findings for `model` trained at per-device `batch_size`, from its structure and one forward pass
    (`trace`, when the caller has traced it already)."""
    cfg = config or LintConfig()
    trace = trace or trace_for_lint(model, inputs)
    return [f for rule in RULES for f in rule(model, trace, batch_size, cfg)]
