"""The play page's speaker in real headless Chromium (speaker.js, speaker-worklet.js, sound-panel.js):
the AudioWorklet plays exactly the samples the mixer hashed, the page asks for a gesture when the
autoplay policy wants one, mute silences the output (not the mix), and a hidden tab's mix is
dropped instead of played as a burst when it shows again. Pages on the test's static server are not
cross-origin isolated (chunks are posted to the worklet); `layerw serve`'s are (a shared ring)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from layerw import abi
from tests.runtime.sound.game import build_game
from tests.web.conftest import PlayPage, StaticServer

# what the page keeps, as base64: every frame the speaker took from the game, and what the worklet played
TAPS = """async () => {
    const speaker = window.layerw.sound.speaker;
    const played = await speaker.tap();
    const b64 = (a) => { const u = new Uint8Array(a.buffer, a.byteOffset, a.byteLength); let s = "";
                         for (let i = 0; i < u.length; i += 0x8000) s += String.fromCharCode(...u.subarray(i, i + 0x8000));
                         return btoa(s); };
    return {played: b64(played), kept: b64(speaker.kept()), stats: speaker.stats,
            hash: await window.layerw.audioHash()}; // a Promise in a game worker (?worker=1)
}"""


@pytest.fixture(scope="module")
def sound_src(server: StaticServer, tmp_path_factory: pytest.TempPathFactory) -> str:
    return server.add_game(build_game(tmp_path_factory.mktemp("speaker")), "speaker")


def stats(page: PlayPage) -> dict[str, Any]:
    return dict(page.page.evaluate("window.layerw.sound.speaker.stats"))


def playing(page: PlayPage) -> None:
    """Wait until the worklet plays (after a click: headless Chromium under load sometimes holds an
    AudioContext back until a gesture, as desktop browsers do)."""
    page.wait_running()
    page.page.click("#game")
    try:
        page.page.wait_for_function("window.layerw.sound.speaker.stats.consumed > 0")
    except Exception as e:
        raise AssertionError(f"the speaker never played: {stats(page)}; console: {page.console[-10:]}") from e


def frames(b64: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(b64), "<i2").reshape(-1, abi.CHANNELS)


def held_blip_taps(page: PlayPage) -> Any:
    """Hold Space (a blip keeps playing) until the page's run stops, wait until its speaker has played
    all it was given, and return the taps (TAPS)."""
    page.wait_running()
    page.page.focus("#game")
    page.page.keyboard.down("Space")
    page.wait_stopped()
    page.page.keyboard.up("Space")
    page.page.wait_for_function("(s => s.consumed === s.written)(window.layerw.sound.speaker.stats)")
    return page.page.evaluate(TAPS)


def test_worklet_plays_the_hashed_mix(sound_src: str, play_page: Callable[..., PlayPage]) -> None:
    # latency 2000: the most backlog a page allows (a loaded machine may starve the worklet for a second)
    taps = held_blip_taps(play_page().open(sound_src, ticks=150, renderer="webgl2", audiotap=True, latency=2000))
    s = taps["stats"]
    assert s["mode"] == "messages" and s["state"] == "running" and s["dropped"] == 0
    played_equals_mix(taps, 150 * abi.SAMPLE_RATE // 60)
    assert np.any(frames(taps["played"])), "the blip was played"
    print(f"speaker: {s['written']} frames played from frame {s['firstPosition']}, {s['waited']} before it ran, "
          f"{s['underruns']} underrun frames, latency now {s['latencyMs']:.1f} ms")


def test_gesture_starts_the_sound(sound_src: str, play_page: Callable[..., PlayPage]) -> None:
    """Headless Chromium lets every page play; a context the policy holds back is a suspended one."""
    page = play_page().open(sound_src, renderer="webgl2")
    playing(page)
    assert not page.page.is_visible("#sound-gesture")
    page.page.evaluate("window.layerw.sound.speaker.context.suspend()")
    page.page.wait_for_selector("#sound-gesture", state="visible")
    assert page.page.inner_text("#sound-gesture") == "click or tap for sound"
    written = stats(page)["written"]
    page.page.wait_for_timeout(200)
    assert stats(page)["written"] == written, "a suspended context was fed"
    page.page.click("#game")
    page.page.wait_for_selector("#sound-gesture", state="hidden")
    page.page.wait_for_function(f"window.layerw.sound.speaker.stats.written > {written}")
    assert stats(page)["state"] == "running"


def played_equals_mix(taps: dict[str, Any], mixed: int) -> None:
    """Every frame the game mixed reached the speaker (their hash is the audio hash) and the worklet
    played them in order from firstPosition, none dropped."""
    s = taps["stats"]
    kept, played = frames(taps["kept"]), frames(taps["played"])
    assert len(kept) == s["taken"] == mixed == s["waited"] + s["written"]
    assert hashlib.sha256(kept.tobytes()).hexdigest() == taps["hash"]
    assert len(played) == s["written"] > abi.SAMPLE_RATE // 2
    assert np.array_equal(played, kept[s["firstPosition"]:s["firstPosition"] + len(played)])


def test_mute_silences_the_output_not_the_mix(sound_src: str, play_page: Callable[..., PlayPage]) -> None:
    page = play_page().open(sound_src, renderer="webgl2")
    playing(page)
    page.page.focus("#game")
    page.page.keyboard.down("Space")
    page.page.wait_for_function("window.layerw.sound.speaker.stats.outAudible > 4800")
    page.page.click("#sound-mute")
    page.page.focus("#game")
    # the volume message landed and one quantum ramped down: a report with audible input and no audible output
    page.page.wait_for_function("""() => { const s = window.layerw.sound.speaker.stats, p = window.lastStats;
        window.lastStats = s; return p !== undefined && s.inAudible > p.inAudible && s.outAudible === p.outAudible; }""")
    before = stats(page)
    page.page.wait_for_function(f"window.layerw.sound.speaker.stats.inAudible > {before['inAudible'] + 4800}")  # the mix went on
    muted = stats(page)
    assert muted["muted"] and page.page.inner_text("#sound-mute") == "unmute"
    assert muted["outAudible"] == before["outAudible"], "muted output was audible"
    page.page.click("#sound-mute")
    page.page.focus("#game")
    page.page.wait_for_function(f"window.layerw.sound.speaker.stats.outAudible > {muted['outAudible']}")  # heard again
    page.page.keyboard.up("Space")


def test_hidden_tab_drops_its_backlog(sound_src: str, play_page: Callable[..., PlayPage]) -> None:
    page = play_page().open(sound_src, renderer="webgl2")
    playing(page)
    hide = """hidden => {
        Object.defineProperty(document, "hidden", {configurable: true, get: () => hidden});
        Object.defineProperty(document, "visibilityState", {configurable: true, get: () => hidden ? "hidden" : "visible"});
        document.dispatchEvent(new Event("visibilitychange"));
        return window.layerw.sound.speaker.stats;
    }"""
    before = page.page.evaluate(hide, True)  # the counters as the tab hides
    # headless keeps animating: the game ticks on, as a room's would (half a second's mix, however long it takes)
    page.page.wait_for_function(f"window.layerw.sound.speaker.stats.taken > {before['taken'] + abi.SAMPLE_RATE // 2}")
    hidden = stats(page)
    assert hidden["state"] == "suspended" and hidden["written"] == before["written"]
    page.page.evaluate(hide, False)
    page.page.wait_for_function("window.layerw.sound.speaker.stats.state === 'running'")
    page.page.wait_for_function(f"window.layerw.sound.speaker.stats.written > {hidden['written']}")  # fed again
    after = stats(page)
    missed = hidden["taken"] - before["taken"]
    assert missed > abi.SAMPLE_RATE // 2
    assert after["dropped"] - before["dropped"] >= missed, "a frame mixed while hidden was played"
    assert after["buffered"] <= after["maxFrames"]
    print(f"hidden 1 s: {missed} frames mixed, {after['dropped'] - before['dropped']} dropped")


def test_served_page_plays_through_a_shared_ring(store_server: Any, play_page: Callable[..., PlayPage]) -> None:
    page = play_page().goto(f"{store_server.url}/play/pong?audiotap&latency=2000&ticks=120")
    page.wait_running()
    page.page.click("#game")  # a gesture at once: headless Chromium under load may hold the context back until one (playing)
    page.wait_stopped()
    assert page.page.evaluate("crossOriginIsolated") is True
    page.page.wait_for_function("(s => s.written > 0 && s.consumed === s.written)(window.layerw.sound.speaker.stats)")
    taps = page.page.evaluate(TAPS)
    s = taps["stats"]
    assert s["mode"] == "ring" and s["dropped"] == 0
    played_equals_mix(taps, 120 * abi.SAMPLE_RATE // 60)


def test_the_volume_slider_sets_the_speaker_and_is_kept(sound_src: str, play_page: Callable[..., PlayPage]) -> None:
    """The slider's value reaches the speaker (and its worklet), is kept for the next visit, and a
    volume outside 0..1 is refused."""
    page = play_page().open(sound_src, renderer="webgl2")
    playing(page)
    page.page.fill("#sound-volume", "0.25")  # a range input: fill sets the value and fires `input`
    assert stats(page)["volume"] == 0.25
    refused = page.page.evaluate("""() => { try { window.layerw.sound.speaker.setVolume(1.5); return null; }
                                             catch (e) { return e.name + ": " + e.message; } }""")
    assert refused == "RangeError: volume 1.5 is outside 0..1" and stats(page)["volume"] == 0.25
    page.page.reload()
    playing(page)
    assert page.page.input_value("#sound-volume") == "0.25" and stats(page)["volume"] == 0.25
