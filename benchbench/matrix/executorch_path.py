"""ExecuTorch (optional extra): the non-strict torch.export lowered to XNNPACK, run by ExecuTorch's runtime.

Skipped with the reason where the `executorch` package is not installed; a lowering failure is not-ready with
its blocking op. The artifact is the .pte program's bytes.
"""

from __future__ import annotations

import time

import torch

from benchbench.core.errors import chain_text, one_line
from benchbench.matrix.blockers import blockers_from_text
from benchbench.matrix.runtimes import BuildContext, NotReady, Variant, as_float32, quiet, require, runtime
from benchbench.matrix.torch_paths import export_program


@runtime("executorch", ("fp32",), description="ExecuTorch, the export lowered to the XNNPACK delegate")
def executorch_runtime(ctx: BuildContext, precision: str) -> Variant:
    """The non-strict export lowered with XnnpackPartitioner, loaded from its .pte buffer."""
    require("executorch", "ExecuTorch", "executorch")
    program = export_program(ctx, strict=False)
    start = time.perf_counter()
    try:
        with quiet():
            from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
            from executorch.exir import to_edge_transform_and_lower
            from executorch.runtime import Runtime

            buffer = (
                to_edge_transform_and_lower(program, partitioner=[XnnpackPartitioner()])
                .to_executorch()
                .buffer
            )
            method = Runtime.get().load_program(buffer).load_method("forward")
    except Exception as exc:
        raise NotReady(
            f"ExecuTorch lowering failed: {one_line(exc)}", blockers_from_text(chain_text(exc))
        ) from exc
    build_s = time.perf_counter() - start
    tensors = [i for i, x in enumerate(ctx.inputs) if isinstance(x, torch.Tensor)]

    def call(inputs: tuple) -> list[torch.Tensor]:
        return as_float32(list(method.execute([inputs[i] for i in tensors])))

    return Variant(call, build_s, len(buffer), notes=["XNNPACK delegate"])
