"""The wire's constants agree with each other and with the messages the codecs write."""

from __future__ import annotations

from layerw import abi, wire
from layerw.session import protocol as p


def test_a_browsers_retries_end_inside_the_seat_grace() -> None:
    grace_ms = wire.GRACE_TICKS * 1000 / abi.DEFAULT_TICK_RATE
    assert sum(wire.RETRY_DELAYS_MS) < grace_ms, "a rejoining browser would find its seat given away"


def test_the_largest_client_message_is_an_input() -> None:
    largest = max(len(p.hello(p.PLAYER)), len(p.input_message(0, bytes(abi.PLAYER.size))),
                  len(p.hash_message(0, bytes(wire.HASH_SIZE))))
    assert largest == wire.MAX_CLIENT_MESSAGE == len(p.input_message(0, bytes(abi.PLAYER.size)))
    assert p.decode_client(p.hash_message(7, bytes(wire.HASH_SIZE))) == p.Hash(7, bytes(wire.HASH_SIZE))


def test_close_codes_are_distinct_and_the_final_ones_are_known() -> None:
    codes = {name: value for name, value in vars(wire).items() if name.startswith("CLOSE_") and isinstance(value, int)}
    assert len(set(codes.values())) == len(codes)
    assert set(wire.NO_RETRY) <= set(codes.values()) and wire.CLOSE_TRY_AGAIN not in wire.NO_RETRY
    assert set(wire.CLOSE_MEANINGS) <= set(codes.values())
    assert 4000 <= wire.CLOSE_ELSEWHERE < 5000  # RFC 6455: the private-use range
    types = [wire.HELLO, wire.INPUT, wire.HASH, wire.WELCOME, wire.STATE, wire.FRAME]
    assert len(set(types)) == len(types) and all(0 < t < 256 for t in types)
