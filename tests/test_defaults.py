"""One set of defaults: the client's requests, the panel and the magics start from the same."""

from __future__ import annotations

import inspect

from omni_widgets import ImageToVideo, ReferenceToVideo, TextToVideo
from omni_widgets.core.defaults import ASPECT_RATIOS, DEFAULT_ASPECT_RATIO, DEFAULT_DURATION
from omni_widgets.magics.magics import OmniMagics
from omni_widgets.notebook.connection import Connection
from omni_widgets.notebook.panel import Panel


def test_the_defaults_are_a_cheap_first_try_the_service_allows() -> None:
    assert (DEFAULT_DURATION, DEFAULT_ASPECT_RATIO) == (5, "16:9")
    assert DEFAULT_ASPECT_RATIO in ASPECT_RATIOS


def test_requests_panel_and_magics_agree() -> None:
    for cls in (TextToVideo, ImageToVideo, ReferenceToVideo):
        parameters = inspect.signature(cls).parameters
        assert parameters["duration"].default == DEFAULT_DURATION
        assert parameters["aspect_ratio"].default == DEFAULT_ASPECT_RATIO
    assert TextToVideo("x").to_payload()["duration"] == DEFAULT_DURATION

    magics = OmniMagics()
    assert (magics.duration, magics.aspect_ratio) == (DEFAULT_DURATION, DEFAULT_ASPECT_RATIO)

    # Nothing is sent: the panel only builds the request from its fields.
    panel = Panel(connection=Connection("key", "http://127.0.0.1:9", True, "sandbox"))
    assert (panel.duration.value, panel.aspect_ratio.value) == (5, "16:9")
    panel.prompt.value = "x"
    assert panel.build_request() == TextToVideo("x")
