"""Crucible's engine: the asyncio core that runs without any GUI."""

from importlib.metadata import PackageNotFoundError, version

from engine.config import CrucibleConfig, load_config
from engine.kernel import CrucibleEngine

try:
    __version__ = version("crucible")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+src"

__all__ = ["CrucibleConfig", "CrucibleEngine", "__version__", "load_config"]
