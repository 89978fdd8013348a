"""AssetTable: the host side of ``asset_request`` — handles, readiness and ready events.

Handles are given out in request order (1, 2, ...), so they are the same on every host. Preloaded
assets are ready the moment they are requested. Any other asset becomes ready through an
``LW_EVENT_ASSET_READY`` event delivered at a stamped tick; until that tick it reads as not ready,
even if its bytes arrived earlier, so the simulation does not depend on load timing.

Streaming (a game run from a store, ``layerw.store.bundle.StoreBundle``): preload assets are
fetched before the first tick; any other asset is fetched when the game first requests it, and
the request blocks the host on that asset's chunks only (no other asset, and never again once they
sit in the local chunk cache). The native host never answers "not ready yet" for lack of bytes:
readiness is still the ``ASSET_READY`` (or ``ASSET_FAILED``, when the store cannot deliver it)
event stamped tick + 1, so every host sees the asset at the same tick whatever the network did.

Streamed sounds (``[assets] stream``) get no event and never become readable by the game: the
mixer is given one at the tick after its request (the same tick on every host), and the game may
play it from then on while its frames still arrive (browsers hold a tick back until the frames its
mix needs are in; here the request loads it whole).
"""

from __future__ import annotations

import difflib
import io
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, UnidentifiedImageError

from layerw import abi, pcm
from layerw.errors import AssetError, SnapshotError

IMAGE_SUFFIXES = (".png",)


@dataclass(frozen=True)
class Event:
    tick: int
    kind: int
    player: int = 0
    a: int = 0
    b: int = 0


@dataclass
class Asset:
    name: str
    data: bytes | None = None  # bytes once loaded (maybe before its ready tick)
    ready: bool = False
    failed: bool = False
    image: np.ndarray | None = field(default=None, repr=False)  # HxWx4 uint8 for images

    @property
    def is_image(self) -> bool:
        return self.name.lower().endswith(IMAGE_SUFFIXES)


def decode_image(name: str, data: bytes) -> np.ndarray:
    try:
        with Image.open(io.BytesIO(data)) as im:
            return np.asarray(im.convert("RGBA"), dtype=np.uint8)
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise AssetError(f"asset {name!r} is not a decodable image: {e}") from e


class AssetTable:
    def __init__(self, names: set[str], preload: set[str], read: Callable[[str], bytes],
                 stream: frozenset[str] = frozenset()) -> None:
        self.names = names
        self.preload = preload
        self.stream = stream
        self.read = read
        self.streams: list[list[int]] = []  # [tick the mixer gets it, handle, given yet (0/1)] per streamed sound
        self.assets: list[Asset] = []  # handle = index + 1
        self._by_name: dict[str, int] = {}
        self.pending: list[Event] = []  # events stamped with a tick, not yet delivered
        self.newly_ready: list[int] = []  # handles whose images the renderer has not seen
        self.ready_sounds: list[int] = []  # handles of sounds the mixer has not been given

    def get(self, handle: int) -> Asset | None:
        return self.assets[handle - 1] if 1 <= handle <= len(self.assets) else None

    def request(self, name: str, tick: int) -> int:
        """Handle for ``name`` (same handle on repeat), or -1 for an unknown name."""
        if name in self._by_name:
            return self._by_name[name]
        if name not in self.names:
            return -1
        asset = Asset(name)
        self.assets.append(asset)
        handle = self._by_name[name] = len(self.assets)
        if name in self.preload:
            self._load(asset)
            self._make_ready(handle)
        elif name in self.stream:
            self._load(asset)
            self.streams.append([tick + 1, handle, 0])
        else:
            # Loading from a bundle is synchronous; the event still goes through the input stream
            # so that every host sees the asset become ready at the same tick.
            self._load(asset)
            kind = abi.EVENTS["ASSET_FAILED"] if asset.failed else abi.EVENTS["ASSET_READY"]
            self.pending.append(Event(tick + 1, kind, 0, handle))
        return handle

    def missing(self, name: str) -> str:
        """Why ``request(name)`` answered -1, naming the nearest asset names."""
        near = difflib.get_close_matches(name, sorted(self.names), n=3)
        hint = f"; did you mean {', '.join(map(repr, near))}?" if near else (
            f"; it has {len(self.names)} assets" if self.names else "; it has no assets (put them in [assets] dir)")
        return f"no asset named {name!r} in this game{hint}"

    def _load(self, asset: Asset) -> None:
        try:
            asset.data = self.read(asset.name)
            if asset.is_image:
                asset.image = decode_image(asset.name, asset.data)
        except AssetError:
            if asset.name in self.preload:
                raise
            asset.failed = True

    def _make_ready(self, handle: int) -> None:
        asset = self.assets[handle - 1]
        asset.ready = True
        if asset.image is not None:
            self.newly_ready.append(handle)
        if pcm.is_sound(asset.name):
            self.ready_sounds.append(handle)

    def take_ready_sounds(self) -> list[tuple[int, str]]:
        """Sound assets (handle, name) that became ready since the last call, for the mixer."""
        out = [(h, self.assets[h - 1].name) for h in self.ready_sounds]
        self.ready_sounds = []
        return out

    def due(self, tick: int) -> list[Event]:
        """Events for ``tick``: removed from the queue and applied to readiness (every tick asks:
        with nothing pending that is one test)."""
        if not self.pending:
            now: list[Event] = []
        else:
            now = [e for e in self.pending if e.tick <= tick]
            self.pending = [e for e in self.pending if e.tick > tick]
            for e in now:
                if e.kind == abi.EVENTS["ASSET_READY"]:
                    self._make_ready(e.a)
        for s in self.streams:
            if not s[2] and s[0] <= tick:
                s[2] = 1
                self.ready_sounds.append(s[1])
        return now

    # --- snapshot support ---------------------------------------------------------------------

    def state(self) -> dict[str, object]:
        return {
            "requested": [a.name for a in self.assets],
            "ready": [a.ready for a in self.assets],
            "pending": [[e.tick, e.kind, e.player, e.a, e.b] for e in self.pending],
            "streams": [list(s) for s in self.streams],
        }

    def restore(self, state: dict[str, object]) -> None:
        try:
            names = list(state["requested"])  # type: ignore[call-overload]
            ready = list(state["ready"])  # type: ignore[call-overload]
            pending = [Event(*map(int, e)) for e in state["pending"]]  # type: ignore[attr-defined]
            streams = [[int(t), int(h), int(bool(given))] for t, h, given in state.get("streams", [])]  # type: ignore[attr-defined]
            if len(ready) != len(names) or any(not 0 <= v < 1 << 32 for e in pending for v in vars(e).values()):
                raise ValueError("requested and ready differ in length, or an event field is not a u32")
            if any(not 1 <= h <= len(names) or names[h - 1] not in self.stream or not 0 <= t < 1 << 32 for t, h, _ in streams):
                raise ValueError("a stream entry names no requested streamed sound")
        except (KeyError, TypeError, ValueError, OverflowError) as e:
            raise SnapshotError(f"snapshot asset state is malformed: {e}") from e
        unknown = [n for n in names if n not in self.names]
        if unknown:
            raise SnapshotError(f"snapshot names assets this game does not have: {unknown}")
        self.assets, self._by_name, self.newly_ready, self.ready_sounds = [], {}, [], []
        for name, is_ready in zip(names, ready, strict=True):
            asset = Asset(name)
            self.assets.append(asset)
            self._by_name[name] = len(self.assets)
            self._load(asset)
            if is_ready:
                self._make_ready(len(self.assets))
        self.pending = pending
        self.streams = streams
        self.ready_sounds += [h for _, h, given in streams if given]
