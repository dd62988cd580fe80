"""torchvision imports even when its C++ ops do not load (PyPI's torchvision 0.28 is a CUDA build beside CPU torch)."""

import pytest
import torch

from benchbench.core.env import capture_env
from benchbench.sources import torchvision_ops
from benchbench.sources.torchvision_ops import SCHEMAS, import_torchvision, ops_needing_schemas, ops_status

pytestmark = pytest.mark.skipif(not torchvision_ops.torchvision_installed(), reason="needs torchvision")


def test_torchvision_imports_and_the_op_status_is_recorded():
    tv = import_torchvision()
    assert tv.models.get_model("resnet18", weights=None) is not None
    status = ops_status()
    assert status == "loaded" or status.startswith("C++ ops not loaded")
    assert capture_env()["notes"]["torchvision_ops"] == status


def test_every_op_torchvision_registers_unconditionally_has_a_schema():
    """A torchvision that registers a fake kernel for a new op must get its schema here, or the import fails."""
    tv = import_torchvision()
    needed = ops_needing_schemas(torchvision_ops._package_dir())
    assert needed and "nms" in needed
    assert set(needed) <= set(SCHEMAS), (
        f"no schema for {set(needed) - set(SCHEMAS)} (torchvision {tv.__version__})"
    )


@pytest.mark.skipif(ops_status() == "loaded", reason="torchvision's C++ ops loaded here")
def test_without_the_extension_detection_ops_fail_loudly():
    import_torchvision()
    if ops_status() == "loaded":
        pytest.skip("torchvision's C++ ops loaded here")
    boxes, scores = torch.rand(3, 4), torch.rand(3)
    with pytest.raises(NotImplementedError, match="torchvision::nms"):
        torch.ops.torchvision.nms(boxes, scores, 0.5)
