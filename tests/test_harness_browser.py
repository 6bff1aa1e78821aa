"""Smoke test of the browser harness: a notebook that shows an ipywidgets Label and an H.264+AAC
``ipywidgets.Video`` is run in JupyterLab in Debian's Chromium, and the video must really play."""

from __future__ import annotations

import re
import time

import pytest
from _lab import LabPage, LabServer, write_notebook

pytestmark = pytest.mark.browser

MAKE_MP4 = '''
import fractions, os, tempfile
import av
import numpy as np

def make_mp4(seconds=2.0, width=320, height=180, fps=25, rate=44100):
    """H.264 + AAC with +faststart, which needs a real file (not a BytesIO)."""
    fd, path = tempfile.mkstemp(suffix=".mp4")
    os.close(fd)
    try:
        with av.open(path, "w", options={"movflags": "+faststart"}) as out:
            video = out.add_stream("libx264", rate=fps)
            video.width, video.height, video.pix_fmt = width, height, "yuv420p"
            audio = out.add_stream("aac", rate=rate)
            audio.layout = "stereo"
            yy, xx = np.mgrid[0:height, 0:width]
            n_frames = int(seconds * fps)
            for i in range(n_frames):
                rgb = np.zeros((height, width, 3), np.uint8)
                rgb[..., 0] = xx * 255 // width
                rgb[..., 1] = yy * 255 // height
                bar = i * width // n_frames
                rgb[:, max(0, bar - 8) : bar + 8] = 255
                out.mux(video.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
            out.mux(video.encode())
            t = np.arange(int(seconds * rate)) / rate
            tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            for start in range(0, len(tone), 1024):
                chunk = tone[start : start + 1024]
                frame = av.AudioFrame.from_ndarray(np.stack([chunk, chunk]), format="fltp",
                                                   layout="stereo")
                frame.sample_rate, frame.pts = rate, start
                frame.time_base = fractions.Fraction(1, rate)
                out.mux(audio.encode(frame))
            out.mux(audio.encode())
        with open(path, "rb") as f:
            return f.read()
    finally:
        os.unlink(path)

data = make_mp4()
with av.open(__import__("io").BytesIO(data)) as probe:
    codecs = "+".join(s.codec_context.name for s in probe.streams)
'''

SHOW = """
import ipywidgets as W
label = W.Label(f"harness ok: {codecs}, {len(data)} bytes")
label.add_class("omni-harness-label")
video = W.Video(value=data, format="mp4", autoplay=True, loop=True, controls=True, width=320)
video.add_class("omni-harness-video")
W.VBox([label, video])
"""


def test_video_widget_plays_in_lab(lab_server: LabServer, lab_page: LabPage) -> None:
    write_notebook(lab_server.root_dir / "harness.ipynb", [MAKE_MP4, SHOW])
    t0 = time.monotonic()
    lab_page.open_notebook("harness.ipynb")
    lab_page.run_all_cells(timeout=120)

    label = lab_page.find(".omni-harness-label")
    assert re.fullmatch(r"harness ok: h264\+aac, \d+ bytes", label.inner_text().strip())

    state = lab_page.wait_for_video_ready("video.omni-harness-video")
    assert state.error is None, state
    assert state.can_play_h264_aac == "probably"
    assert state.ready_state >= 2
    assert (state.video_width, state.video_height) == (320, 180)
    assert state.duration == pytest.approx(2.0, abs=0.15)

    # Widget autoplay is unmuted, which Chromium may block without a user gesture: play muted.
    assert lab_page.play_video("video.omni-harness-video", muted=True) is None
    before = lab_page.video_state("video.omni-harness-video").current_time
    lab_page.page.wait_for_timeout(700)
    after = lab_page.video_state("video.omni-harness-video")
    advanced = (after.current_time - before) % after.duration  # it loops
    assert not after.paused and advanced > 0.2, (before, after)
    assert after.decoded_video_bytes > 0

    shot = lab_page.screenshot("harness", scroll_to="video.omni-harness-video")
    assert shot.stat().st_size > 10_000
    print(f"browser harness: notebook opened, run and played in {time.monotonic() - t0:.1f} s")
