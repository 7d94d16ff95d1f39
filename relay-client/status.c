/*
 * status.c: `wgrelay status`: WireGuard's live peers merged with the helper's records. Reads
 * only: the database is opened read-only (never created, migrated or moved).
 */
#include "status.h"

#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "geoip.h"
#include "ifconf.h"
#include "pathsel.h"
#include "registry.h"
#include "wg.h"

enum status_helper status_helper_state(const struct status_in *in)
{
	const struct cache_helper *h = in->helper;

	if (!h)
		return STATUS_HELPER_NEVER;
	if (h->pid == 0)
		return STATUS_HELPER_STOPPED;
	if (!in->helper_alive)
		return STATUS_HELPER_GONE;
	return in->now - h->tick <= STATUS_STALE_S ? STATUS_HELPER_RUNNING : STATUS_HELPER_STUCK;
}

const struct cache_iface *status_iface_cfg(const struct status_in *in, const char *name)
{
	for (size_t i = 0; i < in->n_ifs; i++)
		if (strcmp(in->ifs[i].name, name) == 0)
			return &in->ifs[i];
	return NULL;
}

static const struct cache_peer *find_rec(const struct status_in *in, const char *iface,
                                         const char *peer)
{
	for (size_t i = 0; i < in->n_peers; i++)
		if (strcmp(in->peers[i].iface, iface) == 0 && strcmp(in->peers[i].peer, peer) == 0)
			return &in->peers[i];
	return NULL;
}

static const struct cache_plan *find_plan(const struct status_in *in, const char *iface,
                                          const char *peer)
{
	for (size_t i = 0; i < in->n_plans; i++)
		if (strcmp(in->plans[i].iface, iface) == 0 && strcmp(in->plans[i].peer, peer) == 0)
			return &in->plans[i];
	return NULL;
}

static const struct cache_session *find_session(const struct status_in *in, const char *iface,
                                                const char *peer)
{
	for (size_t i = 0; i < in->n_sessions; i++)
		if (strcmp(in->sessions[i].iface, iface) == 0 &&
		    strcmp(in->sessions[i].peer, peer) == 0)
			return &in->sessions[i];
	return NULL;
}

/* A known relay at the IP of ep (a direct-mode session port), NULL none. */
static const struct cache_relay *relay_at(const struct status_in *in, const struct addr *ep)
{
	for (size_t i = 0; ep->len && i < in->n_relays; i++) {
		struct addr a;
		if (addr_parse(&a, in->relays[i].endpoint, 51821) == 0 && addr_equal_ip(&a, ep))
			return &in->relays[i];
	}
	return NULL;
}

static const char *relay_key_of(const struct status_in *in, const char *endpoint)
{
	for (size_t i = 0; endpoint && i < in->n_relays; i++)
		if (strcmp(in->relays[i].endpoint, endpoint) == 0)
			return in->relays[i].pubkey;
	return NULL;
}

static const char *nz(const char *s)
{
	return s && *s ? s : NULL;
}

static bool is_loopback(const struct addr *a)
{
	char ip[ADDR_STRLEN];
	addr_format_ip(a, ip, sizeof(ip));
	return strncmp(ip, "127.", 4) == 0 || strcmp(ip, "::1") == 0;
}

