"""The one registry idiom (`benchbench.core.registry.Registry`): a decorator filling a named, ordered table, a
name registered twice refused, a miss answered with one line listing the known and the close names."""

import pytest

from benchbench.core.errors import BadInputError
from benchbench.core.registry import Registry


def test_register_get_names_and_list():
    r: Registry[int] = Registry("widget")
    r.register("alpha")(1)
    r.add("beta", 2)
    assert r.get("alpha") == 1 and r["beta"] == 2 and "alpha" in r and len(r) == 2
    assert r.names() == ["alpha", "beta"] and r.list("b*") == ["beta"]
    with pytest.raises(ValueError, match="widget 'alpha' is registered twice"):
        r.add("alpha", 3)
    assert r.get("alpha") == 1  # the first registration stands
    with pytest.raises(
        BadInputError, match=r"unknown widget: 'alpah'; allowed: alpha, beta\. Did you mean 'alpha'"
    ):
        r.get("alpah")
    r.remove("alpha")
    assert r.names() == ["beta"]


def test_every_registry_of_benchbench_is_one():
    import benchbench.sources.target
    import benchbench.stages  # noqa: F401  (registers the built-in stages)
    from benchbench.cli import COMMANDS, build_parser
    from benchbench.core.stage import STAGES
    from benchbench.runs.executors import EXECUTORS
    from benchbench.serve.backends import BACKENDS
    from benchbench.sources.registry import SOURCES

    build_parser()
    for registry, names in ((STAGES, {"export", "health", "swap", "serving"}), (EXECUTORS, {"local", "ray"}),
                            (BACKENDS, {"eager", "ort", "compile"}), (SOURCES, {"torchvision", "timm", "hf"}),
                            (COMMANDS, {"run", "gate", "list", "gpu-check"})):  # fmt: skip
        assert isinstance(registry, Registry) and names <= set(registry.names()), registry.kind
    with pytest.raises(BadInputError, match="unknown executor: 'rey'; allowed: local, ray"):
        EXECUTORS.get("rey")
