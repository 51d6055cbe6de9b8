"""Agency sandbox: a local HTTP server simulating the five agency feeds of SOURCES.md."""

from .config import SandboxConfig
from .dataset import Dataset
from .server import SandboxServer, start_server

__all__ = ["SandboxConfig", "Dataset", "SandboxServer", "start_server"]
