"""The generation stage (cheap), its gate metrics, the "cost per token" report and card sections and plots."""

import time
from types import SimpleNamespace

from benchbench.generate.stage import GATE_METRICS, generation_of, generation_stage
from benchbench.report.document import Section, Table
from benchbench.report.generation import card_cost_per_token_section, cost_per_token_section, generation_plots
from benchbench.sources.target import load_target


def test_stage_section_gate_metrics(tmp_path):
    target = load_target("gpt2", size="tiny")
    ctx = SimpleNamespace(out_dir=tmp_path, device="cpu", dtype="float32")
    start = time.perf_counter()
    record = generation_stage(target, None, ctx)
    assert time.perf_counter() - start < 60  # generous: a bound on the work, not a timing test
    assert record.points and record.cache_check_ok and record.points[0].ttft_ms.n == 6
    assert generation_stage(load_target("mlp", size="tiny"), None, ctx) is None  # not a decoder

    profile = SimpleNamespace(generation=record)
    values = {key: fn(profile) for key, (fn, _) in GATE_METRICS.items()}
    assert values["kv_bytes_per_token"] == 2 * 2 * 64 * 4
    assert values["ttft_ms"] == record.points[0].ttft_ms.median
    assert values["decode_tokens_per_s"] > 0 and GATE_METRICS["decode_tokens_per_s"][1] == "min"
    assert all(fn(SimpleNamespace()) is None for fn, _ in GATE_METRICS.values())

    from benchbench.core.files import to_jsonable

    assert generation_of(SimpleNamespace(generation=to_jsonable(record))) == record  # read back from JSON

    section = cost_per_token_section(SimpleNamespace(profiles=[profile, SimpleNamespace()]))
    assert isinstance(section, Section) and section.title == "Cost per token"
    table = next(b for b in section.blocks if isinstance(b, Table))
    assert len(table.rows) == len(record.points) and "(n=6)" in table.rows[0][4]
    assert cost_per_token_section(SimpleNamespace(profiles=[SimpleNamespace()])) is None
    assert "not measured" in card_cost_per_token_section(None).blocks[0]
    assert [p.name for p in generation_plots(record)] == [
        "ttft_vs_context",
        "tpot_vs_context",
        "kv_bytes_vs_context",
    ]


def test_prompts_past_the_models_positions_are_fitted_in_the_stage_and_refused_by_the_command(cli, tmp_path):
    """Whisper tiny's text decoder embeds 32 positions: the stage's 32-token prompt plus 8 tokens is shortened to
    24; the command, given the same, says so in one line."""
    from benchbench.sources.target import load_target

    record = generation_stage(load_target("whisper_tiny", "tiny", 1), SimpleNamespace(),
                              SimpleNamespace(device="cpu", dtype="float32", out_dir=tmp_path))  # fmt: skip
    assert record is not None and sorted({p.prompt_len for p in record.points}) == [8, 24]
    code, _, err = cli(["generate", "whisper_tiny", "--prompt-lens", "32", "--gen-len", "8"])
    assert code == 2 and "at most 32 positions" in err
