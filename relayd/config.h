/* config.h: wgrelayd settings: embedded defaults, wgrelayd.conf, then command-line flags. */
#ifndef WGR_RELAYD_CONFIG_H
#define WGR_RELAYD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "descriptor.h"
#include "policy.h"
#include "turl.h"
#include "xdp.h"

#define CONFIG_MAX_LISTEN   8
#define CONFIG_MAX_SECRETS  8
#define CONFIG_DEFAULT_PATH "/etc/wgrelay/wgrelayd.conf"
#define CONFIG_DEFAULT_KEY  "/var/lib/wgrelay/wgrelayd.key"

/* [Relay] XdpInterface lines, and the longest name the kernel takes (IFNAMSIZ with its NUL). */
#define CONFIG_MAX_XDP_IF 8
#define CONFIG_IFNAME_LEN 16

enum auth_mode {
	AUTH_OPEN,
	AUTH_KEYS,
	AUTH_TOKEN,
};

struct limits {
	uint64_t max_reservations, max_reservations_per_client;
	uint64_t max_circuits, max_circuits_per_client;
	uint64_t circuit_duration_s;        /* 0: unlimited */
	uint64_t circuit_bytes;             /* 0: unlimited */
	uint64_t circuit_kbps;              /* 0: unlimited */
	uint64_t source_rate, source_burst; /* control frames per second per source */
	uint64_t idle_timeout_s;            /* a session with no traffic and no links */
	uint64_t max_links;                 /* links in all; unbound ones are evicted first */
	/* per source (IPv4 address, IPv6 /64) */
	uint64_t max_links_per_source, max_reservations_per_source, max_circuits_per_source;
	uint64_t max_packet; /* largest WireGuard datagram forwarded (UDP payload bytes) */
	/* multi-hop circuits (circuits.c): hops held in all, circuit ends on one link */
	uint64_t max_circuit_hops, max_circuit_hops_per_link, max_circuit_hops_per_source;
	bool limit_authenticated; /* apply duration/bytes to keys/token clients too */
};

/* [Network]: the relay network (wgrelayd.conf(5) "NETWORK"). */
#define CONFIG_MAX_PEERS    64
#define CONFIG_MAX_TRUSTED  64
#define CONFIG_NET_STR      64  /* Family: a descriptor string (DESC_MAX_STR) */
#define CONFIG_MAX_DHT_BOOT 8   /* DhtBootstrap lines (the DHT node keeps 8) */
#define CONFIG_DHT_HOST     256 /* a DhtBootstrap value: a DNS name and a port */
/* DescriptorLifetime at least this (seconds): republished every quarter, well above a tick. */
#define CONFIG_MIN_LIFETIME_S 60
#define CONFIG_MAX_PEER_URLS  4 /* stream URLs on a Peer line (BOOTLINE_MAX_URLS) */
struct net_peer_cfg {
	struct addr addr; /* the peer's control port */
	uint8_t key[32];  /* its Noise public key */
	/* Its stream endpoints, tried in order when UDP goes unanswered (PROTOCOL.md §10.2). */
	struct turl urls[CONFIG_MAX_PEER_URLS];
	uint8_t n_urls;
};
struct net_config {
	bool on;     /* resolved by config_load: Network, else any Peer, Advertise or Dht = on */
	int network; /* Network = on|off as written: 1, 0; -1 not given */
	struct net_peer_cfg peers[CONFIG_MAX_PEERS];
	int n_peers;
	uint8_t trusted[CONFIG_MAX_TRUSTED][32]; /* identity (Ed25519) public keys */
	int n_trusted;
	uint64_t min_links, max_links;
	uint64_t heartbeat_s, link_timeout_s, reconnect_s, max_retries;
	struct addr advertise; /* len 0: not given (the Listen address when it is specific) */
	char country[3];       /* "" none */
	bool has_location;
	int32_t lat_e6, lon_e6;
	char family[CONFIG_NET_STR];
	uint64_t bandwidth_kbps;
	uint64_t lifetime_s; /* DescriptorLifetime, in seconds */
	uint64_t store_size;
	uint64_t anti_entropy_s;
	/* The Mainline DHT (relayd/netdht.c, PROTOCOL.md §11) */
	bool dht;               /* Dht = on */
	bool dht_announce;      /* DhtAnnounce: announce and put, not only look up */
	struct addr dht_listen; /* len 0: the first IPv4 Listen address, its port + 1 */
	char dht_boot[CONFIG_MAX_DHT_BOOT][CONFIG_DHT_HOST]; /* DhtBootstrap HOST:PORT */
	int n_dht_boot;
	/* Proxy: every relay link we dial goes through it over a stream; kind NONE: not set */
	struct turl_proxy proxy;
};

