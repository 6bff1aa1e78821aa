"""A local emulator of EvoLink's Gemini Omni Flash API: real MP4s, scripted failures, faults.

    from omni_widgets.sandbox import Sandbox
    with Sandbox(speed=float("inf")) as sb:
        ...  # point a client at sb.base_url with sb.api_key

Run it standalone with `python -m omni_widgets.sandbox --help`.
"""

from ._auth import DEMO_KEY, SPECIAL_KEYS
from ._faults import Fault, Faults
from ._log import CallbackAttempt, RequestRecord
from ._server import Sandbox

__all__ = [
    "DEMO_KEY",
    "SPECIAL_KEYS",
    "CallbackAttempt",
    "Fault",
    "Faults",
    "RequestRecord",
    "Sandbox",
]
