/*
 * doctor.c: `wgrelay doctor [IFACE]` checks this host's set-up and explains each finding in
 * one line; `wgrelay show-key` prints the helper's public key. Both only read: the database
 * is opened read-only and the identity key is never created here.
 */
#include "doctor.h"

#include <errno.h>
#include <grp.h>
#include <libgen.h>
#include <pwd.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "cli.h"
#include "frame.h"
#include "geoip.h"
#include "ifconf.h"
#include "key.h"
#include "probe.h"
#include "proto.h"
#include "status.h"
#include "token.h"
#include "wg.h"

#define CAP_NET_ADMIN_BIT    12
#define CAP_DAC_OVERRIDE_BIT 1
#define DOCTOR_PROBE_MS      1000
#define MTU_PATH             1500
#define MTU_SEALED_V4        (MTU_PATH - 60 - PROTO_SEALED_OVERHEAD) /* 1408 */
#define MTU_SEALED_V6        (MTU_PATH - 80 - PROTO_SEALED_OVERHEAD) /* 1388 */

const char *doctor_level_name(enum doctor_level l)
{
	return l == DOCTOR_OK ? "OK" : l == DOCTOR_WARN ? "WARN" : "FAIL";
}

int doctor_exit_code(enum doctor_level worst)
{
	return worst == DOCTOR_OK ? CLI_OK : worst == DOCTOR_FAIL ? CLI_ERR : DOCTOR_EXIT_WARN;
}

void doctor_print(FILE *f, const struct doctor_line *l)
{
	fprintf(f, "%-4s  %s\n", doctor_level_name(l->level), l->text);
}

