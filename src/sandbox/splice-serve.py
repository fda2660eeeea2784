# bulkhead's long-lived one-way splice relay (egress-splice.ts starts one per
# egress proxy). Node hands it, over node's own IPC channel, the two sockets of
# each checked plain-HTTP answer (the far side, then the client); it moves the
# answer's body far side -> pipe -> client with splice(2), inside the kernel,
# never the other way: the request side stays with node. Started once, so
# python's start-up (a tenth of a second of CPU) is not paid per answer, which
# is what kept splice-relay.py from being the default.
#
# Two-way too: a raw tunnel's two sockets ("both": true on the "from" message)
# move both ways, each direction's EOF passed on as a half-close, {"done"} once
# both have ended.
#
# Node's IPC channel: JSON lines; a message carrying a socket arrives as
# {"cmd":"NODE_HANDLE","type":"net.Socket","msg":...} with the descriptor in
# SCM_RIGHTS, and node sends the next socket only once it reads
# {"cmd":"NODE_HANDLE_ACK"}. Messages from node: {"id","role":"from","length"}
# (length null: to the far side's EOF), {"id","role":"to"}, {"stop": id}.
# To node: {"ready": true} at start; {"done": id} once a body has moved (or failed) and both of this
# process's descriptors for it are closed; the client's writing half is shut
# first on success, which is the client's end of the answer.
import errno
import fcntl
import json
import os
import select
import socket
import sys

if not hasattr(os, "splice"):
    sys.exit(3)  # python < 3.10

PIPE_SIZE = 1 << 20
FLAGS = os.SPLICE_F_MOVE | os.SPLICE_F_NONBLOCK
channel = socket.socket(fileno=int(os.environ["NODE_CHANNEL_FD"]))
channel.setblocking(True)


class Body:
    def __init__(self, ident, src, length, both=False):
        self.id = ident
        self.key = ident  # the reverse direction of a two-way body is keyed (id, "back")
        self.both = both
        self.src = src
        self.dst = None
        self.left = length  # None: to the EOF
        self.read_end, self.write_end = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            fcntl.fcntl(self.write_end, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
        except OSError:
            pass
        self.size = fcntl.fcntl(self.write_end, fcntl.F_GETPIPE_SZ)
        self.pending = 0
        self.eof = length == 0

    def wants_read(self):
        return self.dst is not None and not self.eof and self.pending < self.size

    def read(self):
        n = self.size - self.pending
        if self.left is not None:
            n = min(n, self.left)
        moved = os.splice(self.src, self.write_end, n, flags=FLAGS)
        if moved == 0:
            self.eof = True
        self.pending += moved
        if self.left is not None:
            self.left -= moved
            if self.left == 0:
                self.eof = True

    def write(self):
        self.pending -= os.splice(self.read_end, self.dst, self.pending, flags=FLAGS)

    def finished(self):
        return self.eof and self.pending == 0

    def close(self, ok):
        if ok and self.dst is not None:
            shut = socket.socket(fileno=self.dst)
            try:
                shut.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            shut.detach()
        for fd in (self.src, self.dst, self.read_end, self.write_end):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass


bodies = {}
inbox = b""
halves = {}  # id -> directions of a two-way body still moving


def send(message):
    channel.sendall((json.dumps(message) + "\n").encode())


def end(body, ok):
    bodies.pop(body.key, None)
    body.close(ok)
    if body.both:
        left = halves.get(body.id, 0) - 1
        if not ok:
            # One direction failed: the tunnel ends both ways.
            other = bodies.pop((body.id, "back") if body.key == body.id else body.id, None)
            if other is not None:
                other.close(False)
            left = 0
        if left > 0:
            halves[body.id] = left
            return
        halves.pop(body.id, None)
    send({"done": body.id})


def on_message(message, fds):
    if message.get("cmd") == "NODE_HANDLE":
        send({"cmd": "NODE_HANDLE_ACK"})
        inner = message.get("msg") or {}
        fd = fds.pop(0) if fds else None
        if fd is None:
            return
        ident = inner.get("id")
        if ident in halves:
            os.close(fd)
        elif inner.get("role") == "from" and ident not in bodies:
            bodies[ident] = Body(ident, fd, inner.get("length"), bool(inner.get("both")))
        elif inner.get("role") == "to" and ident in bodies and bodies[ident].dst is None:
            forth = bodies[ident]
            if forth.both:
                # The way back gets its own copies: each direction closes its own when it ends.
                back = Body(ident, os.dup(fd), None, True)
                back.key = (ident, "back")
                back.dst = os.dup(forth.src)
                bodies[back.key] = back
                halves[ident] = 2
            forth.dst = fd
        else:
            os.close(fd)
    elif message.get("cmd") == "NODE_SOCKET_NOTIFY_CLOSE":
        # A socket sent from a server's connection makes node count this process as one of the
        # server's workers; the server's close waits for this answer. Node still holds (and
        # counts) its own copy of every socket, so for this process there is nothing to wait for.
        send({"cmd": "NODE_SOCKET_ALL_CLOSED", "key": message.get("key")})
    elif message.get("cmd") == "NODE_SOCKET_GET_COUNT":
        send({"cmd": "NODE_SOCKET_COUNT", "key": message.get("key"), "count": 0})
    elif "stop" in message:
        # A two-way body whose one direction has ended is left as its way back.
        body = bodies.get(message["stop"]) or bodies.get((message["stop"], "back"))
        if body is not None:
            end(body, False)


def read_channel():
    global inbox
    data, ancillary, _flags, _addr = channel.recvmsg(65536, socket.CMSG_SPACE(16 * 4))
    if not data:
        sys.exit(0)  # node is gone; the kernel closes every descriptor
    fds = []
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            usable = len(payload) - len(payload) % 4
            fds.extend(int.from_bytes(payload[i : i + 4], sys.byteorder) for i in range(0, usable, 4))
    inbox += data
    while b"\n" in inbox:
        line, inbox = inbox.split(b"\n", 1)
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if isinstance(message, dict):
            on_message(message, fds)
    for fd in fds:  # a descriptor no message claimed
        os.close(fd)


def main():
    # Started at nice 19 by a root launcher (start-up only): the relay itself runs at the normal priority.
    try:
        if os.getpriority(os.PRIO_PROCESS, 0) > 0:
            os.setpriority(os.PRIO_PROCESS, 0, 0)
    except OSError:
        pass
    send({"ready": True})
    while True:
        poller = select.poll()
        poller.register(channel.fileno(), select.POLLIN)
        wanted = {}
        for body in bodies.values():
            if body.wants_read():
                wanted[body.src] = wanted.get(body.src, 0) | select.POLLIN
            if body.pending > 0:
                wanted[body.dst] = wanted.get(body.dst, 0) | select.POLLOUT
        for fd, mask in wanted.items():
            poller.register(fd, mask)
        ready = dict(poller.poll())
        if ready.get(channel.fileno(), 0):
            read_channel()
        for body in list(bodies.values()):
            if body.key not in bodies:
                continue
            try:
                if body.wants_read() and ready.get(body.src, 0):
                    body.read()
                if body.pending > 0 and ready.get(body.dst, 0) & (select.POLLOUT | select.POLLERR | select.POLLHUP):
                    body.write()
            except BlockingIOError:
                pass
            except OSError as e:
                if e.errno not in (errno.EAGAIN, errno.EWOULDBLOCK):
                    end(body, False)
                    continue
            if body.finished():
                end(body, True)


main()