void status_merge(const struct status_in *in, const struct status_dev_info *dev,
                  const struct status_live_peer *lp, struct status_peer *o)
{
	const struct cache_iface *cfg = status_iface_cfg(in, dev->name);
	const struct cache_session *sess = find_session(in, dev->name, lp->key);
	const struct cache_relay *ra;
	const char *ep = lp->endpoint;
	bool enabled = cfg && cfg->enabled;
	bool steering = enabled && status_helper_state(in) == STATUS_HELPER_RUNNING;
	char age[32];

	memset(o, 0, sizeof(*o));
	o->live = lp;
	o->rec = find_rec(in, dev->name, lp->key);
	o->path = "direct";

	/* Where WireGuard sends now: the live endpoint decides, the records only name it. */
	if (sess && ep[0] && strcmp(ep, sess->session_endpoint) == 0) {
		o->on_relay = true;
		o->relay_endpoint = nz(sess->relay_endpoint);
		o->relay_pubkey = nz(sess->relay_pubkey);
		o->mode = sess->mode[0] ? sess->mode : "direct";
	} else if (o->rec && ep[0] && strcmp(ep, o->rec->endpoint) == 0) {
		o->on_relay = false; /* the direct endpoint the helper knows */
	} else if ((ra = relay_at(in, &lp->ep))) {
		o->on_relay = true;
		o->relay_endpoint = ra->endpoint;
		o->relay_pubkey = ra->pubkey;
		o->mode = "direct";
	} else if (o->rec && lp->ep.len && is_loopback(&lp->ep) &&
	           strcmp(o->rec->path, "direct") != 0 &&
	           (strcmp(o->rec->mode, "sealed") == 0 || strcmp(o->rec->mode, "circuit") == 0)) {
		o->on_relay = true; /* a sealed or circuit local port of the helper */
		o->relay_endpoint = nz(o->rec->relay_endpoint);
		o->relay_pubkey = nz(o->rec->relay_pubkey);
		o->mode = strcmp(o->rec->mode, "sealed") == 0 ? "sealed" : "circuit";
	}

	const struct cache_peer *r = o->rec;
	bool rec_direct = r && strcmp(r->path, "direct") == 0;
	cli_age(age, sizeof(age), r ? r->updated : 0, in->now);
	if (o->on_relay) {
		/* Trying direct, WireGuard pulled back by the far side's packets: still trying. */
		o->path = r && steering && strcmp(r->path, "trying-direct") == 0 ? "trying-direct"
		                                                                 : "relayed";
		o->direct_endpoint = r && r->endpoint[0]                  ? r->endpoint
		                     : sess && sess->original_endpoint[0] ? sess->original_endpoint
		                                                          : NULL;
		if (r && !rec_direct &&
		    (!r->relay_endpoint[0] || !o->relay_endpoint ||
		     strcmp(r->relay_endpoint, o->relay_endpoint) == 0)) {
			o->since = r->since;
			o->why = nz(r->why);
			if (r->mode[0])
				o->mode = r->mode;
			if (!o->relay_endpoint)
				o->relay_endpoint = nz(r->relay_endpoint);
			if (!o->relay_pubkey)
				o->relay_pubkey = nz(r->relay_pubkey);
		} else if (r) {
			snprintf(
			    o->note, sizeof(o->note),
			    "WireGuard sends to a relay, but the helper's record (%s) says %s%s%s",
			    age, r->path, r->relay_endpoint[0] ? " via " : "", r->relay_endpoint);
		} else {
			snprintf(o->note, sizeof(o->note),
			         "WireGuard sends to a relay, and the helper has no record of it");
		}
		if (!enabled)
			snprintf(o->note, sizeof(o->note),
			         "relayed although relay fallback is not enabled here: left over "
			         "from an earlier run?");
	} else {
		o->direct_endpoint = nz(ep);
		if (r && rec_direct) {
			o->since = r->since;
			o->why = nz(r->why);
		} else if (r && strcmp(r->path, "trying-direct") == 0 && steering) {
			o->path = "trying-direct";
			o->mode = nz(r->mode);
			o->since = r->since;
			o->why = nz(r->why);
			o->relay_endpoint = nz(r->relay_endpoint);
			o->relay_pubkey = nz(r->relay_pubkey);
		} else if (r) {
			snprintf(o->note, sizeof(o->note),
			         "the helper's record (%s) says %s%s%s; WireGuard's endpoint is "
			         "direct now",
			         age, r->path, r->relay_endpoint[0] ? " via " : "",
			         r->relay_endpoint);
		}
	}
	if (o->mode && strcmp(o->mode, "circuit") == 0) {
		/*
		 * A circuit has no one relay: the hops, the rendezvous among them, are in the
		 * helper's account. An endpoint here would be the entry's, and naming it as the
		 * relay would mislead (it sees this end only).
		 */
		o->relay_endpoint = o->relay_pubkey = NULL;
		o->circuit = r && strcmp(r->mode, "circuit") == 0 ? nz(r->circuit) : NULL;
	} else if (!o->relay_pubkey) {
		o->relay_pubkey = relay_key_of(in, o->relay_endpoint);
	}
	o->stale = r && !steering && (o->why || o->since);
	o->plan_stale = !steering;

	/* The next step: only a helper that steers this interface now has one. */
	if (!enabled) {
		o->next = "none: relay fallback is not enabled here";
	} else if (!steering) {
		o->next = "none while the helper is not running";
	} else if ((o->plan = find_plan(in, dev->name, lp->key)) && o->plan->next[0]) {
		o->next = o->plan->next;
		o->next_at = o->plan->next_at;
	}
	/* The relay choice is shown whenever one was published (marked stale with the rest). */
	if (!o->plan && enabled)
		o->plan = find_plan(in, dev->name, lp->key);
}

/* ---- text ---- */

static const char *fmt_bytes(char *buf, size_t len, uint64_t v)
{
	static const char *const unit[] = {"KiB", "MiB", "GiB", "TiB"};
	double d = (double)v;
	int u = -1;

	if (v < 1024) {
		snprintf(buf, len, "%llu B", (unsigned long long)v);
		return buf;
	}
	while (d >= 1024 && u < 3) {
		d /= 1024;
		u++;
	}
	snprintf(buf, len, "%.2f %s", d, unit[u]);
	return buf;
}

