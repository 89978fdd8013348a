"""The ``layerw`` command line: one table of commands, each a thin call into the library."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from layerw.errors import LayerWError
from layerw.runtime import CPU_LIMITS, DEFAULT_CPU_LIMIT

console = Console(stderr=True)


def cmd_new(args: argparse.Namespace) -> int:
    from layerw.toolchain.scaffold import scaffold

    path = scaffold(Path(args.name), language=args.lang)
    console.print(f"created {path}: build it with [bold]layerw build {path}[/]")
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    from layerw.toolchain.build import build

    with console.status(f"building {args.dir} ..."):
        result = build(Path(args.dir), Path(args.out) if args.out else None)
    console.print(f"built {result.config.name} {result.config.version}: {result.out} "
                  f"(module {result.module_size:,} bytes, {result.assets} assets)")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from layerw.bundle import Bundle
    from layerw.play import PlayOptions, play

    bundle = Bundle.open(Path(args.game))
    options = PlayOptions(
        headless=args.headless, ticks=args.ticks, seed=args.seed, players=args.players, cpu_limit=args.cpu_limit,
        screenshot=Path(args.screenshot) if args.screenshot else None,
        frames=Path(args.frames) if args.frames else None, every=args.every,
        inputs=Path(args.inputs) if args.inputs else None)
    result = play(bundle, options)
    for path in result.frames:
        print(f"frame {path}")
    if options.screenshot:
        print(f"screenshot {options.screenshot}")
    print(f"tick {result.tick}")
    print(f"state-hash {result.state_hash}")
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="layerw", description="Layer-W: one wasm game module, native and in the browser.")
    p.add_argument("-v", "--verbose", action="store_true", help="log debug output")
    sub = p.add_subparsers(dest="command", required=True)

    commands: dict[str, tuple[Callable[[argparse.Namespace], int], str]] = {
        "new": (cmd_new, "scaffold a game that builds and runs"),
        "build": (cmd_build, "compile a game directory to a build directory"),
        "run": (cmd_run, "run a built game natively"),
    }
    parsers = {name: sub.add_parser(name, help=help_) for name, (_, help_) in commands.items()}
    for name, (fn, _) in commands.items():
        parsers[name].set_defaults(func=fn)

    parsers["new"].add_argument("name", help="directory to create; its last part is the game's name")
    parsers["new"].add_argument("--lang", choices=("c", "cpp"), default="c")

    parsers["build"].add_argument("dir", help="game directory holding layerw.toml")
    parsers["build"].add_argument("-o", "--out", help="build directory (default DIR/build)")

    r = parsers["run"]
    r.add_argument("game", help="build directory (from `layerw build`)")
    r.add_argument("--headless", action="store_true", help="no window: tick as fast as possible")
    r.add_argument("--ticks", type=int, help="ticks to run (headless default 600; a window runs until closed)")
    r.add_argument("--screenshot", help="PNG of the last frame")
    r.add_argument("--frames", help="directory for a PNG every --every ticks")
    r.add_argument("--every", type=int, default=30)
    r.add_argument("--inputs", help="input recording (JSON Lines) to replay")
    r.add_argument("--seed", type=int, default=0, help="the game's random seed")
    r.add_argument("--players", type=int, default=1)
    r.add_argument("--cpu-limit", choices=CPU_LIMITS, default=DEFAULT_CPU_LIMIT,
                   help="how a call's CPU deadline is enforced: wasmtime epoch checks (default), fuel, "
                        "a watchdog process (no checks inside the guest: best for compute-heavy ticks), or off")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        return int(args.func(args))
    except LayerWError as e:
        console.print(f"error: {type(e).__name__}: {e}", style="bold red", highlight=False, markup=False)
        return 1


if __name__ == "__main__":
    sys.exit(main())
