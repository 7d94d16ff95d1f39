/* config.h: wgrelayd settings: embedded defaults, wgrelayd.conf, then command-line flags. */
#ifndef WGR_RELAYD_CONFIG_H
#define WGR_RELAYD_CONFIG_H

#include <stdbool.h>
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
	bool limit_authenticated;           /* apply duration/bytes to keys/token clients too */
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

/* Embedded defaults: what `wgrelayd` with no config file runs with. */
void config_defaults(struct relayd_config *c);
/*
 * Apply a config file over c. 0, or -errno with err = "FILE:LINE: message 'token'". When
 * must_exist is false, a missing file is not an error (the default path).
 */
int config_load(struct relayd_config *c, const char *path, bool must_exist, char *err,
                size_t errlen);
/* Parse "LO-HI"; 0 or -EINVAL/-ERANGE. */
int config_parse_range(const char *s, uint16_t *lo, uint16_t *hi);
const char *config_auth_name(enum auth_mode m);

#endif
