"""`benchbench generate`: per-token figures with CIs and counts, versioned JSON, one-line errors (exit 2)."""

import json

import pytest

from benchbench.generate.records import from_json

FAST = ["--prompt-lens", "4,8", "--gen-len", "3", "--repeats", "2", "--threads", "1"]


def test_generate_gpt2_json_and_text(cli, tmp_path):
    out_file = tmp_path / "gen.json"
    code, out, _ = cli(
        ["generate", "gpt2", "--size", "tiny", *FAST, "--json", str(out_file), "--plots", str(tmp_path)]
    )
    assert code == 0
    for word in (
        "TTFT",
        "TPOT",
        "tokens/s",
        "n=2, CI covers 50%",
        "n=4",
        "cache check: greedy tokens with the cache equal",
    ):
        assert word in out
    data = json.loads(out_file.read_text())
    assert data["kind"] == "generate" and data["schema_version"] >= 2
    record = from_json(data, str(out_file))
    assert [p.prompt_len for p in record.points] == [4, 8] and record.cache_check_ok
    p = record.points[0]
    assert p.ttft_ms.n == 2 and p.tpot_ms.n == 2 * 2  # two requests of two decode steps each
    lo, hi = p.ttft_ms.ci95
    assert lo <= p.ttft_ms.median <= hi and p.ttft_ms.median > 0
    assert record.cache.agrees and record.cache.bytes_per_token == 2 * 2 * 64 * 4  # 2 layers, width 64, fp32
    assert {f.name for f in tmp_path.glob("*.svg")} == {"ttft_vs_context.svg", "tpot_vs_context.svg",
                                                        "kv_bytes_vs_context.svg"}  # fmt: skip


def test_generate_hf_llama_gqa(cli, llama_gqa_dir):
    code, out, _ = cli(["generate", f"hf:{llama_gqa_dir}", *FAST, "--json", "-"])
    assert code == 0
    record = from_json(json.loads(out), "stdout")
    assert record.decoder == "hf" and record.cache.formula.startswith("GQA")
    assert record.points[0].decode_tokens_per_s.n == 4


@pytest.mark.parametrize(
    "argv, words",
    [
        (["gpt2", "--prompt-lens", "0"], "integers >= 1"),
        (["gpt2", "--backend", "tensorrt"], "backends are eager and compile"),
        (["resnet18"], "not a decoder"),
        (["nosuchmodel"], "unknown model"),
        (["gpt2", "--dtype", "float99"], "float99"),
        (["gpt2", "--json", "out.txt"], ".json"),
        (["gpt2", "--gen-len", "1", "--repeats", "1"], "confidence interval"),
    ],
)
def test_bad_input_is_one_line_exit_2(cli, argv, words):
    code, _, err = cli(["generate", *argv])
    assert code == 2
    assert words in err
