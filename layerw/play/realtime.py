"""Realtime: asking the OS to schedule a thread (a speaker's device thread) ahead of ordinary work,
and saying what it answered.

miniaudio asks for its own thread's priority, but on Linux it does so within SCHED_OTHER, where
the priority means nothing, and fails quietly. Here the thread asks for SCHED_RR at the lowest
realtime priority, else for a lower nice value; both need privilege (CAP_SYS_NICE, or an
``rtprio``/``nice`` limit in /etc/security/limits.conf). The answer is kept, never swallowed: the
speaker logs it, and the bench prints it beside the latency it measured.
"""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass

NICE = -10  # what a desktop audio server asks for without realtime


@dataclass(frozen=True)
class Priority:
    """What the thread got: ``how`` names the scheduling it runs under, ``why`` what was refused."""

    raised: bool
    how: str
    why: str = ""

    def describe(self) -> str:
        return f"audio thread at {self.how}" + (f" ({self.why})" if self.why else "")


def raise_priority(tid: int | None = None) -> Priority:
    """Raise a thread's scheduling priority as far as this process may (SCHED_RR, else nice NICE):
    thread ``tid`` of this process (a Linux thread id), else the calling thread's. What was refused
    and why is in the answer."""
    if not sys.platform.startswith("linux"):
        return Priority(False, "the default priority", f"raising it is not done on {sys.platform}")
    if tid is None:
        tid = threading.get_native_id()  # Linux schedules threads one by one: this one, not the process
    refused = []
    try:
        os.sched_setscheduler(tid, os.SCHED_RR, os.sched_param(os.sched_get_priority_min(os.SCHED_RR)))
        return Priority(True, "SCHED_RR (realtime)")
    except OSError as e:
        refused.append(f"SCHED_RR refused: {e.strerror}")
    try:
        os.setpriority(os.PRIO_PROCESS, tid, NICE)
        return Priority(True, f"nice {NICE}", refused[0])
    except OSError as e:
        refused.append(f"nice {NICE} refused: {e.strerror}")
    return Priority(False, f"nice {os.getpriority(os.PRIO_PROCESS, tid)}",
                    "; ".join(refused) + "; grant CAP_SYS_NICE or an rtprio limit to raise it")