static enum doctor_level say(struct doctor_line *o, enum doctor_level l, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum doctor_level say(struct doctor_line *o, enum doctor_level l, const char *fmt, ...)
{
	va_list ap;

	o->level = l;
	va_start(ap, fmt);
	vsnprintf(o->text, sizeof(o->text), fmt, ap);
	va_end(ap);
	return l;
}

enum doctor_level doctor_privileges(struct doctor_line *o, uid_t euid, uint64_t cap_eff)
{
	if (euid == 0)
		return say(o, DOCTOR_OK, "running as root");
	if (cap_eff & (1ULL << CAP_NET_ADMIN_BIT))
		return say(o, DOCTOR_OK, "running as uid %u with CAP_NET_ADMIN", (unsigned)euid);
	return say(o, DOCTOR_FAIL,
	           "running as uid %u without CAP_NET_ADMIN: WireGuard devices cannot be read "
	           "(run doctor as root)",
	           (unsigned)euid);
}

static bool may(const struct doctor_file *f, const struct doctor_user *u, mode_t owner_bits)
{
	mode_t bits = owner_bits;
	if (u->uid == 0)
		return true;
	if (f->uid != u->uid)
		bits = f->gid == u->gid ? owner_bits >> 3 : owner_bits >> 6;
	return (f->mode & bits) == bits;
}

enum doctor_level doctor_db_access(struct doctor_line *o, const char *path,
                                   const struct doctor_file *db, const struct doctor_file *wal,
                                   const struct doctor_file *shm, const struct doctor_file *dir,
                                   const struct doctor_user *u)
{
	const struct doctor_file *f[] = {db, wal, shm};
	static const char *const sfx[] = {"", "-wal", "-shm"};
	char bad[600] = "", fix[1400] = "";
	size_t nb = 0, nf = 0;

	if (!db->exists) {
		if (dir->exists && !may(dir, u, S_IWUSR | S_IXUSR))
			return say(o, DOCTOR_FAIL,
			           "database %s: none yet, and %s (%s) cannot create it in its "
			           "directory (owner uid %u, mode %04o)",
			           path, u->name, u->from, (unsigned)dir->uid,
			           (unsigned)(dir->mode & 07777));
		return say(o, DOCTOR_WARN,
		           "database %s: none yet: nothing is configured (wgrelay "
		           "add-bootstrap-relay, configure-relay --enable IFACE)",
		           path);
	}
	for (size_t i = 0; i < 3; i++) {
		if (!f[i]->exists)
			continue;
		nf += (size_t)snprintf(fix + nf, sizeof(fix) - nf, " %s%s", path, sfx[i]);
		if (nf >= sizeof(fix))
			nf = sizeof(fix) - 1;
		if (!may(f[i], u, S_IRUSR | S_IWUSR))
			nb += (size_t)snprintf(bad + nb, sizeof(bad) - nb,
			                       "%s%s%s (owner uid %u, mode %04o)", nb ? ", " : "",
			                       path, sfx[i], (unsigned)f[i]->uid,
			                       (unsigned)(f[i]->mode & 07777));
		if (nb >= sizeof(bad))
			nb = sizeof(bad) - 1;
	}
	if (dir->exists && !may(dir, u, S_IWUSR | S_IXUSR))
		nb += (size_t)snprintf(bad + nb, sizeof(bad) - nb,
		                       "%sits directory (owner uid %u, mode %04o: no -wal/-shm can "
		                       "be made)",
		                       nb ? ", " : "", (unsigned)dir->uid,
		                       (unsigned)(dir->mode & 07777));
	if (!nb)
		return say(o, DOCTOR_OK, "database %s: readable and writable by %s (%s)", path,
		           u->name, u->from);
	if (u->dac_override == 1)
		return say(
		    o, DOCTOR_WARN,
		    "database: %s works for %s (%s) only through CAP_DAC_OVERRIDE; the "
		    "narrowed unit (CAP_NET_ADMIN only, docs/DEPLOYING.md) fails with \"unable "
		    "to open database file\"; fix: chown %s:%s%s",
		    bad, u->name, u->from, u->name, u->group, fix);
	return say(o, u->dac_override == 0 ? DOCTOR_FAIL : DOCTOR_WARN,
	           "database: %s: %s (%s) cannot read and write it%s (\"unable to open database "
	           "file\"); fix: chown %s:%s%s",
	           bad, u->name, u->from,
	           u->dac_override == 0 ? ""
	                                : " without CAP_DAC_OVERRIDE, which the narrowed unit "
	                                  "drops",
	           u->name, u->group, fix);
}

enum doctor_level doctor_relay(struct doctor_line *o, const struct cache_relay *r, bool answered,
                               int rtt_ms, uint16_t flags, const char *pub, bool want_direct,
                               bool want_sealed)
{
	const char *key = pub && *pub ? pub : "this helper's key (wgrelay show-key)";
	uint16_t modes = flags & (PONG_F_DIRECT_OK | PONG_F_SEALED_OK);
	bool denied = strcmp(r->status, "denied") == 0;

	if (!answered)
		return say(o, DOCTOR_WARN, "relay %s (%.8s...): no answer to PING within %d ms%s",
		           r->endpoint, r->pubkey, DOCTOR_PROBE_MS,
		           denied ? "; it refused this helper before" : "");
	if (denied)
		return say(o, DOCTOR_FAIL,
		           "relay %s (%.8s...): answers (%d ms) but refused this helper's BIND "
		           "(auth-denied, seen by watch): add %s to its AllowedKeys",
		           r->endpoint, r->pubkey, rtt_ms, key);
	if (modes && ((want_direct && !(modes & PONG_F_DIRECT_OK)) ||
	              (want_sealed && !(modes & PONG_F_SEALED_OK))))
		return say(
		    o, DOCTOR_WARN,
		    "relay %s (%.8s...): answers (%d ms) but does not offer %s mode, which an "
		    "enabled interface uses",
		    r->endpoint, r->pubkey, rtt_ms,
		    want_sealed && !(modes & PONG_F_SEALED_OK) ? "sealed" : "direct");
	if ((flags & PONG_F_AUTH_TOKEN) && !r->token[0])
		return say(
		    o, DOCTOR_FAIL,
		    "relay %s (%.8s...): answers (%d ms), token mode: no token credential "
		    "configured, so the relay refuses this helper (auth-required); fix: "
		    "wgrelay add-bootstrap-relay %s %s --token-command CMD (or --token-secret "
		    "SECRET --token-name NAME)",
		    r->endpoint, r->pubkey, rtt_ms, r->endpoint, r->pubkey);
	if (flags & PONG_F_AUTH_TOKEN)
		return say(o, DOCTOR_OK,
		           "relay %s (%.8s...): answers (%d ms), token mode: token credential "
		           "configured (%s)",
		           r->endpoint, r->pubkey, rtt_ms,
		           strcmp(r->token, "command") == 0 ? "command" : "secret set");
	if (flags & PONG_F_AUTH_KEYS)
		return say(o, DOCTOR_WARN,
		           "relay %s (%.8s...): answers (%d ms), keys mode: cannot tell without a "
		           "BIND whether it admits this helper; its AllowedKeys must list %s",
		           r->endpoint, r->pubkey, rtt_ms, key);
	if (flags & PONG_F_FULL)
		return say(o, DOCTOR_WARN, "relay %s (%.8s...): answers (%d ms) but is full",
		           r->endpoint, r->pubkey, rtt_ms);
	return say(o, DOCTOR_OK, "relay %s (%.8s...): answers (%d ms), open mode: admits anyone",
	           r->endpoint, r->pubkey, rtt_ms);
}

enum doctor_level doctor_mtu(struct doctor_line *o, const char *iface, const char *mode,
                             int32_t cfg_mtu, unsigned cur, unsigned saved, bool ipv6_relay)
{
	unsigned base = saved ? saved : cur, relayed;
	unsigned fit = ipv6_relay ? MTU_SEALED_V6 : MTU_SEALED_V4;

	if (strcmp(mode, "sealed") != 0)
		return say(o, DOCTOR_OK, "%s: MTU %u: direct mode adds no bytes", iface, cur);
	if (cfg_mtu > 0)
		relayed = (unsigned)cfg_mtu;
	else if (cfg_mtu == 0)
		relayed = cur;
	else if (base >= MTU_SEALED_V6 + PROTO_SEALED_OVERHEAD)
		relayed = base - PROTO_SEALED_OVERHEAD;
	else
		relayed = base < MTU_SEALED_V6 ? base : MTU_SEALED_V6;
	if (relayed <= fit)
		return say(
		    o, DOCTOR_OK,
		    "%s: MTU %u, %u while relayed sealed: fits a %d-byte path (%d over IPv4, "
		    "%d over IPv6 relays, PROTOCOL.md §8)",
		    iface, cur, relayed, MTU_PATH, MTU_SEALED_V4, MTU_SEALED_V6);
	return say(o, DOCTOR_WARN,
	           "%s: MTU %u while relayed sealed is above %u (%d - %d - %d%s): relayed packets "
	           "may be fragmented or lost; configure-relay --mtu auto (from an MTU of at most "
	           "%u) or --mtu %u",
	           iface, relayed, fit, MTU_PATH, ipv6_relay ? 80 : 60, PROTO_SEALED_OVERHEAD,
	           ipv6_relay ? ", IPv6 relays" : "", fit + PROTO_SEALED_OVERHEAD, fit);
}

enum doctor_level doctor_saveconfig(struct doctor_line *o, const char *iface, int rc,
                                    const char *dir)
{
	if (rc == 1)
		return say(o, DOCTOR_FAIL,
		           "%s: SaveConfig = true in %s/%s.conf: wg-quick down would write relay "
		           "endpoints into it; set it to false",
		           iface, dir, iface);
	if (rc == 0)
		return say(o, DOCTOR_OK, "%s: %s/%s.conf does not save the configuration", iface,
		           dir, iface);
	if (rc == -ENOENT)
		return say(o, DOCTOR_OK, "%s: no %s/%s.conf (not a wg-quick interface)", iface, dir,
		           iface);
	return say(o, DOCTOR_WARN, "%s: cannot read %s/%s.conf for SaveConfig: %s", iface, dir,
	           iface, strerror(-rc));
}

/* ---- reading the system ---- */

/* A field of /proc/PID/status ("CapEff", "Uid"); 0 or -errno. */
static int proc_field(const char *pid, const char *name, char *out, size_t len)
{
	char path[64], line[256];
	size_t n = strlen(name);
	int rc = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%s/status", pid);
	if (!(f = fopen(path, "r")))
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, name, n) == 0 && line[n] == ':') {
			snprintf(out, len, "%s", line + n + 1);
			rc = 0;
			break;
		}
	fclose(f);
	return rc;
}

