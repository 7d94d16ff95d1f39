/*
 * doctor.h: `wgrelay doctor`, one line per check of this host's set-up, OK, WARN or FAIL, each
 * saying what it found and what to do. The checks are pure functions of what the command read
 * (file modes, capabilities, probe answers), so tests drive them without root. Also
 * `wgrelay show-key`.
 */
#ifndef WGR_DOCTOR_H
#define WGR_DOCTOR_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "cache.h"

enum doctor_level { DOCTOR_OK = 0, DOCTOR_WARN = 1, DOCTOR_FAIL = 2 };

/* Exit codes of doctor: 0 all OK, 1 a FAIL, 3 WARN only (2 stays a usage error). */
#define DOCTOR_EXIT_WARN 3

struct doctor_line {
	enum doctor_level level;
	char text[768];
};

/* "OK", "WARN", "FAIL". */
const char *doctor_level_name(enum doctor_level l);
int doctor_exit_code(enum doctor_level worst);
/* "OK    text" with the level padded: one line. */
void doctor_print(FILE *f, const struct doctor_line *l);

/* Root, or CAP_NET_ADMIN in cap_eff (the CapEff mask of /proc/self/status). */
enum doctor_level doctor_privileges(struct doctor_line *o, uid_t euid, uint64_t cap_eff);

/* A file as stat(2) saw it. */
struct doctor_file {
	bool exists;
	uid_t uid;
	gid_t gid;
	mode_t mode;
};

/* The user the helper runs as, and how it was found out. */
struct doctor_user {
	const char *name;  /* "wgrelay" */
	const char *group; /* its primary group's name */
	uid_t uid;
	gid_t gid;
	int dac_override; /* has CAP_DAC_OVERRIDE: 1 yes, 0 no, -1 unknown (not running) */
	const char *from; /* "the running helper", "the unit's User=", "this user" */
};

/*
 * Can the helper's user read and write the database (path, and its -wal and -shm when they
 * exist) and create -wal/-shm in dir? A root-made 0600 file works only through
 * CAP_DAC_OVERRIDE, which the narrowed unit (CAP_NET_ADMIN only) drops: "unable to open
 * database file". FAIL when the helper is known to lack it, WARN when it has it or is unknown.
 */
enum doctor_level doctor_db_access(struct doctor_line *o, const char *path,
                                   const struct doctor_file *db, const struct doctor_file *wal,
                                   const struct doctor_file *shm, const struct doctor_file *dir,
                                   const struct doctor_user *u);

/*
 * One relay: answered a PING (rtt_ms, PONG flags) or not, and whether it admits this helper
 * (pub: our public key, NULL unknown): open mode yes; keys/token mode cannot be told without
 * a BIND unless the cache recorded a refusal (status "denied"). want_*: the modes of the
 * enabled interfaces, which the relay must offer.
 */
enum doctor_level doctor_relay(struct doctor_line *o, const struct cache_relay *r, bool answered,
                               int rtt_ms, uint16_t flags, const char *pub, bool want_direct,
                               bool want_sealed);

/*
 * Sealed mode adds 32 bytes per packet (PROTOCOL.md §8): the MTU WireGuard has while relayed
 * sealed should be at most 1500 - 60 - 32 = 1408 (IPv4 outer), 1388 with IPv6 relays. cur is
 * the MTU now; saved the one before `--mtu auto` lowered it (0 none); cfg_mtu as configured
 * (-1 auto, 0 off, N).
 */
enum doctor_level doctor_mtu(struct doctor_line *o, const char *iface, const char *mode,
                             int32_t cfg_mtu, unsigned cur, unsigned saved, bool ipv6_relay);

/* ifconf_saveconfig's answer for iface (1, 0 or -errno), dir the wg-quick directory. */
enum doctor_level doctor_saveconfig(struct doctor_line *o, const char *iface, int rc,
                                    const char *dir);

#endif
