/* config.h: wgrelayd settings: embedded defaults, wgrelayd.conf, then command-line flags. */
#ifndef WGR_RELAYD_CONFIG_H
#define WGR_RELAYD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "policy.h"

#define CONFIG_MAX_LISTEN   8
#define CONFIG_MAX_SECRETS  8
#define CONFIG_DEFAULT_PATH "/etc/wgrelay/wgrelayd.conf"
#define CONFIG_DEFAULT_KEY  "/var/lib/wgrelay/wgrelayd.key"

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
	uint64_t max_packet;      /* largest WireGuard datagram forwarded (UDP payload bytes) */
	bool limit_authenticated; /* apply duration/bytes to keys/token clients too */
};

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
	char user[64];
	char metrics[64]; /* "off" or ADDR:PORT */
	uint64_t stats_interval_s;
	int workers;   /* direct-mode threads; 0: the control thread forwards; -1: one per CPU */
	bool coalesce; /* UDP GRO in, UDP_SEGMENT out on session sockets */
	unsigned busy_poll_us; /* spin this long after traffic before sleeping; 0 off */
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
/* Parse "LO-HI"; 0 or -EINVAL/-ERANGE. */
int config_parse_range(const char *s, uint16_t *lo, uint16_t *hi);
const char *config_auth_name(enum auth_mode m);

#endif
