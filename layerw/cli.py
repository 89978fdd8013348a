"""The ``layerw`` command line: one table of commands, each a thin call into the library."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from layerw.errors import ConfigError, LayerWError
from layerw.runtime import DEFAULT_CPU_LIMIT, DEFAULT_TIER, CpuLimit, Tier

DEV_PORT = 8765  # `layerw dev --serve`'s port when none is given

if TYPE_CHECKING:
    from layerw.store.store import Store

console = Console(stderr=True)


def cmd_new(args: argparse.Namespace) -> int:
    from layerw.toolchain.scaffold import scaffold

    path = scaffold(Path(args.name), language=args.lang)
    console.print(f"created {path}: build it with [bold]layerw build {path}[/]")
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    from layerw.toolchain.cart import build_cart, is_cart_source
    from layerw.toolchain.component import PLUGIN_CONFIG, build_plugin

    if is_cart_source(Path(args.dir)):
        with console.status(f"building WASM-4 cart {args.dir} ..."):
            out = build_cart(Path(args.dir), Path(args.out) if args.out else None, name=args.name,
                             version=args.cart_version, players=args.players, replay_twin=args.replay_twin)
        console.print(f"built cart {out} ({(out / 'game.wasm').stat().st_size:,} bytes): run it with "
                      f"[bold]layerw run {out}[/], publish it with [bold]layerw publish {out}[/]")
        return 0
    if (Path(args.dir) / PLUGIN_CONFIG).is_file():
        with console.status(f"building plugin {args.dir} ..."):
            path = build_plugin(Path(args.dir), Path(args.out) if args.out else None)
        console.print(f"built plugin {path} ({path.stat().st_size:,} bytes)")
        return 0
    from layerw.play.gamebuild import build_game

    with console.status(f"building {args.dir} (WGSL shaders checked first) ..."):
        result, shaders = build_game(Path(args.dir), Path(args.out) if args.out else None, component=args.component,
                                     optimize=not args.debug, replay_twin=args.replay_twin)
    for text in result.warnings:  # a build that succeeds still shows what the compiler warned of
        console.print(text, markup=False, highlight=False, style="yellow", soft_wrap=True)
    console.print(f"built {result.config.name} {result.config.version}: {result.out} "
                  f"(module {result.module_size:,} bytes, {result.assets} assets, {len(shaders)} WGSL shaders checked"
                  f"{', with compiler warnings (above)' if result.warnings else ''})")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from layerw.bundle import Bundle, DirBundle
    from layerw.play.play import PlayOptions, play
    from layerw.store.bundle import open_bundle

    if args.debug:
        if args.store is not None or not Path(args.game, "layerw.toml").is_file():
            raise ConfigError(f"--debug runs a build directory's game.debug.wasm; {args.game} is not a build directory")
        bundle: Bundle = DirBundle(Path(args.game), debug=True)
    else:
        bundle = open_bundle(args.game, args.store, channel=args.channel, version=args.version, options=_store_options(args))
    options = PlayOptions(
        headless=args.headless, ticks=args.ticks, seed=args.seed, players=args.players,
        cpu_limit=CpuLimit.OFF if args.debug else CpuLimit(args.cpu_limit),  # a guest paused in a debugger must not time out
        tier=Tier(args.tier),
        screenshot=Path(args.screenshot) if args.screenshot else None,
        frames=Path(args.frames) if args.frames else None, every=args.every,
        inputs=Path(args.inputs) if args.inputs else None, audio=Path(args.audio) if args.audio else None,
        sound=args.sound, latency_ms=args.latency_ms, saves=_save_dir(args, bundle.config.name), synctest=args.synctest,
        profile=(_positive(args.profile[0], "--profile N"), Path(args.profile[1])) if args.profile else None,
        debug=args.debug, online_saves=args.online_saves, player_key=Path(args.player_key) if args.player_key else None,
        dev=args.dev)
    result = play(bundle, options)
    for path in result.frames:
        print(f"frame {path}")
    if options.screenshot:
        print(f"screenshot {options.screenshot}")
    if options.audio:
        print(f"audio {options.audio}")
    if options.profile:
        print(f"profile {options.profile[1]} ({options.profile[0]} frames, {result.samples} guest stack samples; "
              "open it in ui.perfetto.dev or chrome://tracing)")
    print(f"audio-hash {result.audio_hash}")
    if options.synctest:
        print(f"synctest {options.synctest}: {result.resimulated} ticks resimulated, every state hash as the first time")
    print(f"tick {result.tick}")
    print(f"state-hash {result.state_hash}")
    return 0


def _positive(text: str, what: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise ConfigError(f"{what}: {text!r} is not a positive whole number of frames")
    return int(text)


def cmd_dev(args: argparse.Namespace) -> int:
    from layerw.play.dev import DevOptions, dev

    def report(line: str) -> None:
        console.print(f"dev: {line}", markup=False, highlight=False, soft_wrap=True)

    options = DevOptions(headless=args.headless, ticks=args.ticks, seed=args.seed, poll_s=args.poll)
    serve = _dev_server(args.serve, report) if args.serve is not None else None
    tick, state_hash = dev(Path(args.dir), options, report, serve=serve)
    print(f"tick {tick}")
    print(f"state-hash {state_hash}")
    return 0


def _dev_server(port: int, report: Callable[[str], None]) -> Callable[[Any], AbstractContextManager[object]]:
    """``layerw dev --serve``: the dev server, told of each build the loop runs, for every open tab."""
    def serve(loop: Any) -> AbstractContextManager[object]:
        from layerw.server.dev_app import DevServer
        from layerw.server.dev_events import DevEvents

        events = DevEvents()
        events.publish(loop.build_event())
        loop.listeners.append(events.publish)
        server = DevServer(events, loop.build_dir, port)
        report(f"serving {loop.game.name} at {server.url}/ : every open tab hot-reloads with each build")
        return server
    return serve


def _save_dir(args: argparse.Namespace, game: str) -> Path | None:
    """Where `layerw run` keeps the game's saves: --saves, else the user's data directory in a window."""
    from layerw.saves import default_directory

    if args.saves:
        return None if args.saves == "none" else Path(args.saves)
    return None if args.headless else default_directory(game)


def _store_options(args: argparse.Namespace) -> dict[str, object]:
    return {"endpoint_url": args.endpoint_url} if args.endpoint_url else {}


def _authorize(store: Store, args: argparse.Namespace) -> None:
    """Refuse early unless this operator holds the store's publish token (claiming a new store)."""
    from layerw.store.token import authorize

    grant = authorize(store, args.token)
    if grant.created is not None:
        console.print(f"created a publish token for {store.url} in {grant.created} (mode 0600): publishing, "
                      "promoting and gc there now need it (--token, $LAYERW_TOKEN or that file)")
    elif grant.claimed:
        console.print(f"{store.url} now requires the publish token from {grant.source}")