static uint64_t proc_caps(const char *pid)
{
	char v[64];
	return proc_field(pid, "CapEff", v, sizeof(v)) == 0 ? strtoull(v, NULL, 16) : 0;
}

static void file_of(struct doctor_file *f, const char *path)
{
	struct stat st;
	memset(f, 0, sizeof(*f));
	if (stat(path, &st) == 0)
		*f = (struct doctor_file){true, st.st_uid, st.st_gid, st.st_mode};
}

/* The running helper's user, else the unit's User= (wgrelay), else ourselves. */
static void helper_user(struct doctor_user *u, const struct status_in *in, char *name, size_t nlen,
                        char *group, size_t glen)
{
	char pid[24], v[128];
	unsigned r, e;
	struct passwd *pw = NULL;

	u->dac_override = -1;
	if (status_helper_state(in) == STATUS_HELPER_RUNNING ||
	    status_helper_state(in) == STATUS_HELPER_STUCK) {
		snprintf(pid, sizeof(pid), "%lld", (long long)in->helper->pid);
		if (proc_field(pid, "Uid", v, sizeof(v)) == 0 && sscanf(v, "%u %u", &r, &e) == 2) {
			pw = getpwuid(e);
			u->uid = e;
			u->gid = pw ? pw->pw_gid : e;
			if (proc_field(pid, "Gid", v, sizeof(v)) == 0 &&
			    sscanf(v, "%u %u", &r, &e) == 2)
				u->gid = e;
			u->dac_override = (proc_caps(pid) >> CAP_DAC_OVERRIDE_BIT) & 1;
			u->from = "the running helper";
			if (pw)
				snprintf(name, nlen, "%s", pw->pw_name);
			else
				snprintf(name, nlen, "uid %u", u->uid);
			goto group;
		}
	}
	if ((pw = getpwnam("wgrelay"))) {
		u->uid = pw->pw_uid;
		u->gid = pw->pw_gid;
		u->from = "the unit's User=";
	} else {
		u->uid = geteuid();
		u->gid = getegid();
		u->from = "this user: no wgrelay user";
		u->dac_override = u->uid == 0;
		pw = getpwuid(u->uid);
	}
	if (pw)
		snprintf(name, nlen, "%s", pw->pw_name);
	else
		snprintf(name, nlen, "uid %u", (unsigned)u->uid);
group:;
	struct group *g = getgrgid(u->gid);
	if (g)
		snprintf(group, glen, "%s", g->gr_name);
	else
		snprintf(group, glen, "%u", (unsigned)u->gid);
	u->name = name;
	u->group = group;
}

