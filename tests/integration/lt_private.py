"""libtorrent sessions on a private DHT on loopback, for the DHT interoperability tests.

Shared by dht_libtorrent.py and netdht_get.py, which put this file's directory on sys.path.
Importing it imports libtorrent (as lt): without the Python module the calling script is run
again under the distribution's interpreter, and failing that exits 77 (the tests' skip code).
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

# The salt of a relay's descriptor item (PROTOCOL.md §11.2).
SALT = b"wgrelay-descriptor"


def session(listen, boot, **extra):
    """A DHT-only session listening on listen ("IP:PORT"), bootstrapped from boot alone.

    extra: more settings_pack names and values, for what one test alone needs.
    """
    settings = {
        "listen_interfaces": listen,
        "enable_dht": True,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_outgoing_utp": False,
        "enable_incoming_utp": False,
        "dht_bootstrap_nodes": boot,
        # a private DHT on loopback: the nodes share one address or one /24, which the
        # public DHT's rules against Sybil attacks would refuse
        "dht_restrict_routing_ips": False,
        "dht_restrict_search_ips": False,
        "dht_prefer_verified_node_ids": False,
        "dht_ignore_dark_internet": False,
        "alert_mask": lt.alert.category_t.all_categories,
    }
    settings.update(extra)
    return lt.session(settings)


def wait(ses, want, cap, deadline):
    """Alerts until want(alert) returns a value that is not None: that value, or None after
    cap seconds or at the monotonic time deadline, whichever comes first."""
    end = min(deadline, time.monotonic() + cap)
    while time.monotonic() < end:
        ses.wait_for_alert(200)
        for a in ses.pop_alerts():
            r = want(a)
            if r is not None:
                return r
    return None


def bootstrapped(ses, cap, deadline):
    """True once ses has said its DHT bootstrap ended, None when it did not in time."""
    return wait(ses, lambda a: True if isinstance(a, lt.dht_bootstrap_alert) else None, cap,
                deadline)