/* [Transport]: stream listeners (wgrelayd.conf(5) "TRANSPORT", PROTOCOL.md §12). */
#define CONFIG_MAX_STREAM_LISTEN    4
#define CONFIG_MAX_STREAM_ADVERTISE 4
struct transport_config {
	struct addr listen[CONFIG_MAX_STREAM_LISTEN]; /* none: no stream listener */
	int n_listen;
	char ws_path[DESC_MAX_STR];       /* WebSocketPath: starts with '/' */
	char tls_cert[512], tls_key[512]; /* both "": a self-signed certificate made at start */
	uint64_t max_connections;         /* all stream connections */
	uint64_t max_per_source;          /* per IPv4 address, IPv6 /64 */
	uint64_t handshake_timeout_s;     /* accept to records flowing (TLS, WebSocket) */
	uint64_t queue_bytes;             /* output queue per connection */
	/* Advertise: what the descriptor names after the UDP endpoint (TCP, TLS, WSS, onion). */
	struct desc_endpoint advertise[CONFIG_MAX_STREAM_ADVERTISE];
	int n_advertise;
};

struct conf;
/*
 * Apply [Transport] of f over t (config_transport.c); the defaults are config_defaults'.
 * 0, or -EINVAL with err = "FILE:LINE: message 'token' for Key".
 */
int config_transport(struct transport_config *t, const struct conf *f, char *err, size_t errlen);

/* [Libp2p]: the libp2p Circuit Relay v2 listener (wgrelayd.conf(5) "LIBP2P", docs/LIBP2P.md). */
struct libp2p_config {
	struct addr listen;                   /* len 0: off (the default) */
	uint64_t max_reservations;            /* in all */
	uint64_t max_reservations_per_peer;   /* one peer id over several connections */
	uint64_t max_reservations_per_source; /* per IPv4 address / IPv6 /64 (peers behind a NAT) */
	uint64_t max_circuits;                /* in all */
	uint64_t max_circuits_per_peer;       /* counted at both ends */
	uint64_t circuit_duration_s;          /* 0: no limit (none sent) */
	uint64_t circuit_bytes;               /* 0: no limit (none sent) */
	uint64_t reservation_ttl_s;           /* a reservation's life from its (re)newal */
	uint64_t max_connections;             /* libp2p TCP connections in all */
	uint64_t max_connections_per_source;  /* per IPv4 address / IPv6 /64 */
	uint64_t handshake_timeout_s;         /* accept to yamux up */
	uint64_t max_streams;                 /* yamux streams per connection */
	uint64_t idle_timeout_s;              /* idle this long: closed (0: never) */
};

/*
 * Apply [Libp2p] of f over l (config_libp2p.c); the defaults are config_defaults'.
 * 0, or -EINVAL / -ERANGE with err = "FILE:LINE: message 'token' for Key".
 */
int config_libp2p(struct libp2p_config *l, const struct conf *f, char *err, size_t errlen);
/*
 * A Listen value (also --libp2p-listen): ADDR:PORT, or "off" (a zero address). 0, -EINVAL
 * bad syntax or port, -EADDRNOTAVAIL a multicast or broadcast address.
 */
int config_libp2p_listen(struct addr *a, const char *s);

