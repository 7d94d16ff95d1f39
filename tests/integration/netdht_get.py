#!/usr/bin/env python3
"""libtorrent's DHT node gets a relay's descriptor item from wgrelayd's DHT (test_netdht).

A libtorrent session on loopback (never the public DHT) bootstraps from one relay's DHT port
and gets the BEP 44 mutable item of an identity key under the salt "wgrelay-descriptor"
(PROTOCOL.md §11.2). It prints one line: "item SEQ HEX" (HEX: the value's bytes, the
descriptor; libtorrent verified the item's signature before handing it over) or "none".
Bounded to 30 s. Exit 77 without the libtorrent Python module.

    netdht_get.py BIND-IP BOOTSTRAP-ADDR:PORT IDENTITY-HEX
"""
import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lt_private  # noqa: E402 (exits 77 without libtorrent)
from lt_private import lt  # noqa: E402

DEADLINE = time.monotonic() + 30


def main():
    ip, boot, identity = sys.argv[1], sys.argv[2], bytes.fromhex(sys.argv[3])
    ses = lt_private.session("%s:0" % ip, boot)
    # No waiting for libtorrent's bootstrap to end (it waits out every dead node our nodes
    # name): a get sent early is simply sent again, each given a few seconds.
    lt_private.bootstrapped(ses, 3, DEADLINE)
    while time.monotonic() < DEADLINE:
        ses.dht_get_mutable_item(identity, lt_private.SALT)
        got = lt_private.wait(
            ses, lambda a: a if isinstance(a, lt.dht_mutable_item_alert) else None, 6, DEADLINE)
        item = got.item if got else {}
        value = item.get("value")
        if isinstance(value, bytes) and got.seq > 0 and bytes(item.get("key", b"")) == identity:
            print("item %d %s" % (got.seq, value.hex()))
            return 0
    print("none")
    return 1


if __name__ == "__main__":
    sys.exit(main())
