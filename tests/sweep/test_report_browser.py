"""The report in a real browser (headless Chromium): the page parses with every contents link
landing on an element, and it renders to a screenshot that is not blank.

Skipped, saying so, where no Chromium is installed (``apt-get install chromium``); the same
structure is asserted without a browser in test_report.py. To look at the shipped suite's
report: ``python3 benchmarks/screenshot_report.py --make``.
"""

import re
import shutil
import subprocess

import numpy as np
import pytest

from harness import case, oracle, scratch
from harness.sweep.report import write_report

BROWSER = next(
    (p for name in ("chromium", "chromium-browser", "google-chrome") if (p := shutil.which(name))),
    None,
)
pytestmark = pytest.mark.skipif(
    BROWSER is None, reason="no Chromium on PATH (apt-get install chromium): browser checks skipped"
)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    folder = tmp_path_factory.mktemp("browser")
    cases = [
        case(
            "cee/label=2",
            fn=scratch.cross_entropy_error,
            reference=oracle.cross_entropy_error,
            args=(np.array([0.1, 0.3, 0.6]), np.array(2)),
            wrt=0,
        )
    ]
    write_report(cases, folder, ["test"])
    return folder / "report.html"


def _chromium(*args, timeout=120):
    return subprocess.run(
        [BROWSER, *FLAGS, *args], capture_output=True, text=True, check=True, timeout=timeout
    )


def test_every_contents_link_lands_on_an_element_of_the_parsed_page(page):
    dom = _chromium("--dump-dom", page.as_uri()).stdout  # the DOM after Chromium parsed it
    ids = set(re.findall(r'\bid="([^"]+)"', dom))
    links = re.findall(r'<a href="#([^"]+)"', dom)
    assert links and set(links) <= ids
    assert dom.count("<figcaption>") == dom.count("<figure>") == 2  # summary and the case
    assert dom.count('<img alt="') == 2 and "data:image/png;base64," in dom


def test_the_page_renders_to_a_screenshot_that_is_not_blank(page, tmp_path):
    from PIL import Image

    png = tmp_path / "top.png"
    _chromium("--window-size=1200,3000", f"--screenshot={png}", page.as_uri())
    with Image.open(png) as image:
        assert image.size == (1200, 3000)
        grey = np.asarray(image.convert("L"), dtype=float)
    # text and plots: a white page would have one value; this one has dark ink in its top half
    top = grey[:1500]
    assert (top < 100).mean() > 0.005 and top.std() > 20
