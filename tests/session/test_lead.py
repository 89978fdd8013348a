"""Lead (time sync): as far ahead as the round trip needs, up at once, down gently, on through late frames."""

from __future__ import annotations

from layerw.session.lead import Lead


def test_the_lead_follows_the_round_trip_up_at_once_and_down_a_tick_a_second() -> None:
    lead = Lead(60, input_delay=0, window=8)
    lead.frame(100.0)  # frames arrive on time throughout (late frames are the last test's)
    assert lead.target(0.0) == 0
    lead.round_trip(0.100, now=0.0)  # 6 ticks at 60 Hz, plus a margin of one
    assert lead.target(0.0) == 7 and lead.rtt == 0.100
    targets = []
    for n in range(8):  # the round trip falls to 20 ms: 2 ticks (1.2, rounded up) plus the margin
        lead.round_trip(0.020, now=1.0 + n)
        targets.append(lead.target(1.0 + n))
    assert targets == [7, 7, 6, 5, 4, 3, 3, 3]  # one spike is ignored once 4 are known; down a tick a second
    lead.round_trip(0.300, now=9.0)
    assert lead.target(9.0) == 3  # one spike (a retransmission) is not planned for
    lead.round_trip(0.300, now=9.5)
    assert lead.target(9.5) == 8  # two are: up at once, but never past the window


def test_input_delay_is_lead_the_room_already_gives() -> None:
    lead = Lead(60, input_delay=2, window=8)
    lead.frame(0.0)
    lead.round_trip(0.100, now=0.0)
    assert lead.target(0.0) == 5


def test_late_frames_add_a_tick_per_period_and_a_fixed_lead_ignores_round_trips() -> None:
    lead = Lead(60, input_delay=0, window=8, fixed=3)
    lead.round_trip(0.5, now=0.0)
    lead.frame(10.0)
    assert lead.target(10.0) == 3 and lead.rtt == 0.0
    assert lead.target(10.0 + 1.6 / 60) == 4  # over one and a half periods without a frame
    assert lead.target(10.0 + 20 / 60) == 8  # capped by the window
    assert abs(lead.next_change(10.0) - 1.5 / 60) < 1e-9