/* The identity key file watch uses: helper.key next to the database. */
static void key_path(const struct cli_ctx *ctx, char *out, size_t len)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", ctx->db_path);
	snprintf(out, len, "%s/helper.key", dirname(dir));
}

struct doctor_run {
	enum doctor_level worst;
	FILE *f;
};

static void emit(struct doctor_run *run, const struct doctor_line *l)
{
	doctor_print(run->f, l);
	if (l->level > run->worst)
		run->worst = l->level;
}

static void check_ifaces(struct doctor_run *run, struct cache *c, const char *only,
                         const struct cache_iface *ifs, size_t n_ifs, bool ipv6_relay)
{
	struct doctor_line l;
	size_t checked = 0;

	for (size_t i = 0; i < n_ifs; i++) {
		const struct cache_iface *s = &ifs[i];
		struct wg_device *dev = NULL;
		unsigned cur = 0, saved = 0, lowered = 0;

		if (only ? strcmp(s->name, only) != 0 : !s->enabled)
			continue;
		checked++;
		if (!s->enabled) {
			say(&l, DOCTOR_WARN,
			    "%s: relay fallback is disabled (wgrelay configure-relay --enable %s)",
			    s->name, s->name);
			emit(run, &l);
		}
		int rc = wg_get_device(s->name, &dev);
		if (rc == 0) {
			say(&l, DOCTOR_OK, "%s: WireGuard (%s), %zu peer%s", s->name,
			    dev->backend == WG_BACKEND_UAPI ? "userspace, wireguard-go" : "kernel",
			    dev->n_peers, dev->n_peers == 1 ? "" : "s");
			wg_free_device(dev);
		} else {
			int kind = cli_wg_iface(s->name);
			if (kind == -ENODEV)
				say(&l, DOCTOR_WARN,
				    "%s: no such interface now (the helper picks it up when it "
				    "appears)",
				    s->name);
			else if (kind == -EMEDIUMTYPE)
				say(&l, DOCTOR_FAIL,
				    "%s: not a WireGuard interface (wgrelay configure-relay "
				    "--remove %s)",
				    s->name, s->name);
			else
				say(&l, DOCTOR_FAIL, "%s: cannot read the WireGuard device: %s%s",
				    s->name, strerror(-rc),
				    rc == -EPERM || rc == -EACCES ? " (needs root or CAP_NET_ADMIN)"
				                                  : "");
			emit(run, &l);
			doctor_saveconfig(&l, s->name, ifconf_saveconfig(s->name), ifconf_dir());
			emit(run, &l);
			continue;
		}
		emit(run, &l);
		doctor_saveconfig(&l, s->name, ifconf_saveconfig(s->name), ifconf_dir());
		emit(run, &l);
		if (wg_get_mtu(s->name, &cur) == 0) {
			if (cache_mtu_get(c, s->name, &saved, &lowered) < 0 || lowered != cur)
				saved = 0;
			doctor_mtu(&l, s->name, s->mode, s->mtu, cur, saved, ipv6_relay);
			emit(run, &l);
		}
	}
	if (only && !checked) {
		say(&l, DOCTOR_WARN, "%s: not configured (wgrelay configure-relay --enable %s)",
		    only, only);
		emit(run, &l);
	} else if (!checked) {
		say(&l, DOCTOR_WARN,
		    "no interface enabled (wgrelay configure-relay --enable IFACE): the helper "
		    "steers nothing");
		emit(run, &l);
	}
}

