"""The services that sell the model, one module each, and the registry that names them.

Adding a gateway: write ``<name>.py`` with a :class:`~omni_widgets.core.gateway.Gateway` (paths,
body and task mapping, id pattern, error table, limits, pricing, defaults, polling advice), add it
to ``register(...)`` below, and give the sandbox a dialect for it (see ARCHITECTURE.md).
"""

from __future__ import annotations

from ..core.gateway import GATEWAYS, Defaults, ErrorRule, Gateway, Limits, get_gateway, register
from .evolink import EVOLINK
from .toapis import TOAPIS

register(EVOLINK, TOAPIS)

__all__ = [
    "EVOLINK",
    "GATEWAYS",
    "TOAPIS",
    "Defaults",
    "ErrorRule",
    "Gateway",
    "Limits",
    "get_gateway",
]
