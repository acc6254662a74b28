"""A faithful local Dotdigital API server."""

from sandbox.dotdigital.config import SandboxConfig
from sandbox.dotdigital.server import build_app, run, sandbox_state, serve

__all__ = ["SandboxConfig", "build_app", "run", "sandbox_state", "serve"]
