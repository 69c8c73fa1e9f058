"""Asking Linux for short time slices where acks are sent.

The serving process and its worker share the CPU (bot/worker.py): the worker runs at a
lower priority (`nice`) so the kernel gives the serving process the CPU whenever it has an
ack to send. But Linux's scheduler (EEVDF, since 6.6) lets a running task finish its time
slice (1.4 ms on this machine) before a task that just woke up takes the CPU, unless the
one waking asked for a shorter slice (`sched_setattr`'s `sched_runtime` for ordinary tasks,
since 6.12). So the serving process asks for the shortest, 0.1 ms, and its worker for the
default. Older kernels ignore the field; elsewhere nothing changes.
"""

from __future__ import annotations

import ctypes
import logging
import os
import platform
import struct
import sys

log = logging.getLogger(__name__)

SHORTEST_SLICE_NS = 100_000  # the kernel's floor
DEFAULT_SLICE = 0

_SCHED_SETATTR = {"x86_64": 314, "aarch64": 274}  # the syscall's number
_SCHED_FLAG_KEEP_POLICY = 0x08
_SCHED_ATTR = struct.Struct("IIQiIQQQ")  # struct sched_attr, as of Linux 3.14 (48 bytes)


def request_time_slice(nanoseconds: int) -> bool:
    """Asks for time slices of `nanoseconds` (DEFAULT_SLICE: the kernel's own) for this
    thread and the threads and processes it starts from now on, keeping its policy and
    nice; whether the call was accepted."""
    number = _SCHED_SETATTR.get(platform.machine())
    if not sys.platform.startswith("linux") or number is None:
        return False
    attr = _SCHED_ATTR.pack(_SCHED_ATTR.size, 0, _SCHED_FLAG_KEEP_POLICY, os.nice(0), 0,
                            nanoseconds, 0, 0)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        done = libc.syscall(number, 0, ctypes.create_string_buffer(attr), 0) == 0
    except (OSError, AttributeError):
        done = False
    if not done:
        log.debug("time slice not set", extra={"errno": ctypes.get_errno()})
    return done