/*
 * A relay's token command, run as the helper would (5 s at most): WARN when it fails now.
 * OK lines say nothing new: only a failure is emitted.
 */
static void check_token_command(struct doctor_run *run, struct cache *c,
                                const struct cache_relay *r)
{
	struct cache_token t;
	struct token_cred cred;
	struct doctor_line l;
	int rc;

	if (!c || strcmp(r->token, "command") != 0 || cache_token_get(c, r->pubkey, &t) < 0)
		return;
	rc = token_fetch_command(t.command, (uint64_t)time(NULL), &cred);
	sodium_memzero(&cred, sizeof(cred));
	sodium_memzero(&t, sizeof(t));
	if (rc == 0)
		return;
	say(&l, DOCTOR_WARN, "relay %s (%.8s...): its token command fails now: %s", r->endpoint,
	    r->pubkey, token_strerror(rc));
	emit(run, &l);
}

static void check_relays(struct doctor_run *run, struct cache *c, const struct cache_relay *r,
                         size_t n, const char *pub, bool want_direct, bool want_sealed)
{
	struct probe_target *t;
	struct doctor_line l;
	size_t answered = 0;

	if (n == 0) {
		say(&l, DOCTOR_FAIL,
		    "no relay known: wgrelay add-bootstrap-relay ENDPOINT PUBKEY (or Bootstrap in "
		    "wgrelay.conf)");
		emit(run, &l);
		return;
	}
	if (n > PROBE_MAX_TARGETS)
		n = PROBE_MAX_TARGETS;
	t = calloc(n, sizeof(*t));
	if (!t)
		return;
	for (size_t i = 0; i < n; i++)
		addr_parse(&t[i].addr, r[i].endpoint, PROTO_DEFAULT_PORT);
	probe_ping(t, n, DOCTOR_PROBE_MS, 0);
	for (size_t i = 0; i < n; i++) {
		doctor_relay(&l, &r[i], t[i].answered, t[i].rtt_ms, t[i].pong.flags, pub,
		             want_direct, want_sealed);
		answered += t[i].answered;
		emit(run, &l);
		check_token_command(run, c, &r[i]);
	}
	if (!answered) {
		say(&l, DOCTOR_FAIL,
		    "no relay answers: check the endpoints and that UDP to them is not blocked");
		emit(run, &l);
	}
	free(t);
}

static void check_helper(struct doctor_run *run, const struct status_in *in)
{
	struct doctor_line l;
	char age[32];
	const struct cache_helper *h = in->helper;

	switch (status_helper_state(in)) {
	case STATUS_HELPER_RUNNING:
		say(&l, DOCTOR_OK, "helper running: pid %lld, last tick %s", (long long)h->pid,
		    cli_age(age, sizeof(age), h->tick, in->now));
		break;
	case STATUS_HELPER_STUCK:
		say(&l, DOCTOR_FAIL, "helper pid %lld is alive but its last tick was %s: stuck?",
		    (long long)h->pid, cli_age(age, sizeof(age), h->tick, in->now));
		break;
	case STATUS_HELPER_GONE:
		say(&l, DOCTOR_FAIL,
		    "helper not running: pid %lld is gone without a clean exit (last tick %s); "
		    "journalctl -u wgrelay, then systemctl start wgrelay",
		    (long long)h->pid, cli_age(age, sizeof(age), h->tick, in->now));
		break;
	case STATUS_HELPER_STOPPED:
		say(&l, DOCTOR_WARN, "helper not running (stopped %s): systemctl start wgrelay",
		    cli_age(age, sizeof(age), h->tick, in->now));
		break;
	case STATUS_HELPER_NEVER:
		say(&l, DOCTOR_WARN,
		    "helper not running (never ran on this database): systemctl enable --now "
		    "wgrelay");
		break;
	}
	emit(run, &l);
}

