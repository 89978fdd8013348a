"""Realtime: the calling thread asks for realtime scheduling, else a lower nice value, and the
answer says what it got or why each was refused (never a silent fallback)."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from layerw.play.realtime import NICE, raise_priority


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="threads are scheduled one by one on Linux")
def test_a_thread_gets_what_the_os_grants_and_says_why_not() -> None:
    before = os.sched_getscheduler(0), os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    got = []
    worker = threading.Thread(target=lambda: got.append((raise_priority(), os.sched_getscheduler(0),
                                                         os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))))
    worker.start()
    worker.join(10)
    (priority, policy, nice), = got
    if priority.how.startswith("SCHED_RR"):
        assert priority.raised and policy == os.SCHED_RR
    elif priority.raised:
        assert nice == NICE and "SCHED_RR refused" in priority.why
    else:
        assert "SCHED_RR refused" in priority.why and f"nice {NICE} refused" in priority.why and "CAP_SYS_NICE" in priority.why
        assert priority.how == f"nice {nice}"
    assert (os.sched_getscheduler(0), os.getpriority(os.PRIO_PROCESS, threading.get_native_id())) == before  # that thread only
