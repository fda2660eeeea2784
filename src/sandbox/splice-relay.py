# bulkhead's zero-copy tunnel relay (egress-relay.ts starts it once the egress
# proxy has decided a CONNECT tunnel). Copies the connected sockets on fd 3
# and fd 4 both ways with splice(2) through a pipe per direction: the bytes go
# socket -> pipe -> socket inside the kernel and never through user space,
# which on a loaded host leaves the CPU to the endpoints.
#
# Half-close: when one side reaches EOF, the other side's writing half is shut
# (SHUT_WR) once every byte read before the EOF has been written; the relay
# exits when both directions are done, and at once on any error (the kernel
# then closes both sockets).
#
# Not the default relay: python's start-up on every tunnel costs more CPU and
# latency than splicing saves below tens of MB (egress-relay.ts).
import errno
import fcntl
import os
import select
import socket
import sys

if not hasattr(os, "splice"):
    sys.exit(3)  # python < 3.10

PIPE_SIZE = 1 << 20
FLAGS = os.SPLICE_F_MOVE | os.SPLICE_F_NONBLOCK
AGAIN = (errno.EAGAIN, errno.EWOULDBLOCK)


class Direction:
    def __init__(self, src, dst):
        self.src = src
        self.dst = dst
        self.read_end, self.write_end = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            # A larger pipe moves more per splice; refused past pipe-max-size, then the default.
            fcntl.fcntl(self.write_end, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
        except OSError:
            pass
        self.size = fcntl.fcntl(self.write_end, fcntl.F_GETPIPE_SZ)
        self.pending = 0  # bytes in the pipe, read from src, not yet written to dst
        self.eof = False
        self.done = False

    def wants_read(self):
        return not self.eof and self.pending < self.size

    def wants_write(self):
        return self.pending > 0

    def read(self):
        try:
            n = os.splice(self.src.fileno(), self.write_end, self.size - self.pending, flags=FLAGS)
        except BlockingIOError:
            return
        if n == 0:
            self.eof = True
        self.pending += n

    def write(self):
        try:
            n = os.splice(self.read_end, self.dst.fileno(), self.pending, flags=FLAGS)
        except BlockingIOError:
            return
        self.pending -= n

    def finish_if_drained(self):
        if self.eof and self.pending == 0 and not self.done:
            self.done = True
            try:
                self.dst.shutdown(socket.SHUT_WR)
            except OSError as e:
                if e.errno != errno.ENOTCONN:
                    raise


def relay(a, b):
    directions = (Direction(a, b), Direction(b, a))
    poller = select.poll()
    while not all(d.done for d in directions):
        masks = {}
        for d in directions:
            if d.wants_read():
                masks[d.src.fileno()] = masks.get(d.src.fileno(), 0) | select.POLLIN
            if d.wants_write():
                masks[d.dst.fileno()] = masks.get(d.dst.fileno(), 0) | select.POLLOUT
        for fd in (a.fileno(), b.fileno()):
            if fd in masks:
                poller.register(fd, masks[fd])
            else:
                try:
                    poller.unregister(fd)
                except KeyError:
                    pass
        ready = dict(poller.poll())
        for d in directions:
            events = ready.get(d.src.fileno(), 0)
            # HUP and ERR are read too: the splice then returns the EOF or raises the error.
            if d.wants_read() and events & (select.POLLIN | select.POLLHUP | select.POLLERR):
                d.read()
            if d.wants_write() and ready.get(d.dst.fileno(), 0) & (select.POLLOUT | select.POLLERR):
                d.write()
            d.finish_if_drained()


def main():
    a = socket.socket(fileno=3)
    b = socket.socket(fileno=4)
    for s in (a, b):
        s.setblocking(False)
    try:
        relay(a, b)
    except OSError:
        sys.exit(1)


main()
