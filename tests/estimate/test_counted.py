"""A config too big to build here: `profile` and `card` count it on the meta device, say what was not measured
and why, exit 0, and never allocate its weights (peak RSS measured in a subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytest.importorskip("transformers")

LLAMA2_7B_PARAMS = 6_738_415_616  # transformers' LlamaConfig() defaults (Llama-2-7B), the published count
LLAMA2_7B_KV_FP32 = 2 * 32 * 32 * 128 * 4  # K and V × layers × KV heads × head dim × 4 bytes

# Runs the commands in a fresh interpreter as on a machine with 8 GiB free (the 25 GiB of float32 weights do not
# fit whatever this machine has), and writes their exit codes and the peak RSS growth they caused.
SCRIPT = r"""
import json, resource, sys
import benchbench.estimate.counted, benchbench.report.card, benchbench.cli.profile
import benchbench.sources.hf as hf
from benchbench.cli import main

hf.import_transformers()  # the libraries' own memory is not the commands'
hf._free_bytes = lambda: 8 * 2**30
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
codes = [main(argv) for argv in json.loads(sys.argv[1])]
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
with open(sys.argv[2], "w") as f:
    json.dump({"codes": codes, "growth_bytes": (after - before) * 1024, "peak_bytes": after * 1024}, f)
"""


@pytest.fixture(scope="module")
def llama2_7b(tmp_path_factory):
    from benchbench.sources.hf import import_transformers

    folder = tmp_path_factory.mktemp("llama2-7b")
    import_transformers().LlamaConfig().save_pretrained(folder)  # config.json only: no weights, no download
    return folder


def run_commands(tmp_path, argvs: list[list[str]]) -> dict:
    out = tmp_path / "rss.json"
    done = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(argvs), str(out)], capture_output=True,
                          text=True, timeout=600, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return {**json.loads(out.read_text()), "stdout": done.stdout}


@pytest.mark.slow
def test_profile_and_card_of_llama2_7b_count_without_allocating(llama2_7b, tmp_path):
    model = f"hf:{llama2_7b}:causal-lm"
    prof, card = tmp_path / "profile.json", tmp_path / "card.md"
    ran = run_commands(tmp_path, [["profile", model, "--json", str(prof)],
                                  ["card", model, "--baseline-size", "tiny", "--no-scaling", "--out", str(card)]])  # fmt: skip
    assert ran["codes"] == [0, 0], ran["stdout"][-3000:]
    assert ran["growth_bytes"] < 2 * 2**30, ran  # the weights would be 25 GiB in float32, 13 GB at 16-bit

    data = json.loads(prof.read_text())
    assert data["schema_version"] >= 2 and data["kind"] == "profile" and data["device"] == "meta"
    assert data["params"]["total"] == LLAMA2_7B_PARAMS
    assert data["latency"] is None and data["memory"] is None and data["errors"] == []
    c = data["counted"]
    assert c["counted_on"].startswith("meta device") and c["causal_lm_params"] == LLAMA2_7B_PARAMS
    assert c["not_measured"].startswith("the model does not fit in memory (needs 25.1 GiB")
    assert "this machine has 8.0 GiB free" in c["not_measured"]
    assert c["kv_bytes_per_token"] == LLAMA2_7B_KV_FP32 and c["kv_dtype"] == "float32"
    # the prefill counted per token is the profile's own forward pass, counted by the same counter
    assert c["macs_per_prefill_token"] * data["seq_len"] == pytest.approx(data["flops"]["macs"], rel=1e-9)
    assert c["decode_context"] == 2048 and c["macs_per_decode_token"] > c["macs_per_prefill_token"]
    assert "COUNTED, not measured" in ran["stdout"] and "6,738,415,616" in ran["stdout"]

    text = card.read_text()
    assert "Counted, not measured" in text and "6,738,415,616" in text
    assert "not measured: the model does not fit in memory" in text
    assert f"{LLAMA2_7B_KV_FP32:,}" in text


def test_counted_profile_equals_the_built_models_counts(tmp_path):
    """On a config small enough to build, the meta device counts what the built model counts: parameters, MACs
    and every layer's output shapes and MACs (the meta forward takes no mask and keeps its cache: same work)."""
    from benchbench.estimate.counted import counted_profile
    from benchbench.measure.profile import profile
    from benchbench.sources.hf import TooBigToBuild, import_transformers

    import_transformers().LlamaConfig(hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
                                      num_key_value_heads=2, vocab_size=100, max_position_embeddings=64,
                                      ).save_pretrained(tmp_path)  # fmt: skip
    name = f"hf:{tmp_path}:causal-lm"
    too_big = TooBigToBuild("pretend", params=10**9, free_bytes=2**30)
    _, counted = counted_profile(name, too_big, seq_len=16)
    built = profile(name, size=None, seq_len=16, memory=False, latency=False, flops_check=False)
    assert counted.errors == [] and counted.latency is None and counted.memory is None
    assert counted.params.total == built.params.total and counted.flops.macs == built.flops.macs > 0

    def rows(p):
        return {r.name: (r.output_shapes, r.macs, r.params) for r in p.layers}

    assert rows(counted) == rows(built)
    c = counted.counted
    assert c.causal_lm_params == built.params.total and c.kv_bytes_per_token == 2 * 2 * 2 * 16 * 4
    assert c.macs_per_prefill_token * 16 == pytest.approx(built.flops.macs, rel=1e-9)
    assert c.not_measured.startswith("the model does not fit in memory (needs 3.7 GiB")
    assert "this machine has 1.0 GiB free" in c.not_measured
