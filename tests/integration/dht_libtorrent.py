#!/usr/bin/env python3
"""Interoperability of our DHT node (common/dht.c, run as wgr-dht) with libtorrent's.

On loopback only (never the public DHT): three wgr-dht nodes and two libtorrent sessions
bootstrapped from our first node. Checked, both ways:
  - BEP 44: libtorrent puts a salted mutable item that our node gets and verifies; our node
    puts one that libtorrent gets, and libtorrent's storage accepts (verifies) our put;
  - BEP 5: libtorrent announces an infohash that our node finds with get_peers; our node
    announces one that libtorrent finds.
Bounded to 60 s; every process it starts is killed on exit. Exit 77 (skip) without the
libtorrent Python module.

    dht_libtorrent.py PATH-TO-wgr-dht
"""
import hashlib
import os
import select
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lt_private  # noqa: E402 (exits 77 without libtorrent)
from lt_private import SALT, lt  # noqa: E402

DEADLINE = time.monotonic() + 60
PROCS = []


def left(cap):
    """Seconds to wait: at most cap, never past the test's deadline."""
    return max(0.0, min(cap, DEADLINE - time.monotonic()))


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


class Node:
    """One wgr-dht process, spoken to line by line."""

    def __init__(self, binary, bind, boot, seed=None):
        args = [binary, "--bind", bind] + sum((["--bootstrap", b] for b in boot), [])
        if seed:
            args += ["--seed", seed]
        self.name = bind
        self.p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True, bufsize=1)
        PROCS.append(self.p)
        self.buf = ""
        first = self.expect("id ", 5).split()
        self.id, self.pk = first[1], first[3]

    def send(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()

    def expect(self, prefix, cap):
        """The next output line starting with prefix, within cap seconds."""
        end = time.monotonic() + left(cap)
        while True:
            while "\n" in self.buf:
                line, self.buf = self.buf.split("\n", 1)
                if line.startswith(prefix):
                    return line
            t = end - time.monotonic()
            if t <= 0 or not select.select([self.p.stdout], [], [], t)[0]:
                fail("%s: no '%s' line in time" % (self.name, prefix))
            data = os.read(self.p.stdout.fileno(), 65536).decode()
            if not data:
                fail("%s: exited" % self.name)
            self.buf += data

    def ask(self, cmd, prefix, cap=20):
        self.send(cmd)
        return self.expect(prefix, cap)


def lt_session(ip, port, boot):
    # more than libtorrent's default of 5 packets a second from one node before it bans it
    return lt_private.session("%s:%d" % (ip, port), boot, dht_block_ratelimit=1000)


def lt_wait(ses, want, cap):
    """Alerts until want(alert) returns a value that is not None."""
    return lt_private.wait(ses, want, cap, DEADLINE)


def expanded_secret(seed):
    """libtorrent's Ed25519 secret key: SHA-512 of the seed, clamped (RFC 8032 5.1.5)."""
    h = bytearray(hashlib.sha512(seed).digest())
    h[0] &= 248
    h[31] &= 63
    h[31] |= 64
    return bytes(h)


def main(tmp):
    binary = sys.argv[1]
    base = 20000 + os.getpid() % 20000
    ours = ["127.0.0.%d:%d" % (i, base) for i in (2, 3, 4)]
    our_seed = "11" * 32
    lt_seed = bytes([0x22] * 32)
    n = [Node(binary, ours[0], [ours[1]]),
         Node(binary, ours[1], [ours[0]], our_seed),
         # its public key is the one libtorrent signs with (same seed): no Ed25519 in Python
         Node(binary, ours[2], [ours[0]], lt_seed.hex())]
    lt_pk, lt_sk = bytes.fromhex(n[2].pk), expanded_secret(lt_seed)
    s1 = lt_session("127.0.0.10", base + 1, ours[0])
    s2 = lt_session("127.0.0.11", base + 2, ours[0])
    for s in (s1, s2):
        if lt_private.bootstrapped(s, 15, DEADLINE) is None:
            fail("libtorrent did not bootstrap from our node")
    time.sleep(left(2))

    # BEP 44, libtorrent -> us
    s1.dht_put_mutable_item(lt_sk, lt_pk, b"value from libtorrent", SALT)
    ok = lt_wait(s1, lambda a: a.num_success if isinstance(a, lt.dht_put_alert) else None, 20)
    print("libtorrent put: stored at %s nodes" % ok)
    if not ok:
        fail("libtorrent's put reached no node")
    line = n[0].ask("get %s %s" % (lt_pk.hex(), SALT.decode()), "get ")
    print("wgr-dht get: " + line)
    if line != "get ok seq=1 v=value from libtorrent":
        fail("our node did not get libtorrent's item")

    # BEP 44, us -> libtorrent
    line = n[1].ask("put %s 5 value from wgr-dht" % SALT.decode(), "put ")
    print("wgr-dht put: " + line)
    if not line.startswith("put ok") or int(line.split("=")[1]) < 4:
        fail("our put was not stored by both libtorrent sessions and our nodes")
    s2.dht_get_mutable_item(bytes.fromhex(n[1].pk), SALT)
    got = lt_wait(s2, lambda a: a if isinstance(a, lt.dht_mutable_item_alert) and
                  a.seq == 5 else None, 20)
    if got is None:
        fail("libtorrent did not get our item")
    item = got.item
    print("libtorrent get: seq=%d value=%r" % (got.seq, item.get("value")))
    if item.get("value") != b"value from wgr-dht" or item.get("salt") != SALT:
        fail("libtorrent got another value")

    # BEP 5, libtorrent -> us. The Python binding cannot pass dht_announce's flags, so
    # libtorrent announces the way it does for any torrent: one added by infohash alone.
    ih1 = hashlib.sha1(b"announced by libtorrent").digest()
    atp = lt.parse_magnet_uri("magnet:?xt=urn:btih:" + ih1.hex())
    atp.save_path = tmp
    s1.add_torrent(atp)
    end = time.monotonic() + left(25)
    while True:
        line = n[2].ask("get_peers %s" % ih1.hex(), "peers ")
        if "127.0.0.10:%d" % (base + 1) in line.split():
            break
        if time.monotonic() > end:
            fail("our node did not find libtorrent's announce: " + line)
        time.sleep(1)
    print("wgr-dht get_peers: " + line)

    # BEP 5, us -> libtorrent
    ih2 = hashlib.sha1(b"announced by wgr-dht").digest()
    line = n[0].ask("announce %s 7878" % ih2.hex(), "announce ")
    print("wgr-dht announce: " + line)
    if not line.startswith("announce ok"):
        fail("our announce failed")
    s2.dht_get_peers(lt.sha1_hash(ih2))
    peers = lt_wait(s2, lambda a: a.peers() if isinstance(a, lt.dht_get_peers_reply_alert)
                    else None, 20)
    print("libtorrent get_peers: %r" % peers)
    if not peers or ("127.0.0.2", 7878) not in [tuple(p) for p in peers]:
        fail("libtorrent did not find our announce")
    for x in n:
        print(x.ask("stats", "stats "))
    print("PASS")
    return 0


if __name__ == "__main__":
    try:
        with tempfile.TemporaryDirectory() as tmpdir:
            rc = main(tmpdir)
    finally:
        for p in PROCS:
            p.kill()
            p.wait()
    sys.exit(rc)
