"""Screenshots of the error-versus-h report in headless Chromium, to look at.

    python3 benchmarks/screenshot_report.py                  # reports/latest, into /tmp/shots
    python3 benchmarks/screenshot_report.py --make           # the shipped suite's report first
    python3 benchmarks/screenshot_report.py --report-dir DIR --out DIR

Writes top.png (1200x3000, the first screen and a half: contents, summary, overall box), narrow.png
(700 px wide: tables must scroll sideways, not squeeze their numbers), and page-NN.png, the
whole page cut into 2000-pixel slices from one tall screenshot. Needs Debian's ``chromium``
(``apt-get install chromium``); prints the files written and the time each screenshot took.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def browser() -> str | None:
    """The first headless-capable Chromium on PATH, or None."""
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


def screenshot(page: Path, png: Path, width: int, height: int) -> float:
    """Screenshot a local page at a window size.

    Args:
      page: the HTML file.
      png: where to write the PNG.
      width: window width in pixels.
      height: window height in pixels (what is below it is not captured).

    Returns:
      The seconds Chromium took.
    """
    binary = browser()
    if binary is None:
        raise SystemExit("no chromium on PATH: apt-get install -y chromium")
    started = time.perf_counter()
    subprocess.run(
        [
            binary,
            "--headless",
            "--no-sandbox",  # root in a container has no user namespace for the sandbox
            "--disable-gpu",
            "--hide-scrollbars",
            f"--window-size={width},{height}",
            f"--screenshot={png}",
            page.resolve().as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return time.perf_counter() - started


def _make_report(report_dir: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "harness.cli", "report", "--report-dir", str(report_dir)],
        check=True,
        cwd=ROOT,
    )


def main(argv: list[str] | None = None) -> int:
    """Write the screenshots; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report-dir", type=Path, default=ROOT / "reports" / "latest")
    parser.add_argument("--out", type=Path, default=Path("/tmp/shots"))
    parser.add_argument("--make", action="store_true", help="write the report first")
    parser.add_argument("--page-height", type=int, default=40000)
    args = parser.parse_args(argv)
    if args.make:
        _make_report(args.report_dir)
    page = args.report_dir / "report.html"
    if not page.exists():
        raise SystemExit(f"{page} does not exist: run `gradcheck report` or pass --make")
    args.out.mkdir(parents=True, exist_ok=True)
    for name, width, height in (("top", 1200, 3000), ("narrow", 700, 2000)):
        seconds = screenshot(page, args.out / f"{name}.png", width, height)
        print(f"{args.out / f'{name}.png'}: {width}x{height}, {seconds:.1f} s")
    tall = args.out / "tall.png"
    seconds = screenshot(page, tall, 1200, args.page_height)
    from PIL import Image  # matplotlib's own dependency

    with Image.open(tall) as image:
        bottom = _content_bottom(image.convert("L"))  # below it the window is blank
        for index, top in enumerate(range(0, bottom, 2000)):
            piece = args.out / f"page-{index:02d}.png"
            image.crop((0, top, image.width, min(top + 2000, bottom))).save(piece)
            print(piece)
    tall.unlink()
    print(f"whole page: {bottom} px tall, screenshot {seconds:.1f} s")
    return 0


def _content_bottom(grey) -> int:
    """The last pixel row that is not all white."""
    inverted = grey.point(lambda v: 255 - v)
    box = inverted.getbbox()
    return box[3] if box else grey.height


if __name__ == "__main__":
    raise SystemExit(main())