static const char *fmt_mtu(char *buf, size_t len, int32_t mtu)
{
	snprintf(buf, len, mtu < 0 ? "auto" : mtu == 0 ? "off" : "%d", mtu);
	return buf;
}

static const char *fmt_in(char *buf, size_t len, int64_t at, int64_t now)
{
	if (at <= 0)
		buf[0] = '\0';
	else if (at <= now)
		snprintf(buf, len, ", due now");
	else if (at - now < 120)
		snprintf(buf, len, ", in %lld s", (long long)(at - now));
	else
		snprintf(buf, len, ", in %lld min", (long long)(at - now + 59) / 60);
	return buf;
}

static void print_helper(FILE *f, const struct status_in *in)
{
	const struct cache_helper *h = in->helper;
	char age[32];

	switch (status_helper_state(in)) {
	case STATUS_HELPER_NEVER:
		fprintf(f, "helper: not running (never ran on this database: `wgrelay watch` or "
		           "systemctl start wgrelay)\n");
		return;
	case STATUS_HELPER_RUNNING:
		fprintf(f, "helper: running, pid %lld, last tick %s\n", (long long)h->pid,
		        cli_age(age, sizeof(age), h->tick, in->now));
		return;
	case STATUS_HELPER_STUCK:
		fprintf(f, "helper: stale: pid %lld is alive but its last tick was %s (stuck?)\n",
		        (long long)h->pid, cli_age(age, sizeof(age), h->tick, in->now));
		break;
	case STATUS_HELPER_STOPPED:
		fprintf(f, "helper: not running (stopped %s)\n",
		        cli_age(age, sizeof(age), h->tick, in->now));
		break;
	case STATUS_HELPER_GONE:
		fprintf(f,
		        "helper: not running (pid %lld is gone, last tick %s: killed or crashed)\n",
		        (long long)h->pid, cli_age(age, sizeof(age), h->tick, in->now));
		break;
	}
	fprintf(f, "  (paths are WireGuard's own; why and relay choices are stale)\n");
}

/*
 * The relays the helper links to and what carries each link (PROTOCOL.md §12): "udp", or a
 * stream URL and the proxy. Only while the helper runs: a stopped one's words are history.
 */
static void print_relays(FILE *f, const struct status_in *in)
{
	bool any = false;

	if (status_helper_state(in) != STATUS_HELPER_RUNNING)
		return;
	for (size_t i = 0; i < in->n_relays; i++) {
		const struct cache_relay *r = &in->relays[i];
		if (!r->transport[0])
			continue;
		if (!any)
			fprintf(f, "relays linked:\n");
		any = true;
		fprintf(f, "  %s (%.8s...): %s, %s\n", r->endpoint, r->pubkey, r->transport,
		        registry_shown_status(r));
	}
}

static bool geo_db(const struct status_in *in)
{
	if (in->helper && status_helper_state(in) == STATUS_HELPER_RUNNING)
		return in->helper->geoip[0] != '\0';
	return in->geoip_present;
}

static void print_choice(FILE *f, const char *role, const struct cache_plan_relay *r)
{
	char dist[24], rtt[16], load[16];

	snprintf(dist, sizeof(dist), r->distance_km >= 0 ? "%d km" : "-", r->distance_km);
	snprintf(rtt, sizeof(rtt), r->rtt_ms >= 0 ? "%d ms" : "-", r->rtt_ms);
	snprintf(load, sizeof(load), r->load_permille >= 0 ? "%d%%" : "-", r->load_permille / 10);
	fprintf(f, "      %-10s %s (%.8s...): distance %s, RTT %s, load %s, score %d%s\n", role,
	        r->endpoint, r->pubkey, dist, rtt, load, r->score, r->usable ? "" : ", unusable");
}