def cmd_publish(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    from layerw.store import open_store
    from layerw.store.publish import publish
    from layerw.toolchain.replaytwin import twin_of

    counts = {"new": 0, "reused": 0}
    columns = (TextColumn("publishing"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
               TextColumn("{task.fields[chunks]}"))
    with open_store(args.store, **_store_options(args)) as store, Progress(*columns, console=console, transient=True) as bar:
        _authorize(store, args)
        task = bar.add_task("publish", total=None, chunks="")

        def on_chunk(size: int, reused: bool) -> None:
            counts["reused" if reused else "new"] += 1
            bar.update(task, advance=size, chunks=f"chunks: {counts['new']} new, {counts['reused']} reused")

        r = publish(Path(args.build_dir), store, args.channel, on_plan=lambda size, _: bar.update(task, total=size),
                    on_chunk=on_chunk, replay_twin=twin_of)
    delta = f", module delta {r.delta.size:,} bytes" if r.delta else ""
    if r.manifest.replay is not None:
        delta += f"; replay twin {r.manifest.replay.twin.size:,} bytes ({r.replay_uploaded:,} uploaded)"
    console.print(f"published {r.manifest.game} {r.manifest.version} to {store.url} as {r.channel!r}: {r.chunks_new} new / "
                  f"{r.chunks_reused} reused chunks, {r.bytes_uploaded:,} of {r.bytes_total:,} bytes uploaded{delta}")
    return 0


def cmd_versions(args: argparse.Namespace) -> int:
    import time

    from layerw.store import open_store

    with open_store(args.store, **_store_options(args)) as store:
        for v in store.versions(args.game):
            print(f"{v.version}\t{time.strftime('%Y-%m-%d %H:%M', time.localtime(v.published))}\t{' '.join(v.channels)}")
    return 0


def cmd_promote(args: argparse.Namespace) -> int:
    from layerw.store import open_store

    with open_store(args.store, **_store_options(args)) as store:
        _authorize(store, args)
        ch = store.set_channel(args.game, args.channel, args.version)
    console.print(f"{ch.game} channel {ch.name!r} now points at {ch.version}")
    return 0


def cmd_gc(args: argparse.Namespace) -> int:
    from layerw.store import open_store
    from layerw.store.gc import gc, gc_rooms

    with open_store(args.store, **_store_options(args)) as store:
        _authorize(store, args)
        r = gc(store, min_age_s=args.min_age, dry_run=args.dry_run)
        rooms = gc_rooms(store, max_age_s=args.rooms_max_age, dry_run=args.dry_run)
    done = "would delete" if args.dry_run else "deleted"
    console.print(f"{done} {r.deleted} chunks ({r.deleted_bytes:,} bytes); "
                  f"kept {r.referenced} referenced and {r.kept_young} unreferenced younger than {args.min_age:g} s")
    console.print(f"{done} the checkpoints of {rooms.rooms} rooms untouched for {args.rooms_max_age:g} s ({rooms.deleted} "
                  f"objects, {rooms.deleted_bytes:,} bytes); kept {rooms.kept} rooms' recent checkpoints")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from layerw.server import run
    from layerw.server.app import create_app
    from layerw.server.catalog import StoreCatalog
    from layerw.session.checkpointer import Checkpoints
    from layerw.session.directory import Directory
    from layerw.store import open_store

    public = args.public_url or f"http://{args.host}:{args.port}"
    with open_store(args.store, **_store_options(args)) as store:
        checkpoints = (Checkpoints(store, args.checkpoint_every, max_age_s=args.checkpoint_max_age)
                       if args.checkpoint_every > 0 else None)
        app = create_app(StoreCatalog(store), store=store, directory=Directory.open(args.rooms, args.claim_ttl),
                         public_url=public, checkpoints=checkpoints,
                         serve_symbols=args.serve_symbols)
        console.print(f"serving {store.url} at {public}/ (games: {', '.join(store.games()) or 'none yet'}; "
                      f"metrics at {public}/metrics)")
        run.serve(app, args.host, args.port, log_config=_log_config(args), proxy_headers=True,
                  forwarded_allow_ips=args.trusted_proxies)
    return 0


def cmd_join(args: argparse.Namespace) -> int:
    from layerw.play.join import JoinOptions, join

    options = JoinOptions(headless=args.headless, ticks=args.ticks, inputs=Path(args.inputs) if args.inputs else None,
                          channel=args.channel, spectate=args.spectate, lead=args.lead, sound=args.sound,
                          latency_ms=args.latency_ms, tier=Tier(args.tier),
                          **({"window": args.window} if args.window is not None else {}))
    result = join(args.url, options)
    address, outcome = result.address, result.outcome
    console.print(f"{'spectated' if outcome.seat == 255 else f'played seat {outcome.seat} of'} "
                  f"{address.game}/{address.room}: {outcome.bytes_received:,} bytes received, {outcome.heals} heals, "
                  f"{outcome.predicted} ticks predicted, {outcome.rollbacks} rollbacks ({outcome.resimulated} ticks "
                  f"resimulated), round trip {outcome.rtt_s * 1e3:.1f} ms")
    if options.sound:
        console.print(f"sound: {result.frames_heard:,} frames heard, {result.underruns} underruns")
    print(f"tick {outcome.tick}")
    print(f"state-hash {outcome.state_hash}")
    return 0


def cmd_edge(args: argparse.Namespace) -> int:
    from layerw.server import run
    from layerw.server.edge import EdgeLimits, create_edge

    app = create_edge(args.origin, Path(args.cache_dir), args.max_bytes,
                      limits=EdgeLimits(memory_entries=args.memory_entries, memory_bytes=args.memory_bytes))
    console.print(f"edge cache for {args.origin} at http://{args.host}:{args.port}/ "
                  f"({args.max_bytes:,} bytes in {args.cache_dir})")
    run.serve(app, args.host, args.port, log_config=_log_config(args), proxy_headers=True,
              forwarded_allow_ips=args.trusted_proxies)
    return 0


def _log_config(args: argparse.Namespace) -> dict[str, Any] | None:
    """uvicorn's logging set-up; with --log-json none, so its loggers reach the root's JSON lines too."""
    from uvicorn.config import LOGGING_CONFIG

    if not args.log_json:
        return LOGGING_CONFIG
    from layerw.observability.logs import use_json

    use_json()
    return None


SOUND_BACKENDS = ["default", "null", "alsa", "pulseaudio", "jack", "oss", "sndio", "audio4", "coreaudio", "wasapi",
                  "dsound", "winmm"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="layerw", description="Layer-W: one wasm game module, native and in the browser.")
    p.add_argument("-v", "--verbose", action="store_true", help="log debug output")
    sub = p.add_subparsers(dest="command", required=True)

    commands: dict[str, tuple[Callable[[argparse.Namespace], int], str]] = {
        "new": (cmd_new, "scaffold a game that builds and runs"),
        "build": (cmd_build, "compile a game directory to a build directory"),
        "run": (cmd_run, "run a built game natively"),
        "dev": (cmd_dev, "build and run a game directory, rebuilding and hot-reloading it as it changes"),
        "publish": (cmd_publish, "publish a build directory into a store and move a channel to it"),
        "versions": (cmd_versions, "list a game's published versions and their channels"),
        "promote": (cmd_promote, "point a channel at a published version (rollback = an older one)"),
        "gc": (cmd_gc, "delete chunks that no published version references"),
        "serve": (cmd_serve, "serve a store's games, the web client and multiplayer rooms over HTTP"),
        "edge": (cmd_edge, "a caching node in front of a `layerw serve` origin"),
        "join": (cmd_join, "play in a multiplayer room: layerw join http://HOST:PORT/play/GAME?room=ID"),
    }
    parsers = {name: sub.add_parser(name, help=help_) for name, (_, help_) in commands.items()}
    for name, (fn, _) in commands.items():
        parsers[name].set_defaults(func=fn)

    parsers["new"].add_argument("name", help="directory to create; its last part is the game's name")
    parsers["new"].add_argument("--lang", choices=("c", "cpp"), default="c")

    parsers["build"].add_argument("dir", help="game directory holding layerw.toml, or a WASM-4 cart: its "
                                  "directory (src/*.c or one .wat, no layerw.toml) or its .wasm file")
    parsers["build"].add_argument("-o", "--out", help="build directory (default DIR/build); for a plugin "
                                  "(a directory holding plugin.toml) the component file (default DIR/build/plugin.wasm)")
    parsers["build"].add_argument("--name", help="a WASM-4 cart's game name (default: from its directory or file)")
    parsers["build"].add_argument("--cart-version", help="a WASM-4 cart's version (default 0.1.0)")
    parsers["build"].add_argument("--players", type=int, default=4, help="a WASM-4 cart's players (1..4, default 4)")
    parsers["build"].add_argument("--debug", action="store_true",
                                  help="compile at -O0 so a debugger sees every variable (`layerw run --debug`); slower, "
                                  "for development only")
    parsers["build"].add_argument("--component", action="store_true",
                                  help="also build a Component Model component (game.component.wasm), which hosts then run")
    parsers["build"].add_argument("--replay-twin", action="store_true",
                                  help="also write game.replay.wasm and game.replay.json, so a browser's game worker replays a "
                                  "timed-out call to name its frames (a game's or a WASM-4 cart's; `layerw dev` always "
                                  "does; for development only)")

    for name in ("run", "publish", "versions", "promote", "gc", "serve"):
        parsers[name].add_argument("--store", default=None if name == "run" else "",
                                   help="store path or s3://bucket/prefix (default $LAYERW_STORE, else ~/.local/share/layerw)")
        parsers[name].add_argument("--endpoint-url", help="S3 endpoint (default: AWS_ENDPOINT_URL)")
    parsers["publish"].add_argument("build_dir", help="build directory (from `layerw build`)")
    parsers["publish"].add_argument("--channel", default="latest", help="channel to move to this version (default latest)")
    parsers["versions"].add_argument("game")
    parsers["promote"].add_argument("game")
    parsers["promote"].add_argument("version")
    parsers["promote"].add_argument("--channel", default="latest")
    parsers["gc"].add_argument("--min-age", type=float, default=3600.0, help="keep chunks younger than this (seconds)")
    parsers["gc"].add_argument("--dry-run", action="store_true", help="only report what would be deleted")
    parsers["gc"].add_argument("--rooms-max-age", type=float, default=3600.0, metavar="SECONDS",
                               help="delete room checkpoints untouched this long (abandoned: never resumed; default 3600)")
    for name in ("serve", "edge"):
        parsers[name].add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
        parsers[name].add_argument("--trusted-proxies", default="127.0.0.1", metavar="IPS",
                                   help="comma-separated addresses (or '*') of reverse proxies whose X-Forwarded-For "
                                   "names the client, as rate limits and logs see it (default 127.0.0.1)")
    parsers["edge"].add_argument("--origin", required=True, help="the origin server's URL (a `layerw serve`)")
    parsers["edge"].add_argument("--cache-dir", required=True, help="where cached chunks live")
    parsers["edge"].add_argument("--max-bytes", type=int, default=10 << 30, help="cache size bound (default 10 GiB)")
    parsers["edge"].add_argument("--memory-entries", type=int, default=1024, help="answers each in-memory manifest "
                                 "cache keeps, least recently used out first (default 1024)")
    parsers["edge"].add_argument("--memory-bytes", type=int, default=64 << 20,
                                 help="bytes each in-memory manifest cache keeps (default 64 MiB)")
    parsers["edge"].add_argument("--port", type=int, default=8080)
    j = parsers["join"]
    j.add_argument("url", help="the room's page address, as a browser opens it: http://HOST:PORT/play/GAME?room=ID")
    j.add_argument("--headless", action="store_true", help="no window: follow the room and report the state hash")
    j.add_argument("--ticks", type=int, default=600, help="play until the game reaches this tick (default 600; "
                   "a window also stops when closed)")
    j.add_argument("--inputs", help="input recording (JSON Lines) to play as this seat")
    j.add_argument("--channel", default="latest", help="the channel the server's rooms run (default latest)")
    j.add_argument("--spectate", action="store_true", help="watch without a seat")
    j.add_argument("--window", type=int, help="ticks a player may run ahead of the room's confirmed "
                   "frames, predicting (default 8; 0: on confirmed frames only)")
    j.add_argument("--lead", type=int, help="run exactly this many ticks ahead (default: as the measured round trip needs)")
    parsers["serve"].add_argument("--port", type=int, default=8000)
    parsers["serve"].add_argument("--serve-symbols", action="store_true",
                                  help="let pages download games' symbols, so a crash names source lines on the page "
                                  "(development; without it only this server's log names them)")
    for name in ("publish", "promote", "gc"):
        parsers[name].add_argument("--token", help="the store's publish token (default $LAYERW_TOKEN, else the token "
                                   "file $LAYERW_TOKEN_FILE or ~/.local/share/layerw/publish.token)")
    for name in ("serve", "edge"):
        parsers[name].add_argument("--log-json", action="store_true",
                                   help="log JSON lines (with game, room, tick fields) instead of text")
    for sp in parsers.values():
        sp.add_argument("--trace", action="store_true", help="export OpenTelemetry spans over OTLP/HTTP (also on "
                        "when OTEL_EXPORTER_OTLP_ENDPOINT is set; default endpoint http://localhost:4318)")
    parsers["serve"].add_argument("--public-url", help="how clients reach this server (default http://HOST:PORT)")
    parsers["serve"].add_argument("--checkpoint-every", type=float, default=0.5, metavar="SECONDS",
                                  help="write each room to the store this often, so another process resumes it after "
                                  "a crash losing at most about that much play (default 0.5; 0: rooms die with the process)")
    parsers["serve"].add_argument("--checkpoint-max-age", type=float, default=3600.0, metavar="SECONDS",
                                  help="a room checkpoint written longer ago is abandoned: never resumed (the room starts "
                                  "over) and collected when a server starts or by `layerw gc` (default 3600)")
    parsers["serve"].add_argument("--claim-ttl", type=float, default=2.0, metavar="SECONDS",
                                  help="a room's lease in the --rooms directory: renewed 4 times per ttl, it lapses this long "
                                  "after its process dies (another then resumes the room from its checkpoint), and a "
                                  "process that cannot renew it for 3/4 of it stops the room (default 2)")
    parsers["serve"].add_argument("--rooms", help="room directory shared by several servers: redis://HOST:PORT "
                                  "(default: this process only)")

    d = parsers["dev"]
    d.add_argument("dir", help="game directory holding layerw.toml")
    d.add_argument("--headless", action="store_true", help="no window: tick at the game's rate, report in the terminal")
    d.add_argument("--ticks", type=int, help="stop at this tick (default: until Ctrl-C or the window closes)")
    d.add_argument("--seed", type=int, default=0, help="the game's random seed (a restart starts from it)")
    d.add_argument("--poll", type=float, default=0.25, help="seconds between looks at the game directory")
    d.add_argument("--serve", type=int, nargs="?", const=DEV_PORT, metavar="PORT",
                   help=f"also serve the game to browsers on 127.0.0.1:PORT (default {DEV_PORT}; 0: a free port), "
                   "each open tab hot-reloaded keeping its state")

    r = parsers["run"]
    r.add_argument("game", help="build directory (from `layerw build`), a WASM-4 cart (.wasm), or a game's name with --store")
    pick = r.add_mutually_exclusive_group()
    pick.add_argument("--channel", help="with --store: the channel to run (default latest)")
    pick.add_argument("--version", help="with --store: the version to run")
    r.add_argument("--headless", action="store_true", help="no window: tick as fast as possible")
    r.add_argument("--ticks", type=int, help="ticks to run (headless default 600; a window runs until closed)")
    r.add_argument("--screenshot", help="PNG of the last frame")
    r.add_argument("--frames", help="directory for a PNG every --every ticks")
    r.add_argument("--every", type=int, default=30)
    r.add_argument("--inputs", help="input recording (JSON Lines) to replay")
    r.add_argument("--saves", help="directory of the game's save slots; 'none' keeps none (default: the user's data "
                   "directory in a window, none with --headless)")
    r.add_argument("--online-saves", metavar="URL", help="a `layerw serve` server (http://HOST:PORT) the save slots are "
                   "synced with: its slots are pulled before the game starts, the ones the play wrote pushed after")
    r.add_argument("--player-key", help="the player's key file for --online-saves (default ~/.local/share/layerw/player.key, "
                   "made on first use; copy it to another device to continue there)")
    r.add_argument("--audio", help="write the mix to this WAV file (48 kHz stereo s16); audio-hash is its samples' SHA-256")
    for sounding in (r, j):
        sounding.add_argument("--sound", nargs="?", const="default", metavar="BACKEND", choices=SOUND_BACKENDS,
                              help="play the mix on the default audio device, or through a miniaudio backend (null: no hardware)")
        sounding.add_argument("--latency-ms", type=int, default=40, help="audio output latency budget (device buffer + queue)")
    r.add_argument("--profile", nargs=2, metavar=("N", "OUT"),
                   help="write a Chrome trace (Perfetto, chrome://tracing) of N frames to OUT: tick, sound, render and "
                   "present spans, and guest functions by stack sampling; runs offscreen")
    r.add_argument("--debug", action="store_true",
                   help="run game.debug.wasm, with no CPU limit, on an engine that gives gdb/lldb the game's DWARF: "
                   "gdb -ex 'break lw_game_tick' --args python -m layerw.cli run BUILD --debug (see the README)")
    r.add_argument("--seed", type=int, default=0, help="the game's random seed")
    r.add_argument("--dev", action="store_true", help="check the contract as the game runs (render changing state, "
                   "missing assets, unknown textures, bad source rects, refused host calls, NULL writes), each "
                   "problem reported once with its tick")
    r.add_argument("--synctest", type=int, default=0, metavar="N",
                   help="after every tick roll back N ticks, resimulate them and compare state hashes: fails "
                        "with NotDeterministic at the first tick a game would desync under rollback")
    r.add_argument("--players", type=int, default=1)
    r.add_argument("--cpu-limit", choices=[limit.value for limit in CpuLimit], default=DEFAULT_CPU_LIMIT.value,
                   help="how a call's CPU deadline is enforced: wasmtime epoch checks (default), fuel, "
                        "a watchdog process (no checks inside the guest: best for compute-heavy ticks), or off")
    for runs in (r, j):  # a room's replica runs on any tier: its state hashes are the same
        runs.add_argument("--tier", choices=[tier.value for tier in Tier], default=DEFAULT_TIER.value,
                          help="the code generator: auto (default: aot where it keeps every guarantee, else wasmtime; "
                          "the log says which and why), wasmtime (Cranelift), or aot (wasm2c + zig to native code, "
                          "compiled on first start and cached; its own per-call deadline, Linux x86-64, core modules)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    from layerw.observability import tracing

    tracing.configure_from_env(force=args.trace)
    try:
        return int(args.func(args))
    except LayerWError as e:
        console.print(f"error: {type(e).__name__}: {e}", style="bold red", highlight=False, markup=False)
        return 1
    finally:
        tracing.shutdown()  # export what is pending


if __name__ == "__main__":
    sys.exit(main())
