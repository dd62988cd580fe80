"""Architecture health: the lint and the trainability probe together, as one `HealthReport`
(`result.health` of a profile in a run, and `benchbench health`).

The probe trains, so it runs on a smaller batch than the one profiled when the target can make one: at most
`max_batch` samples, `max_seq` tokens of token inputs and `max_samples` of a waveform (`ProbeSize`); the result says what it shrank.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from benchbench.core.errors import one_line
from benchbench.core.files import to_jsonable
from benchbench.health.lint import LintConfig, lint_model, trace_for_lint
from benchbench.health.loss import task_loss
from benchbench.health.probe import ProbeConfig, probe_trainability
from benchbench.health.records import HealthReport, ProbeResult
from benchbench.health.trace import ForwardTrace
from benchbench.sources.target import Target, make_inputs


@dataclass(frozen=True)
class ProbeSize:
    max_batch: int = 4  # BatchNorm needs 2 or more; 4 keeps its statistics from being degenerate
    max_seq: int = 16  # tokens
    max_samples: int = 4000  # audio samples (a quarter of a second at 16 kHz)


def _sequence_unit(inputs: tuple, seq_len: int) -> str | None:
    """The sequence axis's unit: "tokens" for integer (B, seq_len) ids, "samples" for a float (B, seq_len) waveform."""
    for x in inputs:
        if isinstance(x, torch.Tensor) and x.dim() == 2 and x.shape[1] == seq_len:
            return "samples" if x.is_floating_point() else "tokens"
    return None


def probe_inputs(target: Target, size: ProbeSize) -> tuple[tuple, int, int | None, str | None]:
    """(inputs, batch, sequence length, what was shrunk or None) for the probe."""
    batch, seq = target.batch_size, target.seq_len
    if target.input_maker is None:
        return target.inputs, batch, seq, None
    new_batch = min(batch, size.max_batch)
    unit = None if seq is None else _sequence_unit(target.inputs, seq)
    limit = {"tokens": size.max_seq, "samples": size.max_samples}.get(unit or "")
    new_seq = limit if limit is not None and seq > limit else seq
    if (new_batch, new_seq) == (batch, seq):
        return target.inputs, batch, seq, None
    shrunk = [f"batch {batch} → {new_batch}"] if new_batch != batch else []
    shrunk += [f"sequence {seq} → {new_seq} {unit}"] if new_seq != seq else []
    return make_inputs(target, new_batch, new_seq), new_batch, new_seq, ", ".join(shrunk)


def is_transformer(model: nn.Module, trace: ForwardTrace) -> bool:
    """Attention ran (scaled_dot_product_attention) or the model has attention modules (Swin, T5, nn.MHA)."""
    return bool(trace.attention) or any("Attention" in type(m).__name__ for m in model.modules())


def _probe(target: Target, probe: ProbeConfig, size: ProbeSize, trace: ForwardTrace) -> ProbeResult:
    inputs, batch, seq, shrunk = probe_inputs(target, size)
    loss = task_loss(target.model, inputs, output_names=target.output_names, input_names=target.input_names,
                     task=target.task, seed=probe.seed)  # fmt: skip
    result = probe_trainability(target.model, inputs, probe, loss=loss,
                                transformer=is_transformer(target.model, trace))  # fmt: skip
    result.batch_size, result.seq_len, result.shrunk = batch, seq, shrunk
    if shrunk:
        result.notes.insert(0, f"probed at a smaller input to stay in budget: {shrunk}")
    return result


def check_health(
    target: Target,
    *,
    lint: LintConfig | None = None,
    probe: ProbeConfig | None = None,
    run_probe: bool = True,
    train_batch_size: int | None = None,
    probe_size: ProbeSize | None = None,
) -> HealthReport:
    """Lint `target`'s model for a per-device training batch (default: the target's) and, if asked, probe it."""
    lint, probe, probe_size = lint or LintConfig(), probe or ProbeConfig(), probe_size or ProbeSize()
    train_batch = train_batch_size or target.batch_size
    trace = trace_for_lint(target.model, target.inputs)
    findings = lint_model(target.model, target.inputs, batch_size=train_batch, config=lint, trace=trace)
    result, skipped = None, None if run_probe else "not requested"
    if run_probe:
        try:
            result = _probe(target, probe, probe_size, trace)
        except (ValueError, RuntimeError, NotImplementedError) as e:  # e.g. no float output, no backward
            skipped = f"the probe could not train the model: {one_line(e)}"
    return HealthReport(
        lint=findings,
        probe=result,
        probe_skipped=skipped,
        train_batch_size=train_batch,
        config={
            "lint": to_jsonable(lint),
            "probe": to_jsonable(probe),
            "probe_size": to_jsonable(probe_size),
        },
    )
