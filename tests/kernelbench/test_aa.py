"""The A/A test: one implementation against itself, on a CPU that another process keeps busy.

`kernels compare OP --impl A --impl A` times A twice in interleaved rounds; the ratio's 95% CI must contain 1
as often as a calibrated 95% interval does. Twenty comparisons run while a busy-loop process loads one of
the CPUs; at least 18 must contain 1 (a 95% interval misses about 1 in 20; far more misses mean the interval
is too narrow for this noise). The order-statistic CI covers 96-99% at the round counts where the rounds
stop, and stopping only after whole turns of the rotation keeps an arm's position in a round from biasing the
ratio. Measured with this timing, a burner and the load of other test runs (1-minute load about 6 on 2 CPUs):
6 misses in 400 comparisons (1.5%), which makes this test fail about 3 times in 1000 (P(>= 3 misses of 20)).

The comparisons run with one torch thread: with two threads and a burner on two cores, every parallel region
waits for a preempted OpenMP worker and a call takes milliseconds instead of microseconds (both arms alike,
so the test would still hold, but take several times longer).
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import torch

from benchbench.cli import main
from benchbench.estimate.ceilings import measure_ceilings
from benchbench.kernelbench.compare import compare_op, parse_shape
from benchbench.kernels.registry import get_op
from benchbench.measure.timing import TimingConfig

SHAPE = "M=64,N=256"
REPEATS = 20
# kernels compare's CPU timing with a shorter cap, to keep 20 comparisons within a few seconds
AA_TIMING = TimingConfig(warmup=1, min_repeats=6, max_repeats=2000, min_time_s=0.02, max_time_s=0.2)


@pytest.fixture
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def burner():
    """A second process spinning on one CPU for as long as the test runs."""
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    time.sleep(0.2)  # let it get going
    assert proc.poll() is None, "the burner did not start"
    yield proc
    proc.kill()
    proc.wait(timeout=10)


def test_a_against_itself_under_load_contains_one(one_thread, burner):
    ceilings = measure_ceilings("cpu", torch.float32)
    shape = parse_shape(SHAPE, get_op("layernorm"))
    cis = []
    for _ in range(REPEATS):
        res = compare_op(
            "layernorm", impls=["eager", "eager"], shapes=[shape], ceilings=ceilings, timing=AA_TIMING
        )
        (row,) = [r for r in res.rows if r.impl == "eager#2"]
        assert row.status == "timed" and row.reference == "eager"
        cis.append(row.ratio_ci95)
    assert burner.poll() is None, "the burner stopped before the comparisons did"
    hits = sum(lo <= 1.0 <= hi for lo, hi in cis)
    print(
        f"\nA/A under a burner: {hits}/{REPEATS} CIs contain 1: "
        + ", ".join(f"[{lo:.3f}, {hi:.3f}]" for lo, hi in cis)
    )
    assert hits >= 18, cis


def test_the_cli_takes_one_implementation_twice(tmp_path, capsys):
    out = tmp_path / "aa.json"
    rc = main(["kernels", "compare", "layernorm", "--impl", "eager", "--impl", "eager", "--shapes", SHAPE,
               "--json", str(out)])  # fmt: skip
    text = capsys.readouterr().out
    assert rc == 0 and "eager#2" in text
    from benchbench.core.schema import read

    rows = {r.impl: r for r in read(out, ("kernel_compare",)).rows}
    assert set(rows) == {"eager", "eager#2"} and rows["eager"].baseline and not rows["eager#2"].baseline
    lo, hi = rows["eager#2"].ratio_ci95
    assert lo <= rows["eager#2"].speedup <= hi and rows["eager#2"].repeats == rows["eager"].repeats