static void print_peer(FILE *f, const struct status_in *in, const struct status_dev_info *dev)
{
	char age[32], b1[32], b2[32], when[32];

	for (size_t i = 0; i < dev->n_peers; i++) {
		const struct status_live_peer *lp = &dev->peers[i];
		struct status_peer m;
		status_merge(in, dev, lp, &m);
		fprintf(f, "  peer %s\n", lp->key);
		fprintf(f, "    endpoint: %s%s\n", lp->endpoint[0] ? lp->endpoint : "(none)",
		        !m.on_relay                                ? ""
		        : m.mode && strcmp(m.mode, "sealed") == 0  ? " (the helper's sealed port)"
		        : m.mode && strcmp(m.mode, "circuit") == 0 ? " (the helper's circuit port)"
		                                                   : " (a relay's session port)");
		fprintf(f, "    latest handshake: %s\n",
		        cli_age(age, sizeof(age), lp->last_handshake, in->now));
		fprintf(f, "    transfer: %s received, %s sent\n",
		        fmt_bytes(b1, sizeof(b1), lp->rx_bytes),
		        fmt_bytes(b2, sizeof(b2), lp->tx_bytes));
		fprintf(f, "    path: ");
		if (m.relay_endpoint && strcmp(m.path, "direct") != 0)
			fprintf(f, "%s via %s (%.8s...), %s mode", m.path, m.relay_endpoint,
			        m.relay_pubkey ? m.relay_pubkey : "?", m.mode ? m.mode : "direct");
		else if (m.mode)
			fprintf(f, "%s, %s mode", m.path, m.mode);
		else
			fprintf(f, "%s", m.path);
		if (m.since)
			fprintf(f, ", since %s", cli_age(age, sizeof(age), m.since, in->now));
		fprintf(f, "\n");
		if (m.circuit)
			fprintf(f, "    circuit: %s%s\n", m.circuit,
			        m.plan_stale ? " (stale)" : "");
		if (m.why)
			fprintf(f, "    why: %s%s\n", m.why, m.stale ? " (stale)" : "");
		if (m.direct_endpoint && m.on_relay)
			fprintf(f, "    direct endpoint: %s\n", m.direct_endpoint);
		if (m.note[0])
			fprintf(f, "    note: %s\n", m.note);
		if (m.next)
			fprintf(f, "    next: %s%s\n", m.next,
			        fmt_in(when, sizeof(when), m.next_at, in->now));
		if (m.plan && m.plan->n_relays) {
			fprintf(f, "    relays%s:%s\n", m.plan_stale ? " (stale)" : "",
			        m.plan->geo_known ? ""
			        : geo_db(in)      ? " locations unknown, distance not counted"
			                          : " no GeoIP database, distance not counted");
			print_choice(f, "chosen:", &m.plan->relays[0]);
			if (m.plan->n_relays > 1)
				print_choice(f, "runner-up:", &m.plan->relays[1]);
		}
	}
}

void status_print_iface(FILE *f, const struct cache_iface *s, bool all)
{
	char mtu[16], hops[48];

	fprintf(f,
	        "interface %s: relay fallback %s, mode %s, threshold %u attempts, mtu %s, "
	        "prebind %u\n",
	        s->name, s->enabled ? "enabled" : "disabled", s->mode, s->threshold_windows,
	        fmt_mtu(mtu, sizeof(mtu), s->mtu), s->prebind);
	if (!s->hops && !all)
		return;
	if (!s->hops)
		snprintf(hops, sizeof(hops), "off");
	else if (pathsel_strategy_parse(s->strategy) == PATHSEL_ANONYMOUS &&
	         s->hops < PATHSEL_ANON_MIN_HOPS)
		snprintf(hops, sizeof(hops), "%u hops (anonymous builds %u)", s->hops,
		         PATHSEL_ANON_MIN_HOPS);
	else
		snprintf(hops, sizeof(hops), "%u hop%s", s->hops, s->hops == 1 ? "" : "s");
	fprintf(f, "  circuits: %s, strategy %s, excluded countries %s\n", hops, s->strategy,
	        s->exclude_country[0] ? s->exclude_country : "none");
}

static void print_iface_line(FILE *f, const struct status_dev_info *dev,
                             const struct cache_iface *s)
{
	if (!s) {
		fprintf(f,
		        "interface %s: relay fallback not enabled (wgrelay configure-relay "
		        "--enable %s)\n",
		        dev->name, dev->name);
		return;
	}
	status_print_iface(f, s, false);
}

void status_print_text(FILE *f, const struct status_in *in)
{
	if (in->n_devs == 0) {
		fprintf(f, "no interface configured (wgrelay configure-relay --enable IFACE)\n");
		return;
	}
	print_helper(f, in);
	print_relays(f, in);
	for (size_t d = 0; d < in->n_devs; d++) {
		const struct status_dev_info *dev = &in->devs[d];
		print_iface_line(f, dev, status_iface_cfg(in, dev->name));
		switch (dev->state) {
		case STATUS_DEV_ABSENT:
			fprintf(f,
			        "  wireguard: absent: no interface %s now (the helper picks it up "
			        "when it appears)\n",
			        dev->name);
			continue;
		case STATUS_DEV_NOT_WG:
			fprintf(f, "  wireguard: %s is not a WireGuard interface\n", dev->name);
			continue;
		case STATUS_DEV_UNREADABLE:
			fprintf(f, "  wireguard: cannot read it: %s%s\n", strerror(-dev->err),
			        dev->err == -EPERM || dev->err == -EACCES
			            ? " (needs root or CAP_NET_ADMIN)"
			            : "");
			continue;
		case STATUS_DEV_UP:
			break;
		}
		fprintf(f, "  wireguard: %s, public key %s, listening port %u, %zu peer%s\n",
		        dev->backend ? dev->backend : "?", dev->pubkey[0] ? dev->pubkey : "(none)",
		        dev->listen_port, dev->n_peers, dev->n_peers == 1 ? "" : "s");
		print_peer(f, in, dev);
	}
}

