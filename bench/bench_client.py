"""How much the client adds on top of plain httpx, measured against a baseline in the same process.

Run: ``.venv/bin/python bench/bench_client.py``. Prints ratios (client time / baseline time), which
stay meaningful on a noisy machine where absolute times do not.
"""

from __future__ import annotations

import base64
import statistics
import time
from collections.abc import Callable

import httpx

from omni_widgets import ImageToVideo, OmniClient, TextToVideo
from omni_widgets.sandbox import Sandbox

ROUNDS = 7


def best_of(func: Callable[[], object], repeat: int) -> float:
    """Median over rounds of the time for `repeat` calls (median resists the machine's noise)."""
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for _ in range(repeat):
            func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def image_bytes(megabytes: float) -> bytes:
    from io import BytesIO

    import numpy as np
    from PIL import Image

    side = int((megabytes * 1e6 / 3) ** 0.5)
    noise = np.random.default_rng(0).integers(0, 255, (side, side, 3), dtype=np.uint8)
    buffer = BytesIO()
    Image.fromarray(noise).save(buffer, format="PNG", compress_level=0)
    return buffer.getvalue()


def main() -> None:
    with Sandbox(speed=1e6, seed=0) as sb:
        headers = {"Authorization": f"Bearer {sb.api_key}"}
        with OmniClient(sb.api_key, sb.base_url) as client, httpx.Client() as raw:
            task = client.submit(TextToVideo("benchmark"))
            url = f"{sb.base_url}/v1/tasks/{task.id}"
            client.get(task.id)
            raw.get(url, headers=headers)
            baseline = best_of(lambda: raw.get(url, headers=headers).json(), 200)
            ours = best_of(lambda: client.get(task.id), 200)
            print(
                f"get(): client {ours / 200 * 1e3:.2f} ms vs httpx {baseline / 200 * 1e3:.2f} ms "
                f"per call; ratio {ours / baseline:.2f}"
            )

    data = image_bytes(5)
    baseline = best_of(lambda: base64.b64encode(data), 5)
    ours = best_of(lambda: ImageToVideo("x", data).to_payload(), 5)
    print(
        f"ImageToVideo with a {len(data) / 1e6:.1f} MB png: {ours / 5 * 1e3:.1f} ms vs "
        f"base64 alone {baseline / 5 * 1e3:.1f} ms; ratio {ours / baseline:.2f}"
    )


if __name__ == "__main__":
    main()
