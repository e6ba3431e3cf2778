"""A local, faithful emulator of the Auth0 Authentication and Management APIs, for tests and demos.

Standard library only, and independent of the rest of the package (the pipeline never imports it).

    tenant = SandboxTenant.generate(users=3000, seed=7)
    with SandboxServer(tenant) as server:
        ...  # AUTH0_DOMAIN=server.base_url, client sandbox-client / sandbox-secret
"""

from .faults import Faults
from .ratelimit import RateLimit
from .server import RequestRecord, SandboxServer
from .tenant import SandboxTenant

__all__ = ["Faults", "RateLimit", "RequestRecord", "SandboxServer", "SandboxTenant"]
