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

try:
    import libtorrent as lt
except ImportError:
    # The distribution's module is built for the distribution's interpreter, which may not be
    # the first python3 on PATH.
    SYSTEM_PYTHON = "/usr/bin/python3"
    if os.path.realpath(sys.executable) != os.path.realpath(SYSTEM_PYTHON) and \
            os.access(SYSTEM_PYTHON, os.X_OK) and not os.environ.get("WGR_DHT_REEXEC"):
        os.environ["WGR_DHT_REEXEC"] = "1"
        os.execv(SYSTEM_PYTHON, [SYSTEM_PYTHON] + sys.argv)
    print("SKIP: no libtorrent Python module")
    sys.exit(77)

DEADLINE = time.monotonic() + 30
SALT = b"wgrelay-descriptor"


def wait(ses, want, cap):
    """Alerts until want(alert) is not None: cap seconds at most, never past the deadline."""
    end = min(DEADLINE, time.monotonic() + cap)
    while time.monotonic() < end:
        ses.wait_for_alert(200)
        for a in ses.pop_alerts():
            r = want(a)
            if r is not None:
                return r
    return None


def main():
    ip, boot, identity = sys.argv[1], sys.argv[2], bytes.fromhex(sys.argv[3])
    ses = lt.session({
        "listen_interfaces": "%s:0" % ip,
        "enable_dht": True,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_outgoing_utp": False,
        "enable_incoming_utp": False,
        "dht_bootstrap_nodes": boot,
        # a private DHT on loopback: every node shares one address
        "dht_restrict_routing_ips": False,
        "dht_restrict_search_ips": False,
        "dht_prefer_verified_node_ids": False,
        "dht_ignore_dark_internet": False,
        "alert_mask": lt.alert.category_t.all_categories,
    })
    # No waiting for libtorrent's bootstrap to end (it waits out every dead node our nodes
    # name): a get sent early is simply sent again, each given a few seconds.
    wait(ses, lambda a: True if isinstance(a, lt.dht_bootstrap_alert) else None, 3)
    while time.monotonic() < DEADLINE:
        ses.dht_get_mutable_item(identity, SALT)
        got = wait(ses, lambda a: a if isinstance(a, lt.dht_mutable_item_alert) else None, 6)
        item = got.item if got else {}
        value = item.get("value")
        if isinstance(value, bytes) and got.seq > 0 and bytes(item.get("key", b"")) == identity:
            print("item %d %s" % (got.seq, value.hex()))
            return 0
    print("none")
    return 1


if __name__ == "__main__":
    sys.exit(main())
