"""ThreadCpu: the CPU time one thread of another process has used, for deadlines that must not count
the time a loaded machine keeps that thread waiting.

Linux keeps each thread's CPU time in nanoseconds in ``/proc/PID/task/TID/schedstat`` (its first
field); the file stays open and each read is one ``pread``, about 2 µs. Where there is no such file
(other systems, or a kernel without scheduler statistics) ``ThreadCpu.open`` returns None and the
caller keeps wall-clock time.
"""

from __future__ import annotations

import os


class ThreadCpu:
    """An open handle on thread ``tid`` of process ``pid``'s CPU clock."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    @classmethod
    def open(cls, pid: int, tid: int | None = None) -> ThreadCpu | None:
        """The clock of thread ``tid`` (the process's main thread by default), or None where the
        system keeps none to read."""
        try:
            fd = os.open(f"/proc/{pid}/task/{pid if tid is None else tid}/schedstat", os.O_RDONLY)
        except OSError:
            return None
        clock = cls(fd)
        if clock.seconds() is None:
            clock.close()
            return None
        return clock

    def seconds(self) -> float | None:
        """The CPU time the thread has used, or None once it is gone."""
        try:
            fields = os.pread(self._fd, 128, 0).split()
        except OSError:
            return None
        return int(fields[0]) / 1e9 if fields else None

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> ThreadCpu:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