struct relayd_config {
	struct addr listen[CONFIG_MAX_LISTEN];
	int n_listen;
	uint16_t port_lo, port_hi;
	bool mode_direct, mode_sealed;
	enum auth_mode auth;
	char allowed_keys_file[512];
	char secrets[CONFIG_MAX_SECRETS][256];
	int n_secrets;
	uint64_t token_max_lifetime_s;
	struct limits limits;
	struct policy policy;
	char key_file[512];
	char identity_file[512]; /* "": the key file's directory + "/identity" */
	char user[64];
	char metrics[64]; /* "off" or ADDR:PORT */
	uint64_t stats_interval_s;
	int workers;   /* direct-mode threads; 0: the control thread forwards; -1: one per CPU */
	bool coalesce; /* UDP GRO in, UDP_SEGMENT out on session sockets */
	unsigned busy_poll_us; /* spin this long after traffic before sleeping; 0 off */
	enum xdp_mode xdp;     /* the XDP fast path of direct mode (fastpath.c); off by default */
	char xdp_if[CONFIG_MAX_XDP_IF][CONFIG_IFNAME_LEN]; /* where; none: every up interface */
	int n_xdp_if;
	/*
	 * SessionSockets: false (each) gives every direct session a UDP socket of its own; true
	 * (shared) steers the session ports to one SO_REUSEPORT group of sockets (portshare.c).
	 */
	bool shared_ports;
	bool circuits; /* multi-hop circuits (PROTOCOL.md §13, circuits.c); off by default */
	struct net_config net;
	struct transport_config transport;
	struct libp2p_config libp2p;
};

#define CONFIG_MAX_WORKERS 64
/* 16 MiB: some 370,000 keys. */
#define CONFIG_MAX_ALLOWLIST (16u * 1024 * 1024)

/* Embedded defaults: what `wgrelayd` with no config file runs with. */
void config_defaults(struct relayd_config *c);
/*
 * Apply a config file over c. 0, or -errno with err = "FILE:LINE: message 'token'". When
 * must_exist is false, a missing file is not an error (the default path).
 */
int config_load(struct relayd_config *c, const char *path, bool must_exist, char *err,
                size_t errlen);
/*
 * Read an AllowedKeys file: one base64 public key per line, '#' comments and blank lines
 * allowed. The file must be a regular file (symbolic links followed, a FIFO refused at once;
 * common/file.h), at most CONFIG_MAX_ALLOWLIST bytes, lines at most FILE_MAX_LINE characters
 * (a longer line is an error, never split). Nothing global is touched, so a reload can read it
 * without the relay lock. 0 with *keys (malloc'd, NULL when empty) and *n set, or -errno with
 * err = "FILE:LINE: message" or "FILE: reason".
 */
int config_load_allowlist(const char *path, uint8_t (**keys)[32], size_t *n, char *err,
                          size_t errlen);
/* An Xdp value (also --xdp): off, auto, native or generic, any case; 0 or -EINVAL. */
int config_parse_xdp(const char *s, enum xdp_mode *m);
/* A SessionSockets value: each (false) or shared (true), any case; 0 or -EINVAL. */
int config_parse_session_sockets(const char *s, bool *shared);
/* Parse "LO-HI"; 0 or -EINVAL/-ERANGE. */
int config_parse_range(const char *s, uint16_t *lo, uint16_t *hi);
const char *config_auth_name(enum auth_mode m);
/*
 * The identity file's path: IdentityFile, else the key file's directory + "/identity" (so a
 * relay that names only its key file, or --state-dir, keeps both together). 0 or -ENAMETOOLONG.
 */
int config_identity_path(const struct relayd_config *c, char *out, size_t cap);
/*
 * The DHT socket's address: DhtListen, else the first IPv4 Listen address with its port + 1.
 * 0 with *out; -EADDRNOTAVAIL (no IPv4 Listen address), -ERANGE (port 65535 + 1) or
 * -EADDRINUSE (a Listen address's port on the same or a wildcard address).
 */
int config_dht_listen(const struct relayd_config *c, struct addr *out);
/* Parse "LAT,LON" in decimal degrees into microdegrees; 0 or -EINVAL / -ERANGE. */
int config_parse_location(const char *s, int32_t *lat_e6, int32_t *lon_e6);

#endif
