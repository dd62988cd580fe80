"""Each op's bytes moved, forward and backward, against a count by hand at one small shape.

GB/s and % of copy bandwidth are bytes / time: a wrong byte count makes every rate wrong by the same factor.
The backward of a norm, softmax or GELU moves 3·M·N elements (two reads, one write), not twice the forward's
2·M·N; counting 4·M·N would report 1.33× the real rate.
"""

from __future__ import annotations

import pytest
import torch

from benchbench.kernels._common import local_multiprocessors, norm_backward_plan
from benchbench.kernels.registry import get_op

# op, shape, dtype, forward bytes, backward bytes; each counted below tensor by tensor.
HAND_COUNTS = [
    # softmax M=3, N=7, fp16: fwd x + y = 2·21 elements; bwd y + dy + dx = 3·21
    ("softmax", {"M": 3, "N": 7}, torch.float16, 2 * 21 * 2, 3 * 21 * 2),
    # layernorm M=3, N=7, bf16: fwd x + y (21 each) + w + b (7 each) = 56; bwd x + dy + dx (21 each) + w + dw + db
    # (7 each) = 84, plus mean and rstd (3 floats each), plus the fp32 partial rows of dw and db, each written
    # and read back: one program (3 rows fit one block), so 2 × 2 × 7 floats
    ("layernorm", {"M": 3, "N": 7}, torch.bfloat16, 56 * 2, 84 * 2 + 6 * 4 + 28 * 4),
    # rmsnorm M=3, N=7, fp32: fwd x + y + w = 49; bwd x + dy + dx + w + dw = 77, plus rstd (3 floats), plus dw's
    # partial row written and read back (2 × 7 floats)
    ("rmsnorm", {"M": 3, "N": 7}, torch.float32, 49 * 4, 77 * 4 + 3 * 4 + 14 * 4),
    # gelu M=3, N=7, fp16: fwd x + y + bias = 49; bwd x + dy + dx + bias + dbias = 77
    ("gelu", {"M": 3, "N": 7}, torch.float16, 49 * 2, 77 * 2),
    # swiglu M=3, N=7, fp16: fwd a + b + y = 63; bwd a + b + dy + da + db = 105
    ("swiglu", {"M": 3, "N": 7}, torch.float16, 63 * 2, 105 * 2),
    # attention B=2, H=4, Hkv=2, T=5, D=8, fp16: q, o are 320 elements, k, v 160 each; per-row vectors 40.
    # fwd q + k + v + o = 960 elements. bwd, kernel by kernel: delta reads o, dO (640), writes delta (40 fp32) and
    # zeroes the fp32 dQ accumulator (320 fp32); the main kernel reads q, dO (640), k, v (320), LSE and delta
    # (80 fp32), reads and writes the accumulator (640 fp32), writes dk, dv (320); the cast reads the accumulator
    # (320 fp32) and writes dq (320): 1600 + 640 = 2240 16-bit elements and 1280 + 120 = 1400 floats
    ("attention", {"B": 2, "H": 4, "Hkv": 2, "T": 5, "D": 8}, torch.float16, 960 * 2, 2240 * 2 + 1400 * 4),
    # the same in fp32: no cast, the accumulator is dq: 1280 + 640 = 1920 elements, 960 + 120 = 1080 more floats
    ("attention", {"B": 2, "H": 4, "Hkv": 2, "T": 5, "D": 8}, torch.float32, 960 * 4, (1920 + 1080) * 4),
    # selective_scan B=2, D=3, L=5, N=4, fp16: u, delta, z, y are 30 elements, B, C 40 each; A 12, D and delta_bias
    # 3 each in fp32 (18 floats). fwd u + delta + z + y + B + C = 200 (16-bit) + 18 fp32;
    # bwd u + delta + z + dy + du + ddelta + dz (7 × 30) + B + C + dB + dC (4 × 40) = 370 (16-bit) + 36 fp32
    ("selective_scan", {"B": 2, "D": 3, "L": 5, "N": 4}, torch.float16, 200 * 2 + 18 * 4, 370 * 2 + 36 * 4),
]


@pytest.mark.parametrize("op, shape, dtype, fwd, bwd", HAND_COUNTS, ids=[c[0] for c in HAND_COUNTS])
def test_bytes_moved_match_a_hand_count(op, shape, dtype, fwd, bwd):
    spec = get_op(op)
    assert spec.bytes_moved(shape, dtype) == fwd
    assert spec.backward_bytes_moved(shape, dtype) == bwd


@pytest.mark.parametrize("op", ["softmax", "layernorm", "rmsnorm", "gelu", "swiglu"])
def test_forward_bytes_are_the_inputs_and_the_output(op):
    """The forward count equals the bytes of the tensors of a real call: its inputs and its output."""
    spec = get_op(op)
    shape = {"M": 5, "N": 11}
    args, _ = spec.make_inputs(shape, torch.float16, "cpu")
    inputs = sum(a.numel() * a.element_size() for a in args if isinstance(a, torch.Tensor))
    output = 5 * 11 * 2
    assert spec.bytes_moved(shape, torch.float16) == inputs + output


# the norms' backward extras: fp32 statistics read per row, and the gradients with fp32 partial rows
NORM_EXTRAS = {"layernorm": (8, 2), "rmsnorm": (4, 1)}


def norm_extra_bytes(op: str, m: int, n: int, sms: int) -> int:
    per_row, gradients = NORM_EXTRAS[op]
    return per_row * m + norm_backward_plan(m, n, sms).partial_bytes(n, gradients)


@pytest.mark.parametrize("op", ["softmax", "layernorm", "rmsnorm", "gelu"])
def test_row_op_backward_moves_three_not_four_rows(op):
    """Rows: 3 in the backward to the forward's 2 (the norms' statistics and partial rows aside)."""
    spec = get_op(op)
    shape = {"M": 4096, "N": 8192}
    extra = norm_extra_bytes(op, 4096, 8192, local_multiprocessors()) if op in NORM_EXTRAS else 0
    ratio = (spec.backward_bytes_moved(shape, torch.bfloat16) - extra) / spec.bytes_moved(
        shape, torch.bfloat16
    )
    assert ratio == pytest.approx(1.5, rel=1e-3)


@pytest.mark.parametrize("op", sorted(NORM_EXTRAS))
def test_norm_backward_partial_rows_stay_small(op):
    """On an H200 (132 SMs) at M = 32768, N = 4096, bf16, the norm backward's statistics and partial rows add
    under 3% to the rows it must move (x and dy read, dx written), and are in the bytes figure on this machine."""
    m, n = 32768, 4096
    rows = 3 * m * n * 2
    assert norm_extra_bytes(op, m, n, sms=132) / rows < 0.03
    counted = get_op(op).backward_bytes_moved({"M": m, "N": n}, torch.bfloat16)
    assert counted - rows - norm_extra_bytes(op, m, n, local_multiprocessors()) == pytest.approx(
        2 * n * (NORM_EXTRAS[op][1] + 1)  # w read, and each gradient written, in bf16
    )


def test_every_op_has_both_directions():
    """Every op counts its forward bytes, and its backward's where any implementation has a backward (decode
    attention is inference-only: no implementation differentiates it)."""
    from benchbench.kernels.registry import list_kernels, list_ops

    for op in list_ops():
        spec = get_op(op)
        assert spec.bytes_moved is not None, op
        if any(k.backward for k in list_kernels(op)):
            assert spec.backward_bytes_moved is not None, op
    assert not any(k.backward for k in list_kernels("decode_attention"))
