"""The snapshot SVGs render as images (rsvg-convert, from librsvg2-bin, installed by .ci/install-deps): what a
reviewer looks at is a valid picture, not only a text diff."""

import pathlib
import shutil
import subprocess

import pytest

SNAPSHOTS = sorted((pathlib.Path(__file__).parent / "__snapshots__" / "test_log_snapshots").glob("*.svg"))


def test_there_are_log_view_snapshots() -> None:
    assert len(SNAPSHOTS) >= 5


@pytest.mark.parametrize("svg", SNAPSHOTS, ids=[path.stem for path in SNAPSHOTS])
def test_each_snapshot_renders_to_png(svg: pathlib.Path, tmp_path: pathlib.Path) -> None:
    converter = shutil.which("rsvg-convert")
    assert converter, "rsvg-convert is missing: run .ci/install-deps (Debian package librsvg2-bin)"
    png = tmp_path / f"{svg.stem}.png"
    subprocess.run([converter, str(svg), "-o", str(png)], check=True, capture_output=True, timeout=60)
    header = png.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(header[16:20], "big")
    assert width > 800  # a 70- or 120-column terminal, not an empty picture