/* ---- JSON: no -1 or "" markers, null instead ---- */

static void j_str(FILE *f, const char *name, const char *v)
{
	fprintf(f, "\"%s\": ", name);
	if (v && *v)
		cli_json_str(f, v);
	else
		fputs("null", f);
}

static void j_int(FILE *f, const char *name, int64_t v, bool known)
{
	if (known)
		fprintf(f, "\"%s\": %lld", name, (long long)v);
	else
		fprintf(f, "\"%s\": null", name);
}

static void j_choice(FILE *f, const char *name, const struct cache_plan_relay *r)
{
	fprintf(f, "\"%s\": ", name);
	if (!r) {
		fputs("null", f);
		return;
	}
	fputs("{", f);
	j_str(f, "endpoint", r->endpoint);
	fputs(", ", f);
	j_str(f, "pubkey", r->pubkey);
	fputs(", ", f);
	j_int(f, "distance_km", r->distance_km, r->distance_km >= 0);
	fputs(", ", f);
	j_int(f, "rtt_ms", r->rtt_ms, r->rtt_ms >= 0);
	fputs(", ", f);
	j_int(f, "load_permille", r->load_permille, r->load_permille >= 0);
	fprintf(f, ", \"score\": %d, \"usable\": %s}", r->score, r->usable ? "true" : "false");
}

/* The excluded countries of s as an array of codes; null when s is NULL or the list mangled. */
static void j_countries(FILE *f, const char *name, const struct cache_iface *s)
{
	char cc[CACHE_MAX_COUNTRIES][3], bad[8];
	size_t n;

	fprintf(f, "\"%s\": ", name);
	if (!s || cache_countries_parse(s->exclude_country, cc, CACHE_MAX_COUNTRIES, &n, bad,
	                                sizeof(bad)) < 0) {
		fputs("null", f);
		return;
	}
	fputs("[", f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s\"%s\"", i ? ", " : "", cc[i]);
	fputs("]", f);
}

static const char *const helper_state_name[] = {"never", "running", "stuck", "stopped", "gone"};
static const char *const dev_state_name[] = {"up", "absent", "not-wireguard", "unreadable"};

