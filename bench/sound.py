"""Sound: what the one mixer costs a 60 Hz tick natively (web/mixer.wasm on wasmtime), with 32
voices playing (16 sample voices at different rates, 16 synth tones of every wave) and silent, mixed
one tick per call and in the host's batches of 16 (``runtime/audio.py``), and in Chromium; the time
from asking for streamed music to its first frames, cold and warm from the store; output latency
(bench/sound_web.py). Goal: < 5 % of a frame, latency <= 40 ms natively."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from bench import sound_web
from bench.report import Section, table
from bench.timing import clock, median, us
from layerw import abi
from layerw.runtime.audio import BATCH_TICKS
from layerw.runtime.mixer import Mixer
from layerw.tone import tone_command

FRAME_S = 1 / 60


def _voices() -> bytes:
    """A block (re)starting 32 voices: 16 loops of a 1 s sound at different rates, 16 tones of ~17 s."""
    loop = abi.SOUND_FLAGS["LOOP"]
    plays = b"".join(struct.pack("<4I", 1, i, 0, 0) + struct.pack("<IIiii", 1, loop, abi.Q16 // 4, 0, abi.Q16 + i * 1000)
                     for i in range(16))
    held = 0xFFFFFFFF  # every ADSR stage 255 ticks
    tones = b"".join(struct.pack("<4I", 4, 16 + i, 0, 0) + tone_command(200 + 50 * i, held, 100, i % 4 | (i % 4) << 2)[16:]
                     for i in range(16))
    return plays + tones


def _per_tick(mixer: Mixer, ticks: int, batched: bool, start: bytes = b"") -> float:
    mixer.mix(start)
    t0 = clock()
    if batched:
        for _ in range(ticks // BATCH_TICKS):
            mixer.mix_batch([b""] * BATCH_TICKS)
    else:
        for _ in range(ticks):
            mixer.mix(b"")
    return (clock() - t0) / ticks


def run(out_dir: Path, sprites_build: Path, frames: int) -> Section:
    ticks = max(BATCH_TICKS, frames // BATCH_TICKS * BATCH_TICKS)
    with Mixer(60) as busy, Mixer(60) as idle:
        busy.add_sound(1, np.random.default_rng(1).integers(-20000, 20000, (abi.SAMPLE_RATE, 2)).astype(np.int16))
        busy.mix(_voices())
        assert busy.counters()["voices_on"] == abi.MAX_VOICES
        voices = _voices()
        names = ("32 voices", "32 voices, batched", "silent", "silent, batched")
        samples: dict[str, list[float]] = {k: [] for k in names}
        for _ in range(5):  # interleaved rounds
            samples["32 voices"].append(_per_tick(busy, ticks // 5 or 1, False, voices))
            samples["32 voices, batched"].append(_per_tick(busy, ticks, True, voices))
            samples["silent"].append(_per_tick(idle, ticks // 5 or 1, False))
            samples["silent, batched"].append(_per_tick(idle, ticks, True))
        rows = {k: median(v) for k, v in samples.items()}
    sound = np.random.default_rng(1).integers(-20000, 20000, (abi.SAMPLE_RATE, 2)).astype(np.int16)
    web = sound_web.measure(out_dir, _voices(), sound, max(ticks // 5, 60))
    mixer_web = web["chromium_mixer"]
    rows["32 voices, Chromium"] = mixer_web["busy_ms"] / 1000
    rows["silent, Chromium"] = mixer_web["idle_ms"] / 1000
    t = table("Mixer cost per 60 Hz tick (800 stereo frames)", "mix", "per tick", "of a frame")
    for name, seconds in rows.items():
        t.add_row(name, us(seconds), f"{seconds / FRAME_S * 100:.2f} %")
    music, native_music = web["music_chromium"], web["music_native"]
    m = table("Streamed music (asteroids' music.ogg: 16 s, 3 MB canonical) from `layerw serve`", "where", "cold ms",
              "warm ms", "what")
    m.add_row("Chromium, first frames", f"{music['cold']['firstMs']:.0f}", f"{music['warm']['firstMs']:.0f}",
              "lw_asset to the header and first chunk in: the music can start")
    m.add_row("Chromium, all of it", f"{music['cold']['allMs']:.0f}", f"{music['warm']['allMs']:.0f}",
              f"{music['cold']['load']['chunksFetched']} chunks fetched cold, {music['warm']['load']['chunksFetched']} warm")
    m.add_row("native (loads it whole)", f"{native_music['cold']:.0f}", f"{native_music['warm']:.0f}",
              "StoreBundle.read_asset; warm: from the local chunk cache")
    lat = table("Output latency while playing asteroids (2 s)", "speaker", "latency ms", "p95 ms", "underrun frames",
                "dropped frames")
    ln, lw, loaded = web["latency_native"], web["latency_chromium"], web["latency_native_loaded"]
    natives = {f"native, miniaudio NULL device, 40 ms budget ({ln['device_ms']:.0f} ms device periods)": ln,
               f"native, the same, {sound_web.LOAD_THREADS} Python threads spinning beside it": loaded}
    for name, run in natives.items():
        lat.add_row(name, f"{run['latency_ms']:.1f}", f"{run['p95_ms']:.1f}",
                    f"{run['silent_frames']:.0f} ({run['underruns']:.0f} underruns)", f"{run['dropped']:.0f}")
    lat.add_row(f"Chromium AudioWorklet ({lw['mode']})", f"{lw['latency_ms']:.1f}", "", f"{lw['silent_frames']:.0f}",
                f"{lw['dropped']:.0f}")
    late = table("Native output: which side was late (the same 2 s runs)", "run", "ticks made / due", "write gap p95 / max ms",
                 "callback gap p95 / max ms", "queue target at the end", "device thread")
    for name, run in (("idle", ln), (f"{sound_web.LOAD_THREADS} Python threads spinning", loaded)):
        late.add_row(name, f"{run['ticks']:.0f} / {run['due']:.0f}",
                     f"{run['write_gap_p95_ms']:.1f} / {run['write_gap_max_ms']:.1f}",
                     f"{run['callback_gap_p95_ms']:.1f} / {run['callback_gap_max_ms']:.1f}", f"{run['target_ms']:.1f} ms",
                     run["thread"])
    data = {"us_per_tick": {k: v * 1e6 for k, v in rows.items()}, "share_of_frame": {k: v / FRAME_S for k, v in rows.items()},
            "music": {"chromium": music, "native_ms": native_music},
            "latency": {"native": ln, "native_loaded": loaded, "chromium": lw}}
    notes = [f"the host mixes {BATCH_TICKS} ticks per call into the mixer: a wasmtime-py call costs more than "
             "mixing a silent tick; Chromium runs the same module one call per tick",
             "native latency measured write by write: a tick's samples written to the device's callback taking their "
             "first frame (median, p95), plus the device's two periods after it",
             "Chromium latency = frames waiting in the worklet + the AudioContext's base and output latency "
             "(headless: a fake device); underrun frames: silence played for want of samples after the first one",
             "native late side: a tick is due every 16.7 ms and the NULL device calls back every 10 ms (two 5 ms "
             "periods); an underrun raises the queue's target a period, at most to 80 % of the budget less the "
             "device's periods (24 ms of 40), and its edges ramp over 5 ms instead of clicking",
             "the native device callback is C (lwspeaker.c): it never takes the GIL, so Python threads spinning beside "
             "the game (the loaded run) leave the callback gaps at the device's 10 ms; underruns there come from the "
             "game's own writes, late because its thread waits for the GIL",
             "figures from a machine shared with other work: indicative"]
    return Section("sound", t, data, notes, more=[m, lat, late])
