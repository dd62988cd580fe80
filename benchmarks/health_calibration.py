"""Calibration of `benchbench health`: known-good architectures must not be flagged, broken ones must be.

    python benchmarks/health_calibration.py [--only zoo|library|broken] [--json FILE]

Runs the lint (for a training batch of 32, as a run does) and the trainability probe (the CLI's defaults:
batch 8 shrunk to the probe's size) over every zoo model at `tiny`, eleven library architectures (a small Llama from a local config directory) built offline
with random weights, and the deliberately broken models of `tests/health/broken_models.py`, then prints one row
per model and the confusion table. A model is *flagged* when the probe is unhealthy or the lint has a warning or
an error; a known-good model flagged is a false alarm, a broken model not flagged is a miss. The smallest and
largest gradient-to-weight ratio of any layer of the known-good models are printed beside the probe's bounds.
Exit 1 on a false alarm or a miss.
"""

from __future__ import annotations

import argparse
import gc
import math
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BROKEN_FILE = ROOT / "tests" / "health" / "broken_models.py"
TRAIN_BATCH = 32  # the per-device training batch the lint assumes, as `benchbench run` does
CLI_BATCH = 8  # `benchbench health`'s default batch

BROKEN = (
    "plain_mlp_50",  # no residuals at depth 50
    "scaled_down_mlp_6",  # weights × 1e-4, shallow enough that the lint does not see it
    "scaled_down_mlp_20",
    "scaled_up_mlp_6",  # weights × 100
    "dropout_after_batchnorm",
    "dead_relu_mlp_6",
)


def small_llama_dir(folder: Path) -> str:
    """A local config directory for a small Llama (4 layers, hidden 256, 8 heads of which 4 key/value heads)."""
    from benchbench.sources.hf import import_transformers

    cfg = import_transformers().LlamaConfig(
        hidden_size=256, intermediate_size=688, num_hidden_layers=4, num_attention_heads=8,
        num_key_value_heads=4, vocab_size=32000, max_position_embeddings=512,
    )  # fmt: skip
    cfg.save_pretrained(folder)
    return str(folder)


def library_models(llama_dir: str) -> list[tuple[str, str | None]]:
    return [
        ("hf:bert", None),
        ("hf:gpt2", "causal-lm"),
        (f"hf:{llama_dir}", "causal-lm"),
        ("hf:t5", "seq2seq-lm"),
        ("hf:wav2vec2", None),
        ("timm:vit_small_patch16_224", None),
        ("timm:convnext_tiny", None),
        ("timm:deit_tiny_patch16_224", None),
        ("torchvision:resnet50", None),
        ("torchvision:efficientnet_b0", None),
        ("torchvision:swin_t", None),
    ]


@dataclass
class Row:
    model: str
    group: str  # "zoo", "library" or "broken"
    flagged: bool
    caught_by: str  # the lint rules and probe flags that fired, or "—"
    verdict: str  # the probe's
    loss: str
    lr: float | None  # the rate at which the loss fell; None if none did
    steps: int | None
    shrunk: str | None
    seconds: float
    min_ratio: float | None  # smallest and largest layer gradient-to-weight ratio at the first step
    max_ratio: float | None
    error: str | None = None


def probe_one(model: str, group: str, task: str | None = None) -> Row:
    from benchbench.health.check import check_health
    from benchbench.sources.target import load_target

    start = time.perf_counter()
    label = model + (f" --task {task}" if task else "")
    try:
        size = "tiny" if group == "zoo" else None
        target = load_target(model, size, batch_size=CLI_BATCH, task=task)
        health = check_health(target, train_batch_size=TRAIN_BATCH)
    except Exception as e:  # a model that cannot be built is reported, not hidden
        return Row(label, group, False, "—", "error", "—", None, None, None, time.perf_counter() - start,
                   None, None, f"{type(e).__name__}: {e}".splitlines()[0])  # fmt: skip
    probe = health.probe
    lint = sorted({f.rule for f in health.lint if f.severity != "info"})
    kinds = sorted({f.kind for f in probe.flags})
    causes = lint + [f"probe: {k} gradients" for k in kinds]
    if not probe.loss_fell and probe.complete:
        causes.append("probe: loss did not fall")
    ratios = [r for r in probe.grad_to_weight.values() if r is not None and math.isfinite(r)]
    fell = next((a for a in probe.attempts if a.fell), None)
    row = Row(label, group, bool(lint) or probe.verdict == "unhealthy", ", ".join(causes) or "—", probe.verdict,
              probe.loss, fell.lr if fell else None, len(fell.losses) if fell else None, probe.shrunk,
              time.perf_counter() - start, min(ratios, default=None), max(ratios, default=None))  # fmt: skip
    del target, health
    gc.collect()
    return row


