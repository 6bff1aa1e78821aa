"""The one set of defaults that the client, the panel and the magics share.

Five seconds is half the vendor's default of 10 (and about half the cost), enough to judge a
prompt; ask for more once a first try looks right. Prompts longer than ``PROMPT_WARN_CHARS`` get
a warning because the service lists "prompt is too long" among its failures without documenting
a limit; ``MAX_PROMPT_CHARS`` refuses what is almost surely a paste gone wrong (a whole file)
before it is sent.
"""

from __future__ import annotations

from typing import Final, Literal

DEFAULT_DURATION: Final = 5
DEFAULT_ASPECT_RATIO: Final = "16:9"
ASPECT_RATIOS: Final = ("16:9", "9:16", "auto")
MIN_DURATION: Final = 3
MAX_DURATION: Final = 10
PROMPT_WARN_CHARS: Final = 2_000
MAX_PROMPT_CHARS: Final = 10_000

Duration = int | Literal["auto"]
