"""Triton selective scan (forward only) vs the sequential reference (interpreter on CPU)."""

import pytest
import torch

from benchbench.kernels.registry import get_kernel
from benchbench.kernels.selective_scan import selective_scan_ref, selective_scan_triton

pytestmark = pytest.mark.interpreter
TOL = {torch.float32: 1e-4, torch.float16: 1e-2}


def _inputs(b, d, length, n, dtype, g):
    u = torch.randn(b, d, length, generator=g).to(dtype)
    delta = (0.5 * torch.rand(b, d, length, generator=g)).to(dtype)  # Δ > 0 as after softplus
    A = -torch.rand(d, n, generator=g) - 0.5
    B = torch.randn(b, n, length, generator=g).to(dtype)
    C = torch.randn(b, n, length, generator=g).to(dtype)
    return u, delta, A, B, C


@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (2, 3, 17, 5), (1, 2, 130, 16)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
@pytest.mark.parametrize("full", [False, True])
def test_selective_scan_matches_reference(shape, dtype, full):
    g = torch.Generator().manual_seed(5)
    args = _inputs(*shape, dtype, g)
    kw = {}
    if full:
        b, d, length, _ = shape
        kw = {"D": torch.randn(d, generator=g), "z": torch.randn(b, d, length, generator=g).to(dtype),
              "delta_bias": torch.randn(d, generator=g), "delta_softplus": True}  # fmt: skip
    y = selective_scan_triton(*args, **kw)
    yr = selective_scan_ref(
        *(t.float() for t in args), **{k: v.float() if torch.is_tensor(v) else v for k, v in kw.items()}
    )
    tol = TOL[dtype]
    scale = max(1.0, yr.abs().max().item())
    assert y.dtype == dtype
    torch.testing.assert_close(y.float(), yr, atol=tol * scale, rtol=tol)


def test_selective_scan_check_reports_unsupported_inputs():
    impl = get_kernel("selective_scan", "triton")
    g = torch.Generator().manual_seed(6)
    u, delta, A, B, C = _inputs(1, 2, 4, 3, torch.float32, g)
    assert impl.check(u, delta, A, B, C) is None
    assert "grouped" in impl.check(u, delta, A, B[:, None], C[:, None])
    assert "backward" in impl.check(u.requires_grad_(), delta, A, B, C)
    assert impl.backward is False
    with pytest.raises(ValueError, match="backward"):
        selective_scan_triton(u, delta, A, B, C)


@pytest.mark.gpu
def test_selective_scan_bf16_cuda():
    g = torch.Generator().manual_seed(7)
    args = [t.cuda() for t in _inputs(2, 8, 300, 16, torch.bfloat16, g)]
    y = selective_scan_triton(*args)
    yr = selective_scan_ref(*(t.float() for t in args))
    torch.testing.assert_close(y.float(), yr, atol=5e-2 * max(1.0, yr.abs().max().item()), rtol=5e-2)


@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (2, 3, 17, 5)])
@pytest.mark.parametrize("full", [False, True])
def test_torch_scan_matches_the_loop(shape, full):
    """The scan written for export (torch's scan higher-order op) computes the loop's recurrence, step for step."""
    from benchbench.kernels.selective_scan import selective_scan_torch_scan

    g = torch.Generator().manual_seed(8)
    args = _inputs(*shape, torch.float32, g)
    kw = {}
    if full:
        b, d, length, _ = shape
        kw = {"D": torch.randn(d, generator=g), "z": torch.randn(b, d, length, generator=g),
              "delta_bias": torch.randn(d, generator=g), "delta_softplus": True}  # fmt: skip
    torch.testing.assert_close(selective_scan_torch_scan(*args, **kw), selective_scan_ref(*args, **kw))


def test_export_traces_the_scan_and_eager_runs_the_loop():
    from benchbench.kernels.registry import active_kernel, dispatch

    assert active_kernel("selective_scan").name == "eager"
    seen = []

    class Probe(torch.nn.Module):
        def forward(self, u, delta, A, B, C):
            seen.append(active_kernel("selective_scan").name)
            return dispatch("selective_scan")(u, delta, A, B, C)

    args = _inputs(2, 3, 6, 4, torch.float32, torch.Generator().manual_seed(9))
    length = torch.export.Dim("length", min=2)
    shapes = ({0: None, 2: length}, {2: length}, None, {2: length}, {2: length})
    program = torch.export.export(Probe(), args, dynamic_shapes=shapes)
    assert seen == ["torch_scan"]
    assert any("scan" in str(n.target) for n in program.graph.nodes)
    longer = _inputs(2, 3, 11, 4, torch.float32, torch.Generator().manual_seed(10))
    torch.testing.assert_close(program.module()(*longer), selective_scan_ref(*longer))