void status_print_json(FILE *f, const struct status_in *in)
{
	const struct cache_helper *h = in->helper;
	enum status_helper hs = status_helper_state(in);

	fprintf(f, "{\"helper\": {\"state\": \"%s\", \"running\": %s, \"stale\": %s, ",
	        helper_state_name[hs], hs == STATUS_HELPER_RUNNING ? "true" : "false",
	        hs == STATUS_HELPER_RUNNING ? "false" : "true");
	j_int(f, "pid", h ? h->pid : 0, h && h->pid > 0);
	fputs(", ", f);
	j_int(f, "last_tick", h ? h->tick : 0, h && h->tick > 0);
	fputs(", ", f);
	j_int(f, "last_tick_age_s", h ? in->now - h->tick : 0, h && h->tick > 0);
	fputs(", ", f);
	j_str(f, "pubkey", h ? h->pubkey : NULL);
	fputs(", ", f);
	j_str(f, "public_address", h ? h->public_addr : NULL);
	fputs(", ", f);
	j_str(f, "geoip", h ? h->geoip : NULL);
	/* The links and their carriers, as print_relays (empty while the helper is not running). */
	fputs("},\n \"relays\": [", f);
	for (size_t i = 0, k = 0; hs == STATUS_HELPER_RUNNING && i < in->n_relays; i++) {
		const struct cache_relay *r = &in->relays[i];
		if (!r->transport[0])
			continue;
		fprintf(f, "%s{", k++ ? ", " : "");
		j_str(f, "endpoint", r->endpoint);
		fputs(", ", f);
		j_str(f, "pubkey", r->pubkey);
		fputs(", ", f);
		j_str(f, "transport", r->transport);
		fputs(", ", f);
		j_str(f, "status", registry_shown_status(r));
		fputs("}", f);
	}
	fputs("],\n \"interfaces\": [", f);
	for (size_t d = 0; d < in->n_devs; d++) {
		const struct status_dev_info *dev = &in->devs[d];
		const struct cache_iface *s = status_iface_cfg(in, dev->name);
		char mtu[16];

		fprintf(f, "%s\n  {", d ? "," : "");
		j_str(f, "name", dev->name);
		fprintf(f, ", \"state\": \"%s\", \"configured\": %s, \"enabled\": %s, ",
		        dev_state_name[dev->state], s ? "true" : "false",
		        s && s->enabled ? "true" : "false");
		j_str(f, "mode", s ? s->mode : NULL);
		fputs(", ", f);
		j_int(f, "threshold_windows", s ? s->threshold_windows : 0, s != NULL);
		fputs(", ", f);
		if (s && s->mtu > 0)
			fprintf(f, "\"mtu\": %d", s->mtu);
		else
			j_str(f, "mtu", s ? fmt_mtu(mtu, sizeof(mtu), s->mtu) : NULL);
		fputs(", ", f);
		j_int(f, "prebind", s ? s->prebind : 0, s != NULL);
		fputs(", ", f);
		j_int(f, "hops", s ? s->hops : 0, s != NULL);
		fputs(", ", f);
		j_str(f, "strategy", s ? s->strategy : NULL);
		fputs(", ", f);
		j_countries(f, "exclude_country", s);
		fputs(", ", f);
		j_str(f, "backend", dev->state == STATUS_DEV_UP ? dev->backend : NULL);
		fputs(", ", f);
		j_str(f, "public_key", dev->state == STATUS_DEV_UP ? dev->pubkey : NULL);
		fputs(", ", f);
		j_int(f, "listen_port", dev->listen_port,
		      dev->state == STATUS_DEV_UP && dev->listen_port);
		fputs(", ", f);
		j_str(f, "error", dev->state == STATUS_DEV_UNREADABLE ? strerror(-dev->err) : NULL);
		fputs(", \"peers\": [", f);
		for (size_t i = 0; i < dev->n_peers; i++) {
			const struct status_live_peer *lp = &dev->peers[i];
			struct status_peer m;
			status_merge(in, dev, lp, &m);
			fprintf(f, "%s\n    {", i ? "," : "");
			j_str(f, "peer", lp->key);
			fputs(", ", f);
			j_str(f, "endpoint", lp->endpoint);
			fputs(", ", f);
			j_int(f, "latest_handshake", lp->last_handshake, lp->last_handshake > 0);
			fputs(", ", f);
			j_int(f, "latest_handshake_age_s", in->now - lp->last_handshake,
			      lp->last_handshake > 0);
			fprintf(f, ", \"rx_bytes\": %llu, \"tx_bytes\": %llu, ",
			        (unsigned long long)lp->rx_bytes, (unsigned long long)lp->tx_bytes);
			j_int(f, "persistent_keepalive", lp->keepalive, lp->keepalive > 0);
			fputs(", ", f);
			j_str(f, "path", m.path);
			fputs(", ", f);
			j_str(f, "mode", m.mode);
			fputs(", ", f);
			j_str(f, "circuit", m.circuit);
			fputs(", ", f);
			j_str(f, "relay_endpoint", m.relay_endpoint);
			fputs(", ", f);
			j_str(f, "relay_pubkey", m.relay_pubkey);
			fputs(", ", f);
			j_str(f, "direct_endpoint", m.direct_endpoint);
			fputs(", ", f);
			j_int(f, "since", m.since, m.since > 0);
			fputs(", ", f);
			j_str(f, "why", m.why);
			fprintf(f, ", \"stale\": %s, ", m.stale ? "true" : "false");
			j_str(f, "note", m.note);
			fputs(", ", f);
			j_str(f, "next", m.next);
			fputs(", ", f);
			j_int(f, "next_at", m.next_at, m.next_at > 0);
			fputs(", \"relay_choice\": ", f);
			if (m.plan && m.plan->n_relays) {
				fprintf(f, "{\"geo_known\": %s, \"geoip\": %s, ",
				        m.plan->geo_known ? "true" : "false",
				        geo_db(in) ? "true" : "false");
				j_choice(f, "chosen", &m.plan->relays[0]);
				fputs(", ", f);
				j_choice(f, "runner_up",
				         m.plan->n_relays > 1 ? &m.plan->relays[1] : NULL);
				fputs("}", f);
			} else {
				fputs("null", f);
			}
			fputs("}", f);
		}
		fprintf(f, "%s]}", dev->n_peers ? "\n  " : "");
	}
	fprintf(f, "%s]}\n", in->n_devs ? "\n " : "");
}

