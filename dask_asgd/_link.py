"""What a TCP socket's kernel says about its link: the bytes the peer has not acknowledged yet,
and a pacing rate to emulate a slow link in tests.

A write to a socket returns once the bytes are in the kernel's send buffer, which holds
megabytes: on a slow link, the time a write takes says nothing of the link's rate.  The bytes
still in the send queue (written, not yet acknowledged by the peer's kernel) do: a message has
crossed the link once none of its bytes are left there.  Linux reports them through the
``SIOCOUTQ`` ioctl (``TIOCOUTQ``); elsewhere ``unacked_bytes`` returns None and the sender falls
back to timing its writes.
"""

from __future__ import annotations

import socket
import struct
import sys

try:
    import fcntl
    import termios

    _OUTQ = termios.TIOCOUTQ if sys.platform.startswith("linux") else None
except ImportError:  # not a POSIX system
    fcntl = termios = None
    _OUTQ = None

# Linux's SO_MAX_PACING_RATE: the kernel paces the socket's packets at most at this many bytes/s
SO_MAX_PACING_RATE = 47
UNLIMITED_PACING = 0xFFFFFFFF  # the kernel's "no limit" for the 32-bit option


def unacked_bytes(sock) -> int | None:
    """Bytes written to ``sock`` that its peer has not acknowledged yet; None where the system
    cannot tell (not Linux, not a socket, a closed socket)."""
    if sock is None or _OUTQ is None:
        return None
    try:
        return struct.unpack("i", fcntl.ioctl(sock.fileno(), _OUTQ, b"\0\0\0\0"))[0]
    except (OSError, ValueError):
        return None


def set_pacing_rate(sock, rate) -> bool:
    """Limit ``sock`` to ``rate`` bytes/s in the kernel (None: no limit); whether it took.  The
    kernel then delivers at that rate while writes still fill the send buffer at once, as on a
    real slow link."""
    if sock is None or not sys.platform.startswith("linux"):
        return False
    value = UNLIMITED_PACING if rate is None else max(1, min(int(rate), UNLIMITED_PACING - 1))
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_MAX_PACING_RATE, struct.pack("I", value))
    except (OSError, ValueError):
        return False
    return True