static void check_geoip(struct doctor_run *run, const struct cli_ctx *ctx,
                        const struct status_in *in)
{
	struct doctor_line l;
	struct geoip *g = NULL;
	int rc = geoip_open(&g, ctx->geoip_path);

	if (rc == 0) {
		say(&l, DOCTOR_OK, "GeoIP database %s", geoip_path(g));
		if (status_helper_state(in) == STATUS_HELPER_RUNNING && !in->helper->geoip[0])
			say(&l, DOCTOR_WARN,
			    "GeoIP database %s, but the running helper has none (not readable by "
			    "its user, or added since it started: restart it)",
			    geoip_path(g));
	} else if (rc == -ENOENT) {
		if (ctx->geoip_path && access(ctx->geoip_path, F_OK) == 0)
			say(&l, DOCTOR_WARN, "GeoIP database %s: not readable (%s)",
			    ctx->geoip_path, strerror(errno));
		else
			say(&l, DOCTOR_WARN,
			    "no GeoIP database%s%s: relays are ranked without distances (install "
			    "GeoLite2-City.mmdb or dbip-city-lite.mmdb in /usr/share/GeoIP, or "
			    "--geoip FILE)",
			    ctx->geoip_path ? " at " : "", ctx->geoip_path ? ctx->geoip_path : "");
	} else {
		say(&l, DOCTOR_FAIL, "GeoIP database %s: not a MaxMind DB file",
		    ctx->geoip_path ? ctx->geoip_path : "(searched)");
	}
	geoip_free(g);
	emit(run, &l);
}

static const char doctor_help[] =
    "Usage: wgrelay doctor [IFACE]\n"
    "Check this host's set-up, one line per check (OK, WARN or FAIL) with what to do:\n"
    "privileges (root or CAP_NET_ADMIN), the database (readable and writable by the\n"
    "helper's user), the helper (running, ticking), its identity key, each enabled\n"
    "interface (or IFACE: exists, is WireGuard, SaveConfig, MTU for sealed mode), each\n"
    "relay (answers a PING, offers the mode, admits this helper) and the GeoIP database.\n"
    "Reads only. Exit status: 0 all OK, 1 a FAIL, 3 WARN but no FAIL.\n";