void status_print_dump(FILE *f, const struct status_in *in)
{
	for (size_t d = 0; d < in->n_devs; d++) {
		const struct status_dev_info *dev = &in->devs[d];
		for (size_t i = 0; i < dev->n_peers; i++) {
			struct status_peer m;
			status_merge(in, dev, &dev->peers[i], &m);
			fprintf(f, "%s\t%s\t%s\t%s\t%s\t%s\t%lld\t%lld\t%s\t%s\n", dev->name,
			        dev->peers[i].key, m.path,
			        m.relay_endpoint ? m.relay_endpoint : "(none)",
			        m.relay_pubkey ? m.relay_pubkey : "(none)",
			        m.direct_endpoint ? m.direct_endpoint : "(none)",
			        (long long)m.since, (long long)(m.rec ? m.rec->updated : 0),
			        m.why ? m.why : "", m.mode ? m.mode : "-");
		}
	}
}

/* ---- reading the system and the cache ---- */

bool status_pid_alive(int64_t pid)
{
	char path[64], line[256];
	FILE *f;
	bool ok = false;

	if (pid <= 0 || pid > 0x7fffffff)
		return false;
	snprintf(path, sizeof(path), "/proc/%lld/stat", (long long)pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	/* "PID (COMM) STATE ...": a wgrelay, and not a zombie (killed, not yet reaped). */
	if (fgets(line, sizeof(line), f)) {
		const char *open = strchr(line, '('), *close = strrchr(line, ')');
		ok = open && close && close > open && strncmp(open + 1, "wgrelay", 7) == 0 &&
		     close[1] == ' ' && close[2] != 'Z' && close[2] != 'X' && close[2] != 'x';
	}
	fclose(f);
	return ok;
}

static bool in_list(char **names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

/* Read one interface as it is now. */
static void read_dev(struct status_dev_info *d, const char *name)
{
	struct wg_device *dev = NULL;
	int rc, kind;

	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);
	rc = wg_get_device(name, &dev);
	if (rc == 0) {
		d->state = STATUS_DEV_UP;
		d->backend = dev->backend == WG_BACKEND_UAPI ? "userspace" : "kernel";
		if (dev->flags & WG_DEVICE_HAS_PUBLIC_KEY)
			key_to_base64(d->pubkey, dev->public_key);
		d->listen_port = dev->listen_port;
		d->peers = dev->n_peers ? calloc(dev->n_peers, sizeof(*d->peers)) : NULL;
		for (size_t i = 0; d->peers && i < dev->n_peers; i++) {
			const struct wg_peer *p = &dev->peers[i];
			struct status_live_peer *o = &d->peers[d->n_peers++];
			key_to_base64(o->key, p->public_key);
			o->ep = p->endpoint;
			if (p->endpoint.len)
				addr_format(&p->endpoint, o->endpoint, sizeof(o->endpoint));
			o->last_handshake = p->last_handshake.tv_sec;
			o->rx_bytes = p->rx_bytes;
			o->tx_bytes = p->tx_bytes;
			o->keepalive = p->persistent_keepalive_interval;
		}
		wg_free_device(dev);
		return;
	}
	d->err = rc;
	kind = rc == -EPERM || rc == -EACCES ? 0 : cli_wg_iface(name);
	if (kind == -ENODEV || (kind == 0 && rc == -ENODEV))
		d->state = STATUS_DEV_ABSENT;
	else if (kind == -EMEDIUMTYPE)
		d->state = STATUS_DEV_NOT_WG;
	else
		d->state = STATUS_DEV_UNREADABLE;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static const char status_help[] =
    "Usage: wgrelay status [IFACE] [--json | dump]\n"
    "Show each peer of the WireGuard interfaces (default: every WireGuard interface and\n"
    "every configured one) as WireGuard has it now: endpoint, latest handshake, transfer;\n"
    "with what the helper (`wgrelay watch`) published: the path (direct, relayed via\n"
    "RELAY in direct or sealed mode, relayed in circuit mode with the circuit's hops,\n"
    "trying-direct), since when and why, the next step and\n"
    "the relay choice (chosen and runner-up: distance, RTT, load, score), and whether the\n"
    "helper is running; its records are marked stale when it is not. Read-only.\n"
    "--json prints a JSON document; dump prints one tab-separated line per peer:\n"
    "iface peer path relay-endpoint relay-pubkey endpoint since updated why mode\n"
    "Exit status 1: IFACE is not a WireGuard interface, or a device or the database\n"
    "cannot be read.\n";

int cmd_status(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	bool json = false, dump = false;
	const char *iface = NULL;
	struct cache *c = NULL;
	struct cache_helper helper;
	struct status_in in = {.now = time(NULL)};
	struct cache_iface *ifs = NULL;
	struct cache_peer *peers = NULL;
	struct cache_plan *plans = NULL;
	struct cache_session *sess = NULL;
	struct cache_relay *relays = NULL;
	struct status_dev_info *devs = NULL;
	char **wg_names = NULL, **names = NULL;
	size_t n_wg = 0, n_names = 0;
	char ifname[CACHE_TEXT];
	int ch, rc = CLI_OK;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (ch == 'j') {
			json = true;
		} else if (ch == 'h') {
			fputs(status_help, stdout);
			return CLI_OK;
		} else {
			fputs(status_help, stderr);
			return CLI_USAGE;
		}
	}
	for (int i = optind; i < argc; i++) {
		if (strcmp(argv[i], "dump") == 0)
			dump = true;
		else if (!iface && ifconf_name_ok(argv[i]))
			iface = argv[i];
		else {
			fputs(status_help, stderr);
			return CLI_USAGE;
		}
	}
	if (json && dump) {
		fprintf(stderr, "status: --json and dump exclude each other\n");
		return CLI_USAGE;
	}

	/* The cache: read-only; a missing one means nothing configured yet. */
	if (cli_open_cache_ro(ctx, "status", &c) >= 0) {
		if (cache_iface_list(c, &ifs, &in.n_ifs) < 0 ||
		    cache_peer_list(c, iface, &peers, &in.n_peers) < 0 ||
		    cache_plan_list(c, iface, &plans, &in.n_plans) < 0 ||
		    cache_session_list(c, iface, &sess, &in.n_sessions) < 0 ||
		    cache_relay_list(c, &relays, &in.n_relays) < 0) {
			fprintf(stderr, "status: cannot read the cache %s\n", ctx->db_path);
			rc = CLI_ERR;
		}
		if (cache_helper_get(c, &helper) == 0) {
			in.helper = &helper;
			in.helper_alive = status_pid_alive(helper.pid);
		}
		cache_free(c);
	} else {
		rc = CLI_ERR; /* said why; WireGuard's own state is still worth showing */
	}
	in.ifs = ifs;
	in.peers = peers;
	in.plans = plans;
	in.sessions = sess;
	in.relays = relays;
	if (!in.helper || status_helper_state(&in) != STATUS_HELPER_RUNNING) {
		struct geoip *g = NULL;
		in.geoip_present = geoip_open(&g, ctx->geoip_path) == 0;
		geoip_free(g);
	}

	/* The interfaces: the one named, else every WireGuard one and every configured one. */
	if (wg_list_devices(&wg_names, &n_wg) < 0) {
		wg_names = NULL;
		n_wg = 0;
	}
	names = calloc(n_wg + in.n_ifs + 1, sizeof(*names));
	if (!names) {
		rc = CLI_ERR;
		goto out;
	}
	if (iface) {
		snprintf(ifname, sizeof(ifname), "%s", iface);
		names[n_names++] = ifname;
	} else {
		for (size_t i = 0; i < n_wg; i++)
			names[n_names++] = wg_names[i];
		for (size_t i = 0; i < in.n_ifs; i++)
			if (!in_list(names, n_names, ifs[i].name))
				names[n_names++] = ifs[i].name;
		qsort(names, n_names, sizeof(*names), name_cmp);
	}
	devs = calloc(n_names + 1, sizeof(*devs));
	if (!devs) {
		rc = CLI_ERR;
		goto out;
	}
	for (size_t i = 0; i < n_names; i++) {
		read_dev(&devs[i], names[i]);
		if (devs[i].state == STATUS_DEV_UNREADABLE)
			rc = CLI_ERR;
	}
	in.devs = devs;
	in.n_devs = n_names;

	if (iface && devs[0].state != STATUS_DEV_UP) {
		const struct cache_iface *s = status_iface_cfg(&in, iface);
		if (devs[0].state == STATUS_DEV_ABSENT)
			fprintf(stderr, "status: %s: no such interface%s\n", iface,
			        s && s->enabled ? " (relay fallback is enabled for it: the helper "
			                          "picks it up when it appears)"
			                        : "");
		else if (devs[0].state == STATUS_DEV_NOT_WG)
			fprintf(stderr, "status: %s: not a WireGuard interface\n", iface);
		else
			fprintf(stderr, "status: %s: cannot read it: %s%s\n", iface,
			        strerror(-devs[0].err),
			        devs[0].err == -EPERM || devs[0].err == -EACCES
			            ? " (needs root or CAP_NET_ADMIN)"
			            : "");
		rc = CLI_ERR;
		goto out;
	}
	if (json)
		status_print_json(stdout, &in);
	else if (dump)
		status_print_dump(stdout, &in);
	else
		status_print_text(stdout, &in);
out:
	for (size_t i = 0; devs && i < n_names; i++)
		free(devs[i].peers);
	free(devs);
	free(names);
	wg_free_names(wg_names);
	free(ifs);
	free(peers);
	free(plans);
	free(sess);
	free(relays);
	return rc;
}
