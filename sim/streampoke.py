#!/usr/bin/env python3
"""streampoke.py HOST PORT PROBE [--tls] [--count N] [--hold S] [--wait S]

Bad input for a relay's stream listener (docs/PROTOCOL.md section 12), one probe a run, for
the stream-transport scenario. Prints one line "probe NAME: RESULT" and exits 0 when the relay
behaved (refused or closed as it should), 1 when it did not, 2 on a usage or setup error.
Probes (--tls first wraps the connection in TLS 1.3, verifying nothing, as the helper does):
  garbage     bytes no sniffer accepts: the relay closes at once
  silent      connect and send nothing: closed by the handshake timeout (within --wait)
  partial     the first 40 bytes of a real TLS ClientHello, then nothing: closed (timeout)
  bigrecord   a record header announcing 4097 bytes: closed
  ws-huge     a valid WebSocket upgrade, then a frame header announcing 2^63 bytes: closed
  headers     an upgrade request with 10,000 header lines: answered 431 (or closed), closed
  idle        --count connections from this address held --hold seconds: counts how many
              the relay closed early (its per-source cap) and how many stayed open
Stdlib only.
"""

import base64
import os
import resource
import socket
import ssl
import sys
import time


def connect(host, port, use_tls, timeout=5.0):
    s = socket.create_connection((host, port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if not use_tls:
        return s
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    return ctx.wrap_socket(s, server_hostname=None)


def wait_closed(s, limit):
    """Seconds until the peer closed (EOF or reset), reading and discarding what it sends;
    None when it was still open after limit seconds. Returns (seconds, first bytes seen)."""
    t0 = time.monotonic()
    seen = b""
    while True:
        left = limit - (time.monotonic() - t0)
        if left <= 0:
            return None, seen
        s.settimeout(left)
        try:
            d = s.recv(65536)
        except socket.timeout:
            return None, seen
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError, OSError):
            return time.monotonic() - t0, seen
        if not d:
            return time.monotonic() - t0, seen
        if len(seen) < 256:
            seen += d[: 256 - len(seen)]


def send_all(s, data):
    """Send, tolerating a relay that closes while we still write (it may refuse early)."""
    try:
        s.sendall(data)
        return True
    except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
        return False


def upgrade_head(host, extra=b""):
    key = base64.b64encode(os.urandom(16))
    return (b"GET /wgrelay HTTP/1.1\r\nHost: " + host.encode() + b"\r\n" + extra +
            b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
            b"\r\nSec-WebSocket-Version: 13\r\n\r\n")


def read_head(s, limit):
    buf = b""
    t0 = time.monotonic()
    while b"\r\n\r\n" not in buf and time.monotonic() - t0 < limit and len(buf) < 8192:
        s.settimeout(max(0.1, limit - (time.monotonic() - t0)))
        try:
            d = s.recv(4096)
        except (socket.timeout, OSError):
            break
        if not d:
            break
        buf += d
    return buf


def client_hello_prefix(n):
    """The first n bytes of a real ClientHello, taken from an in-memory TLS client."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_side=False)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = out.read()
    return hello[:n]


def result(name, ok, text):
    print("probe %s: %s%s" % (name, text, "" if ok else " (UNEXPECTED)"))
    sys.stdout.flush()
    return 0 if ok else 1


def probe_closes(name, s, data, limit):
    send_all(s, data)
    dt, seen = wait_closed(s, limit)
    s.close()
    if dt is None:
        return result(name, False, "still open after %.0f s" % limit)
    first = seen.split(b"\r\n", 1)[0].decode("latin-1") if seen else ""
    return result(name, True, "closed after %.2f s%s" % (dt, ", answered '%s'" % first if first else ""))


def probe_ws_huge(host, port, use_tls, limit):
    s = connect(host, port, use_tls)
    send_all(s, upgrade_head(host))
    head = read_head(s, limit)
    if not head.startswith(b"HTTP/1.1 101"):
        s.close()
        return result("ws-huge", False, "upgrade not accepted: %r" % head[:60])
    # FIN + binary, masked, 127: a 64-bit length follows; 2^63 (its top bit set, which RFC
    # 6455 forbids, and in any case far over the largest message), a mask, a few bytes
    hdr = bytes([0x82, 0xFF]) + (1 << 63).to_bytes(8, "big") + os.urandom(4) + b"\0" * 64
    send_all(s, hdr)
    dt, seen = wait_closed(s, limit)
    s.close()
    if dt is None:
        return result("ws-huge", False, "still open after %.0f s" % limit)
    code = ""
    if len(seen) >= 4 and seen[0] & 0x0F == 8:
        code = ", close frame %d" % int.from_bytes(seen[2:4], "big")
    return result("ws-huge", True, "closed after %.2f s%s" % (dt, code))


def probe_headers(host, port, use_tls, limit):
    s = connect(host, port, use_tls)
    pad = b"".join(b"X-Pad-%d: y\r\n" % i for i in range(10000))
    data = upgrade_head(host, pad)
    sent = send_all(s, data)
    dt, seen = wait_closed(s, limit)
    s.close()
    if dt is None:
        return result("headers", False, "still open after %.0f s" % limit)
    first = seen.split(b"\r\n", 1)[0].decode("latin-1") if seen else "nothing"
    ok = not seen.startswith(b"HTTP/1.1 101")
    return result("headers", ok, "%d bytes %s, answered '%s', closed after %.2f s" %
                  (len(data), "sent" if sent else "partly sent", first, dt))


def probe_idle(host, port, use_tls, count, hold):
    socks = []
    failed = 0
    # one descriptor a connection: raise the soft limit as far as the hard one allows
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = count + 64
    if soft != resource.RLIM_INFINITY and soft < want:
        if hard == resource.RLIM_INFINITY or hard >= want:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    for _ in range(count):
        try:
            s = socket.create_connection((host, port), timeout=5)
            socks.append(s)
        except OSError:
            failed += 1
    # a connection the relay refused is closed (EOF or reset) soon after it was accepted
    time.sleep(min(1.0, hold))
    t_end = time.monotonic() + max(0.0, hold - 1.0)
    early = 0
    for s in socks:
        s.setblocking(False)
    closed = set()
    for i, s in enumerate(socks):
        try:
            if s.recv(1, socket.MSG_PEEK) == b"":
                closed.add(i)
        except BlockingIOError:
            pass
        except OSError:
            closed.add(i)
    early = len(closed)
    while time.monotonic() < t_end:
        time.sleep(0.2)
    later = 0
    for i, s in enumerate(socks):
        if i in closed:
            continue
        try:
            if s.recv(1, socket.MSG_PEEK) == b"":
                later += 1
        except BlockingIOError:
            pass
        except OSError:
            later += 1
    for s in socks:
        s.close()
    opened = len(socks)
    return result("idle", early > 0, "%d connections (%d failed to connect): %d closed within 1 s, "
                  "%d more within %.0f s, %d still open" %
                  (count, failed, early, later, hold, opened - early - later))


def main(argv):
    args = argv[1:]
    opts = {"--tls": False, "--count": "300", "--hold": "5", "--wait": "15"}
    pos = []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--tls":
            opts[a] = True
        elif a in opts:
            if i + 1 >= len(args):
                print(__doc__, file=sys.stderr)
                return 2
            opts[a] = args[i + 1]
            i += 1
        else:
            pos.append(a)
        i += 1
    if len(pos) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    host, port, name = pos[0], int(pos[1]), pos[2]
    tls = opts["--tls"]
    limit = float(opts["--wait"])
    try:
        if name == "garbage":
            return probe_closes(name, connect(host, port, tls), b"\xff\xfe\xfdgarbage" * 8, limit)
        if name == "silent":
            return probe_closes(name, connect(host, port, tls), b"", limit)
        if name == "partial":
            return probe_closes(name, connect(host, port, False), client_hello_prefix(40), limit)
        if name == "bigrecord":
            return probe_closes(name, connect(host, port, tls), b"\x10\x01" + b"\0" * 64, limit)
        if name == "ws-huge":
            return probe_ws_huge(host, port, tls, limit)
        if name == "headers":
            return probe_headers(host, port, tls, limit)
        if name == "idle":
            return probe_idle(host, port, tls, int(opts["--count"]), float(opts["--hold"]))
    except (OSError, ssl.SSLError) as e:
        return result(name, False, "error: %s" % e)
    print("unknown probe %s" % name, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