def calibrate(only: str | None = None, out=sys.stdout) -> list[Row]:
    from benchbench.models.registry import list_models

    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        jobs: list[tuple[str, str, str | None]] = []
        if only in (None, "zoo"):
            jobs += [(name, "zoo", None) for name in list_models()]
        if only in (None, "library"):
            jobs += [(m, "library", t) for m, t in library_models(small_llama_dir(Path(tmp) / "llama-small"))]
        if only in (None, "broken"):
            jobs += [(f"{BROKEN_FILE}:{name}", "broken", None) for name in BROKEN]
        for model, group, task in jobs:
            row = probe_one(model, group, task)
            if "llama-small" in row.model:
                row.model = row.model.replace(str(Path(tmp) / "llama-small"), "DIR(small LlamaConfig)")
            row.model = row.model.replace(str(BROKEN_FILE), "broken_models.py")
            rows.append(row)
            print(format_row(row), file=out, flush=True)
    return rows


def _num(x: float | None, fmt: str) -> str:
    return "—" if x is None else format(x, fmt)


def format_row(r: Row) -> str:
    verdict = "error" if r.error else ("flagged" if r.flagged else "clean")
    return (f"| {r.model} | {r.group} | {verdict} | {r.verdict} | {r.caught_by if not r.error else r.error} | {r.loss} | "
            f"{_num(r.lr, 'g')} | {_num(r.steps, 'd')} | {_num(r.min_ratio, '.1e')} … {_num(r.max_ratio, '.1e')} | "
            f"{r.seconds:.1f} |")  # fmt: skip


HEADER = ("| model | group | verdict | probe | caught by | loss | lr that worked | steps | layer ‖g‖/‖w‖ min … max | s |\n"
          "|---|---|---|---|---|---|---|---|---|---|")  # fmt: skip


def summary(rows: list[Row]) -> tuple[str, int, int]:
    """The confusion table, and the number of false alarms and of misses (errors count as both kinds)."""
    from benchbench.health.gradients import GradientBounds

    good = [r for r in rows if r.group != "broken"]
    bad = [r for r in rows if r.group == "broken"]
    false_alarms = [r for r in good if r.flagged or r.error]
    misses = [r for r in bad if not r.flagged or r.error]
    ratios = [x for r in good for x in (r.min_ratio, r.max_ratio) if x is not None]
    b = GradientBounds()
    lines = [
        "|  | flagged | not flagged |",
        "|---|---|---|",
        f"| known-good ({len(good)}) | {len(false_alarms)} (false alarms) | {len(good) - len(false_alarms)} |",
        f"| broken ({len(bad)}) | {len(bad) - len(misses)} (caught) | {len(misses)} (missed) |",
        "",
        f"known-good layers' ‖grad‖/‖weight‖ at the first step: {min(ratios, default=math.nan):.1e} … "
        f"{max(ratios, default=math.nan):.1e}; the probe's bounds: floor {b.floor:g}, ceiling {b.ceiling:g}",
    ]
    for r in false_alarms:
        lines.append(f"false alarm: {r.model}: {r.error or r.caught_by}")
    for r in misses:
        lines.append(f"missed: {r.model}: {r.error or 'nothing flagged'}")
    return "\n".join(lines), len(false_alarms), len(misses)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("zoo", "library", "broken"))
    parser.add_argument("--json", type=Path, help="write the rows to this file")
    args = parser.parse_args(argv)
    print(HEADER, flush=True)
    rows = calibrate(args.only)
    text, false_alarms, misses = summary(rows)
    print("\n" + text)
    if args.json:
        from benchbench.core.files import write_json

        write_json(args.json, {"rows": [asdict(r) for r in rows]})
    return 1 if false_alarms or misses else 0


if __name__ == "__main__":
    sys.exit(main())
