"""The page in a real headless Chromium: hovering the map decodes live, views render, screenshots saved.

Set ZSPACE_SCREENSHOT_DIR to keep the screenshots (docs/figures/serve_*.png are made this way).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tests.serve.browser import browser_page, canvas_pixels, require_chromium, serving, wait_for_change

from zspace.serve import create_app
from zspace.serve.server import load_runs


@pytest.fixture(scope="module")
def page_url(request):
    """Runs 0 (VAE), 1 (MusicVAE), 2 (SeCTAR), 3 (SSVM on digits-shift) served on a loopback port.

    ZSPACE_SERVE_RUNS="VAE MUSIC SECTAR SSVM" (four run directories) serves those instead of the
    tiny runs: the same checks on real runs, and with ZSPACE_SCREENSHOT_DIR the README's figures.
    """
    require_chromium()
    given = os.environ.get("ZSPACE_SERVE_RUNS")
    if given:
        runs = [Path(p) for p in given.split()]
    else:
        ssvm_digits, _ = request.getfixturevalue("ssvm_runs")
        runs = [request.getfixturevalue(name) for name in ("vae_run", "music_run", "sectar_run")] + [ssvm_digits]
    with serving(create_app(load_runs(runs))) as url:
        yield url


def _screenshot_dir(tmp_path: Path) -> Path:
    return Path(os.environ.get("ZSPACE_SCREENSHOT_DIR", tmp_path))


def test_hovering_the_vae_map_changes_the_decoded_image(page_url, tmp_path):
    with browser_page() as page:
        page.goto(f"{page_url}/?run=0")
        page.wait_for_selector("#vae-map")
        page.wait_for_function("document.querySelectorAll('#vae-samples canvas').length == 16")
        box = page.locator("#vae-map").bounding_box()
        blank = canvas_pixels(page, "#vae-decoded")
        page.mouse.move(box["x"] + 0.2 * box["width"], box["y"] + 0.3 * box["height"])
        first = wait_for_change(page, "#vae-decoded", blank)
        page.mouse.move(box["x"] + 0.8 * box["width"], box["y"] + 0.75 * box["height"])
        second = wait_for_change(page, "#vae-decoded", first)
        assert sum(a != b for a, b in zip(first, second)) > 100  # a different image, not one stray pixel (bytes of RGBA)
        # A traversal slider decodes its code too.
        before = canvas_pixels(page, "#vae-decoded")
        page.locator("#vae-sliders input").first.fill("2.5")
        wait_for_change(page, "#vae-decoded", before)
        # Two clicks pick A and B; the interpolation draws a lerp and a slerp row.
        page.mouse.click(box["x"] + 0.3 * box["width"], box["y"] + 0.3 * box["height"])
        page.mouse.click(box["x"] + 0.7 * box["width"], box["y"] + 0.7 * box["height"])
        page.click("#vae-interpolate")
        page.wait_for_function("document.querySelectorAll('#vae-paths canvas').length == 16")
        path = page.screenshot(path=str(_screenshot_dir(tmp_path) / "serve_vae.png"), full_page=True)
        assert len(path) > 10_000
        assert page.errors == []


def test_music_view_plays_in_the_browser_and_interpolates(page_url, tmp_path):
    with browser_page() as page:
        page.goto(f"{page_url}/?run=1")
        page.wait_for_function("document.querySelectorAll('#music-samples .card').length == 4")
        from zspace.music import Note, NoteSequence, write_midi

        melody = write_midi(NoteSequence(notes=[Note(60 + 2 * i, 4 * i, 4 * i + 3) for i in range(8)]), tmp_path / "up.mid")
        page.set_input_files("#music-upload-a", str(melody))
        page.wait_for_function("document.querySelector('#music-chosen')?.textContent.startsWith('A: up.mid')")
        page.locator("#music-samples .play").first.click()
        page.wait_for_function("zs.audio && zs.audio.state === 'running'")
        page.click("#music-interpolate")
        page.wait_for_selector("#music-path canvas")
        first = canvas_pixels(page, "#music-path canvas")
        page.locator("#music-path-slider").fill("6")
        page.locator("#music-path-slider").dispatch_event("input")
        page.wait_for_function("document.querySelector('#music-path .hint')?.textContent.startsWith('step 7')")
        assert len(first) > 0
        slider = page.locator("#music-attributes input[data-attribute='note_density']")
        slider.fill("2")
        page.wait_for_function("document.querySelectorAll('#music-attributes .card').length == 1")
        with page.expect_download() as download:
            page.locator("#music-samples .card button", has_text="MIDI").first.click()
        assert Path(download.value.path()).read_bytes()[:4] == b"MThd"
        page.screenshot(path=str(_screenshot_dir(tmp_path) / "serve_music.png"), full_page=True)
        assert page.errors == []


def test_sectar_view_draws_predicted_and_executed_segments_and_replays(page_url, tmp_path):
    with browser_page() as page:
        page.goto(f"{page_url}/?run=2")
        page.wait_for_function("document.querySelector('#sectar-gap')?.textContent.includes('mean gap')")
        before = canvas_pixels(page, "#sectar-plane")
        slider = page.locator("#sectar-sliders input").first
        slider.fill("2.5")
        wait_for_change(page, "#sectar-plane", before)
        page.click("#sectar-record")
        page.wait_for_function("document.querySelector('#sectar-episode-text')?.textContent.startsWith('segment 1 of 20')")
        first = canvas_pixels(page, "#sectar-episode")
        page.locator("#sectar-step").fill("10")
        page.locator("#sectar-step").dispatch_event("input")
        wait_for_change(page, "#sectar-episode", first)
        page.screenshot(path=str(_screenshot_dir(tmp_path) / "serve_sectar.png"), full_page=True)
        assert page.errors == []


def test_ssvm_view_lists_predictions_and_alternatives(page_url, tmp_path):
    with browser_page() as page:
        page.goto(f"{page_url}/?run=3")
        page.wait_for_selector("#ssvm-alternatives")
        page.locator("#ssvm-examples tr[data-index='5']").click()
        page.wait_for_function("document.querySelector('#ssvm-detail p')?.textContent.startsWith('example 5')")
        assert page.locator("#ssvm-alternatives tr").count() == 6  # header + top 5
        assert page.locator("#ssvm-image").count() == 1
        page.screenshot(path=str(_screenshot_dir(tmp_path) / "serve_structured.png"), full_page=True)
        assert page.errors == []
