"""The built wheel works on its own: ``./dev dist``, install into a clean venv, make a video.

Speed: a full ``pip install "omni_widgets-*.whl[sandbox]"`` resolves and installs about 40
packages (tens of seconds even from pip's cache). The dependencies are not what is under test,
the wheel's own contents are, so the wheel goes in with ``--no-deps`` and the new venv sees this
venv's site-packages through a ``.pth`` line for its dependencies. That directory is added as a
plain path, so its own ``.pth`` files (the editable install of this checkout among them) are not
processed: ``import omni_widgets`` can only find the wheel's copy, which the test checks.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from omni_widgets import __version__

pytestmark = pytest.mark.slow  # builds a wheel and a virtualenv: over half the quick loop's time

REPO = Path(__file__).resolve().parents[1]
WHEEL = REPO / "dist" / f"omni_widgets-{__version__}-py3-none-any.whl"
SDIST = REPO / "dist" / f"omni_widgets-{__version__}.tar.gz"

SMOKE = """
import pathlib, omni_widgets
from omni_widgets import OmniClient, TextToVideo
from omni_widgets.sandbox import Sandbox

package = pathlib.Path(omni_widgets.__file__).parent
print(package)
assert (package / "py.typed").is_file()
with Sandbox(speed=float("inf")) as sb, OmniClient(sb.api_key, sb.base_url) as client:
    result = client.generate(TextToVideo("a wheel rolling downhill", duration=3))
print(result.path.stat().st_size)
"""


def test_dev_dist_builds_a_wheel_that_installs_into_a_clean_venv_and_makes_a_video(
    tmp_path: Path,
) -> None:
    built = subprocess.run(["./dev", "dist"], cwd=REPO, capture_output=True, text=True)
    assert built.returncode == 0, built.stdout + built.stderr
    assert WHEEL.is_file() and SDIST.is_file()
    names = zipfile.ZipFile(WHEEL).namelist()
    assert "omni_widgets/py.typed" in names
    assert "omni_widgets/notebook/static/gallery.js" in names  # the gallery's front end
    assert f"omni_widgets-{__version__}.dist-info/licenses/LICENSE" in names
    assert "omni_widgets/sandbox/_render.py" in names

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q",
         "--no-index", str(WHEEL)],
        check=True,
    )  # fmt: skip
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    (Path(site) / "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    assert (venv / "bin" / "omni-sandbox").is_file()  # the console script came with the wheel

    work = tmp_path / "work"
    work.mkdir()
    smoke = subprocess.run(
        [str(python), "-c", SMOKE], cwd=work, capture_output=True, text=True, timeout=120
    )
    assert smoke.returncode == 0, smoke.stderr
    package, size = smoke.stdout.split()
    assert Path(package).is_relative_to(venv)  # the wheel's copy, not this checkout
    assert int(size) > 1000
    assert len(list((work / "omni_outputs").glob("*.mp4"))) == 1
