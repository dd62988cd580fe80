"""benchbench: what a neural network costs and whether it is ready to deploy."""

from benchbench.core.errors import BadInputError, CheckFailedError

__version__ = "0.1.0"

__all__ = ["BadInputError", "CheckFailedError", "__version__"]
