"""A rejoin in the browser sounds as it does natively: the page's Session, given the server messages of
tests/session/test_rejoin_sound.py (a connection lost while a blip played, then the rejoin's WELCOME),
hears sample for sample what the native Replica hears: the blip ramps into the room's silence over
5 ms; and a spectator's first join, with nothing playing before it, is heard unfaded."""

from __future__ import annotations

import base64
from collections.abc import Callable

import numpy as np
import pytest

from layerw.bundle import Bundle
from layerw.runtime.engine import Engine
from layerw.session import protocol as p
from tests.session.test_rejoin_sound import END, SPACE_AT, heard, messages
from tests.web.conftest import PlayPage, StaticServer, served_build
from tests.web.test_heal_audio import FOLLOW
from tests.web.test_rollback import sound_src  # noqa: F401  (a fixture: the sound test game, served)


@pytest.mark.parametrize("case", ["rejoin", "first-join"])
def test_the_page_hears_a_rejoin_as_the_native_client_does(case: str, sound_src: str, server: StaticServer,  # noqa: F811
                                                           play_page: Callable[..., PlayPage], engine: Engine) -> None:
    bundle = Bundle.open(served_build(server, sound_src))
    data = messages(bundle, engine) if case == "rejoin" else messages(bundle, engine, lost=False, spectate_from=SPACE_AT + 1)
    welcomes = [i for i, m in enumerate(data) if isinstance(p.decode_server(m), p.Welcome)]
    assert len(welcomes) == (2 if case == "rejoin" else 1)
    native = b"".join(heard(bundle, engine, data))
    page = play_page().open(sound_src, ticks=1, fast=True, renderer="webgl2", worker=0)  # FOLLOW drives the page-hosted game
    page.wait_stopped()
    result = page.page.evaluate(FOLLOW, [[base64.b64encode(m).decode() for m in data], 0, welcomes[1:]])
    assert result["failure"] is None and result["tick"] == END and result["reconnects"] == len(welcomes) - 1
    ours = np.array(result["heard"], dtype="<i2").tobytes()
    assert ours == native and np.frombuffer(native, dtype="<i2").any()
