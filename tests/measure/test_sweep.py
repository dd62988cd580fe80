"""Latency sweeps: one record per point, train-step mode, dtype refusal, threads."""

from __future__ import annotations

import pytest
import torch

from benchbench.core.device import check_dtype
from benchbench.core.errors import BadInputError
from benchbench.measure import sweep as sweep_mod
from benchbench.measure.sweep import num_threads, parse_int_list, sweep
from benchbench.measure.timing import TimingConfig
from benchbench.sources.target import load_target

FAST = TimingConfig(warmup=1, min_repeats=2, min_time_s=0)


@pytest.mark.parametrize("mode", ["eval", "train-step"])
def test_one_record_per_batch_and_seq_point(mode):
    t = load_target("bert", "tiny", 1)
    recs = sweep(t, batch_sizes=[1, 3], seq_lens=[8, 16], mode=mode, timing=FAST)
    assert [(r.batch_size, r.seq_len) for r in recs] == [(1, 8), (1, 16), (3, 8), (3, 16)]
    for r in recs:
        assert r.mode == mode and r.dtype == "float32" and r.error is None and r.latency.n >= 2
        assert r.latency.throughput_per_s == pytest.approx(r.batch_size * 1000 / r.latency.p50_ms)


def test_dtypes_and_threads():
    t = load_target("mlp", "tiny", 2)
    before = torch.get_num_threads()
    recs = sweep(t, dtypes=["float32", "bf16"], threads=1, timing=FAST)
    assert [r.dtype for r in recs] == ["float32", "bfloat16"]
    assert all(r.latency.threads == 1 for r in recs)
    assert torch.get_num_threads() == before


def test_unsupported_dtype_is_refused_with_the_reason(monkeypatch):
    monkeypatch.setattr(sweep_mod.torch.amp, "is_autocast_available", lambda device_type: False)
    with pytest.raises(
        BadInputError, match=r"bfloat16 on cpu: autocast is not available on cpu; allowed here: float32"
    ):
        check_dtype(torch.device("cpu"), torch.bfloat16)
    with pytest.raises(BadInputError):
        sweep(load_target("mlp", "tiny", 1), dtypes=["float16"], timing=FAST)


def test_a_failing_point_is_recorded_and_the_sweep_goes_on(monkeypatch):
    t = load_target("mlp", "tiny", 1)
    real = sweep_mod.measure

    def flaky(fn, *, device, batch_size, config):
        if batch_size == 2:
            raise RuntimeError("out of memory (simulated)")
        return real(fn, device=device, batch_size=batch_size, config=config)

    monkeypatch.setattr(sweep_mod, "measure", flaky)
    recs = sweep(t, batch_sizes=[1, 2, 4], timing=FAST)
    assert [r.error is not None for r in recs] == [False, True, False]
    assert "out of memory" in recs[1].error and recs[1].latency is None


@pytest.mark.parametrize("text,expected", [("1,8,32", [1, 8, 32]), ("4", [4]), (None, None), (7, [7])])
def test_parse_int_list(text, expected):
    assert parse_int_list(text, "--batch-size") == expected


@pytest.mark.parametrize("text", ["0", "1,x", "-2", ""])
def test_parse_int_list_rejects(text):
    with pytest.raises(BadInputError, match="--batch-size must be positive integers"):
        parse_int_list(text, "--batch-size")


def test_bad_mode_threads_and_seq_len_on_a_non_sequence_model():
    t = load_target("mlp", "tiny", 1)
    with pytest.raises(BadInputError, match="allowed: eval, train-step"):
        sweep(t, mode="training", timing=FAST)
    with pytest.raises(BadInputError, match="--threads must be between 1 and"), num_threads(0):
        pass
    with pytest.raises(BadInputError, match="no sequence length"):
        sweep(t, seq_lens=[8], timing=FAST)