int cmd_doctor(struct cli_ctx *ctx, int argc, char **argv)
{
	struct doctor_run run = {.f = stdout};
	struct doctor_line l;
	struct doctor_file db, wal, shm, dir;
	struct doctor_user u = {0};
	struct status_in in = {.now = time(NULL)};
	struct cache_helper helper;
	struct cache *c = NULL;
	struct cache_iface *ifs = NULL;
	struct cache_relay *relays = NULL;
	size_t n_ifs = 0, n_relays = 0;
	char path[4200], kp[4200], uname[64], gname[64], pub[CACHE_TEXT] = "";
	const char *only = NULL;
	bool want_direct = false, want_sealed = false, ipv6_relay = false;
	uint8_t priv[KEY_LEN], pk[KEY_LEN];
	char kerr[256];

	if (cli_wants_help(argc, argv)) {
		fputs(doctor_help, stdout);
		return CLI_OK;
	}
	if (argc > 2 || (argc == 2 && (argv[1][0] == '-' || !ifconf_name_ok(argv[1])))) {
		fputs(doctor_help, stderr);
		return CLI_USAGE;
	}
	if (argc == 2)
		only = argv[1];
	if (sodium_init() < 0)
		return CLI_ERR;

	doctor_privileges(&l, geteuid(), proc_caps("self"));
	emit(&run, &l);

	/* The database: opened read-only, then its files checked for the helper's user. */
	int orc = cli_open_cache_ro(ctx, "doctor", &c);
	if (orc < 0) {
		say(&l, DOCTOR_FAIL, "database %s: cannot be read (see above)", ctx->db_path);
		emit(&run, &l);
	} else {
		if (cache_helper_get(c, &helper) == 0) {
			in.helper = &helper;
			in.helper_alive = status_pid_alive(helper.pid);
		}
		cache_iface_list(c, &ifs, &n_ifs);
		cache_relay_list(c, &relays, &n_relays);
	}
	if (strcmp(ctx->db_path, ":memory:") != 0) {
		snprintf(path, sizeof(path), "%s", ctx->db_path);
		file_of(&db, path);
		snprintf(path, sizeof(path), "%s-wal", ctx->db_path);
		file_of(&wal, path);
		snprintf(path, sizeof(path), "%s-shm", ctx->db_path);
		file_of(&shm, path);
		snprintf(path, sizeof(path), "%s", ctx->db_path);
		file_of(&dir, dirname(path));
		helper_user(&u, &in, uname, sizeof(uname), gname, sizeof(gname));
		doctor_db_access(&l, ctx->db_path, &db, &wal, &shm, &dir, &u);
		emit(&run, &l);
	}

	check_helper(&run, &in);

	key_path(ctx, kp, sizeof(kp));
	int krc = key_load_file_err(priv, kp, kerr, sizeof(kerr));
	if (krc == 0) {
		key_public_from_private(pk, priv);
		key_to_base64(pub, pk);
		say(&l, DOCTOR_OK, "identity key %s: public key %s", kp, pub);
	} else if (krc == -ENOENT) {
		if (in.helper && in.helper->pubkey[0])
			snprintf(pub, sizeof(pub), "%s", in.helper->pubkey);
		say(&l, DOCTOR_WARN,
		    "identity key %s: none yet (the first `wgrelay watch` creates it)", kp);
	} else {
		say(&l, DOCTOR_FAIL, "identity key: %s", kerr);
	}
	sodium_memzero(priv, sizeof(priv));
	emit(&run, &l);

	for (size_t i = 0; i < n_ifs; i++)
		if (ifs[i].enabled && (!only || strcmp(ifs[i].name, only) == 0)) {
			want_direct |= strcmp(ifs[i].mode, "sealed") != 0;
			want_sealed |= strcmp(ifs[i].mode, "sealed") == 0;
		}
	for (size_t i = 0; i < n_relays; i++) {
		struct addr a;
		ipv6_relay |= addr_parse(&a, relays[i].endpoint, PROTO_DEFAULT_PORT) == 0 &&
		              addr_family(&a) == AF_INET6;
	}
	if (c)
		check_ifaces(&run, c, only, ifs, n_ifs, ipv6_relay);
	check_relays(&run, c, relays, n_relays, pub, want_direct, want_sealed);
	check_geoip(&run, ctx, &in);

	cache_free(c);
	free(ifs);
	free(relays);
	return doctor_exit_code(run.worst);
}

static const char show_key_help[] =
    "Usage: wgrelay show-key\n"
    "Print the helper's public key, which a relay in keys mode lists in its AllowedKeys.\n"
    "The key is helper.key next to the database, made by the first `wgrelay watch`;\n"
    "show-key never creates it.\n";

int cmd_show_key(struct cli_ctx *ctx, int argc, char **argv)
{
	char kp[4200], err[256], b64[KEY_B64_STRLEN];
	uint8_t priv[KEY_LEN], pub[KEY_LEN];

	if (cli_wants_help(argc, argv)) {
		fputs(show_key_help, stdout);
		return CLI_OK;
	}
	if (argc != 1) {
		fputs(show_key_help, stderr);
		return CLI_USAGE;
	}
	if (sodium_init() < 0)
		return CLI_ERR;
	key_path(ctx, kp, sizeof(kp));
	int rc = key_load_file_err(priv, kp, err, sizeof(err));
	if (rc == -ENOENT) {
		fprintf(stderr,
		        "show-key: no key yet: it is created by the first `wgrelay watch` "
		        "(%s)\n",
		        kp);
		return CLI_ERR;
	}
	if (rc < 0) {
		fprintf(stderr, "show-key: %s\n", err);
		return CLI_ERR;
	}
	key_public_from_private(pub, priv);
	sodium_memzero(priv, sizeof(priv));
	key_to_base64(b64, pub);
	printf("%s\n", b64);
	return CLI_OK;
}
