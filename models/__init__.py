"""The baseline zoo: one module per architecture family, filed in a registry."""

from benchbench.models.registry import (
    MODALITIES,
    ModelSpec,
    Reference,
    get_model_spec,
    list_models,
    register_model,
)

__all__ = ["MODALITIES", "ModelSpec", "Reference", "get_model_spec", "list_models", "register_model"]
