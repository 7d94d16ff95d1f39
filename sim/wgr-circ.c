/*
 * wgr-circ.c: wgr-circ, a stand-in client for multi-hop circuits (PROTOCOL.md §13) in the
 * circuits scenario (tests/e2e/24_circuits.sh) and its bench: it plays the helper's part for
 * one WireGuard peer over a path given on the command line, so that the relays can be tested
 * and measured on fixed paths (the helper, which chooses its own, is scenario 25's). It is a
 * test tool, built and never installed, with none of the helper's relay choice, descriptors,
 * pool or persistence.
 *
 * It holds one client link with the entry relay (§4: Noise IK with a key of its own made at
 * start, a COOKIE answered once per initiation, a KEEPALIVE after 25 s of silence, a new
 * handshake every 120 s: the relay moves the circuit onto the new link of the same key), and
 * one circuit at a time over it (common/circbuild.c: CREATE, one EXTEND per further hop, then
 * RENDEZVOUS with the cookie at the last hop). Once SPLICED, it bridges WireGuard: a datagram
 * from --wg arriving at --listen goes into the circuit (dropped and counted when over the
 * circuit's MTU), a datagram out of the circuit goes to --wg from --listen. A circuit that is
 * destroyed, or whose step times out, is built again after 1, 2, 4 ... 30 s.
 *
 *   wgr-circ --relay HOST:PORT NOISEKEY_B64 IDENTITY_B64 [--relay ...] (1..4, entry first)
 *            --cookie HEX32 --listen 127.0.0.1:PORT --wg 127.0.0.1:PORT
 *            [--pidfile FILE] [--status FILE]
 *   wgr-circ --mtu HOPS   print the circuit MTU of HOPS hops and WireGuard's MTU over it
 *
 * One line per state change on stderr. The status file (rewritten once a second) holds
 * "key value" lines: state, circ_mtu, builds, spliced, destroyed, failed, rekeys, to_circ,
 * from_circ, oversize, dropped. SIGTERM or SIGINT: DESTROY the circuit, exit 0.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "addr.h"
#include "cell.h"
#include "circbuild.h"
#include "circmsg.h"
#include "ev.h"
#include "frame.h"
#include "handshake.h"
#include "key.h"
#include "onion.h"
#include "proto.h"

#define WC_MAX_HOPS     4
#define WC_STEP_MS      10000 /* a CREATE or EXTEND answered */
#define WC_MEET_MS      55000 /* the other side's RENDEZVOUS met: within the relay's 60 s */
#define WC_HS_RETRY_MS  5000  /* an HS_INIT unanswered: a new one */
#define WC_LINK_DEAD_MS 70000 /* nothing from the relay, though KEEPALIVEs are answered */
#define WC_PREV_MS      15000 /* the previous link's keys still open what was in flight */
#define WC_PAD_MS       30000 /* a PADDING cell when the circuit carried nothing this long */
#define WC_BACKOFF_MAX  30    /* seconds */
#define WC_BURST        64    /* datagrams read from one socket per wake-up */
#define WC_WG_OVERHEAD  32    /* WireGuard data message: header 16, tag 16 (no padding past MTU) */

#define FRAME_LEN CELL_FRAME_LEN(CELL_BODY_1500)

/* One client link's keys and its cells' own counter and window (§13.1). */
struct wc_link {
	bool up;
	struct link_keys keys;
	uint8_t cell_send[32], cell_recv[32];
	uint64_t cell_counter;
	struct replay cell_rp;
};

enum wc_state { WC_WAIT, WC_BUILDING, WC_MEETING, WC_SPLICED };
static const char *const wc_state_names[] = {"waiting", "building", "meeting", "spliced"};

struct wc {
	int rfd, lfd; /* to the entry relay (connected); WireGuard's side */
	struct addr relay, listen, wg;
	struct circ_hop path[WC_MAX_HOPS];
	unsigned n;
	uint8_t cookie[CIRCMSG_COOKIE_LEN];
	uint8_t priv[32];
	struct hs_client hs;
	bool hs_pending, hs_cookie_used;
	uint64_t hs_sent_ms, rekey_ms, last_tx_ms, last_rx_ms, last_ka_ms, prev_until_ms;
	struct wc_link cur, prev;
	struct circ c;
	enum wc_state st;
	unsigned built_logged, backoff_s;
	uint64_t next_build_ms, last_cell_ms, spliced_ms;
	const char *status;
	/* counters for the status file */
	uint64_t builds, spliced, destroyed, failed, rekeys, to_circ, from_circ, oversize, dropped;
};

static volatile sig_atomic_t wc_stop;

static void wc_on_signal(int sig)
{
	(void)sig;
	wc_stop = 1;
}

/* One line on stderr, with the wall-clock time (the scenario compares it with its own). */
static void wc_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void wc_log(const char *fmt, ...)
{
	struct timespec ts;
	struct tm tm;
	char t[16];
	va_list ap;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(t, sizeof(t), "%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ld wgr-circ: ", t, ts.tv_nsec / 1000000);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void wc_send(struct wc *w, const uint8_t *p, size_t len)
{
	if (send(w->rfd, p, len, 0) < 0)
		return; /* the link's keepalive and the circuit's steps retry */
	w->last_tx_ms = ev_clock_ms();
}

static void wc_link_clear(struct wc_link *l)
{
	link_keys_clear(&l->keys);
	sodium_memzero(l, sizeof(*l));
}

/* A control message on the current link (KEEPALIVE, RESPONSE: requests, padded). */
static void wc_send_ctrl(struct wc *w, struct wc_link *l, const struct ctrl_msg *m)
{
	uint8_t pt[PROTO_MAX_CTRL_PLAIN], frame[PROTO_MAX_CTRL_PLAIN + PROTO_SEALED_OVERHEAD];
	int n = ctrl_encode(m, pt, sizeof(pt));

	if (n < 0 || (n = frame_seal_ctrl(frame, sizeof(frame), l->keys.remote_index,
	                                  l->keys.ctrl_send_counter++, l->keys.ctrl_send, pt,
	                                  (size_t)n)) < 0)
		return;
	wc_send(w, frame, (size_t)n);
}

/* A cell on the current link, sealed with its cell key and counter. */
static void wc_send_cell(struct wc *w, const struct cell *c)
{
	uint8_t frame[FRAME_LEN];
	int n;

	if (!w->cur.up)
		return;
	n = cell_seal(frame, sizeof(frame), w->cur.keys.remote_index, w->cur.cell_counter++,
	              w->cur.cell_send, c);
	if (n < 0)
		return;
	wc_send(w, frame, (size_t)n);
	w->last_cell_ms = ev_clock_ms();
}

static void wc_handshake(struct wc *w, uint64_t now)
{
	uint8_t init[PROTO_HS_INIT_LEN];

	hs_client_build_init(&w->hs, init, now);
	w->hs_pending = true;
	w->hs_cookie_used = false;
	w->hs_sent_ms = now;
	wc_send(w, init, sizeof(init));
}

/* The circuit is gone (destroyed, or given up on): build again after the backoff. */
static void wc_rebuild_later(struct wc *w, uint64_t now, bool send_destroy)
{
	uint8_t body[CELL_BODY_1500];
	struct cell out = {.body = body};

	if (send_destroy && w->c.state != CIRC_DESTROYED && w->st != WC_WAIT) {
		circ_destroy(&w->c, &out);
		wc_send_cell(w, &out);
	}
	sodium_memzero(&w->c, sizeof(w->c));
	w->c.state = CIRC_DESTROYED;
	w->st = WC_WAIT;
	if (!w->backoff_s)
		w->backoff_s = 1;
	w->next_build_ms = now + w->backoff_s * 1000ULL;
	wc_log("circuit: rebuilding in %u s", w->backoff_s);
	w->backoff_s = w->backoff_s * 2 > WC_BACKOFF_MAX ? WC_BACKOFF_MAX : w->backoff_s * 2;
}

static void wc_build(struct wc *w, uint64_t now)
{
	uint8_t body[CELL_BODY_1500];
	struct cell out = {.body = body};

	if (circ_start(&w->c, w->path, w->n, CIRCHS_CLASS_1500, now, &out) < 0) {
		wc_log("circuit: cannot start (a hop's key is no key)");
		wc_rebuild_later(w, now, false);
		return;
	}
	w->builds++;
	w->built_logged = 0;
	w->st = WC_BUILDING;
	wc_send_cell(w, &out);
	wc_log("circuit: building %u hop(s), CREATE sent (build %llu)", w->n,
	       (unsigned long long)w->builds);
}

static void wc_to_wg(struct wc *w, const uint8_t *data, size_t len)
{
	if (sendto(w->lfd, data, len, 0, &w->wg.sa, w->wg.len) < 0) {
		w->dropped++;
		return;
	}
	w->from_circ++;
}

/* A cell of the circuit, opened on the link: the circuit's next step. */
static void wc_cell(struct wc *w, struct cell *in, uint64_t now)
{
	uint8_t body[CELL_BODY_1500];
	struct cell out = {.body = body};
	const uint8_t *data = NULL;
	size_t len = 0;
	bool has_out = false;
	enum circ_event ev;

	if (w->st == WC_WAIT || in->circ_id != w->c.circ_id)
		return; /* an old circuit's, e.g. the DESTROY of one given up on */
	ev = circ_input(&w->c, in, now, &out, &has_out, &data, &len);
	if (has_out)
		wc_send_cell(w, &out);
	if (w->c.built > w->built_logged && w->c.built < w->n) {
		w->built_logged = w->c.built;
		wc_log("circuit: hop %u of %u built, EXTEND sent", w->c.built, w->n);
	}
	switch (ev) {
	case CIRC_EV_BUILT:
		w->built_logged = w->c.built;
		if (circ_rendezvous(&w->c, w->cookie, now, &out) < 0) {
			wc_rebuild_later(w, now, true);
			return;
		}
		wc_send_cell(w, &out);
		w->st = WC_MEETING;
		wc_log("circuit: %u hop(s) built, RENDEZVOUS sent", w->n);
		return;
	case CIRC_EV_SPLICED:
		w->spliced++;
		w->spliced_ms = now;
		w->backoff_s = 1;
		w->st = WC_SPLICED;
		wc_log("circuit: SPLICED, circuit MTU %zu (WireGuard MTU at most %zu)",
		       circ_mtu(&w->c), circ_mtu(&w->c) - WC_WG_OVERHEAD);
		return;
	case CIRC_EV_DATA:
		wc_to_wg(w, data, len);
		return;
	case CIRC_EV_DESTROYED:
		w->destroyed++;
		if (w->st == WC_SPLICED)
			wc_log("circuit: DESTROYED (spliced for %llu s)",
			       (unsigned long long)((now - w->spliced_ms) / 1000));
		else
			wc_log("circuit: DESTROYED while %s (%u of %u hops built)",
			       wc_state_names[w->st], w->c.built, w->n);
		wc_rebuild_later(w, now, false);
		return;
	case CIRC_EV_DROPPED:
		w->dropped++;
		if (w->c.state == CIRC_FAILING) {
			w->failed++;
			wc_log("circuit: a hop's answer did not verify");
			wc_rebuild_later(w, now, true);
		}
		return;
	default:
		return;
	}
}

/* HS_RESP: the new link becomes current; the previous one opens late frames a while longer. */
static void wc_link_up(struct wc *w, const uint8_t *p, size_t n, uint64_t now)
{
	struct ctrl_msg ka = {.type = CTRL_KEEPALIVE};
	struct link_keys keys;
	struct addr seen;
	char rs[ADDR_STRLEN], ss[ADDR_STRLEN];

	if (!w->hs_pending || hs_client_consume_resp(&w->hs, p, n, &keys, &seen) != 0)
		return;
	w->hs_pending = false;
	if (w->cur.up) {
		wc_link_clear(&w->prev);
		w->prev = w->cur;
		w->prev_until_ms = now + WC_PREV_MS;
		w->rekeys++;
	}
	memset(&w->cur, 0, sizeof(w->cur));
	w->cur.keys = keys;
	link_keys_clear(&keys);
	cell_derive_key(w->cur.cell_send, w->cur.keys.data_send);
	cell_derive_key(w->cur.cell_recv, w->cur.keys.data_recv);
	replay_init(&w->cur.cell_rp);
	w->cur.up = true;
	w->rekey_ms = now + PROTO_REKEY_AFTER_MS;
	w->last_rx_ms = now;
	/* Proves the link at once (§4.4): the relay moves the circuit onto it. */
	wc_send_ctrl(w, &w->cur, &ka);
	wc_log("link: up with %s, seen as %s%s", addr_format(&w->relay, rs, sizeof(rs)),
	       addr_format(&seen, ss, sizeof(ss)), w->prev.up ? " (rekey)" : "");
}

/* The link whose local index a frame names: the current or the previous one. */
static struct wc_link *wc_link_of(struct wc *w, uint32_t index)
{
	if (w->cur.up && w->cur.keys.local_index == index)
		return &w->cur;
	if (w->prev.up && w->prev.keys.local_index == index)
		return &w->prev;
	return NULL;
}

static void wc_ctrl(struct wc *w, const uint8_t *p, size_t n, uint64_t now)
{
	uint8_t pt[PROTO_MAX_CTRL_PLAIN];
	struct ctrl_msg m, resp = {.type = CTRL_RESPONSE};
	struct wc_link *l;
	uint64_t counter;
	uint32_t index;
	int k;

	frame_sealed_fields(p, &index, &counter);
	if (!(l = wc_link_of(w, index)) ||
	    (k = frame_open_ctrl(p, n, l->keys.ctrl_recv, &l->keys.ctrl_replay, pt, sizeof(pt))) <
	        0 ||
	    ctrl_decode(pt, (size_t)k, &m) < 0)
		return;
	w->last_rx_ms = now;
	if (m.type == CTRL_CHALLENGE) {
		/* Our NAT gave us a new port: prove it, so the link (and the circuit) move there. */
		memcpy(resp.token, m.token, sizeof(resp.token));
		wc_send_ctrl(w, l, &resp);
		wc_log("link: CHALLENGE answered");
	} else if (m.type == CTRL_ERROR) {
		wc_log("link: ERROR %s from the relay: %s", proto_error_name(m.code), m.text);
	}
}

static void wc_cell_frame(struct wc *w, uint8_t *p, size_t n, uint64_t now)
{
	struct wc_link *l;
	struct cell c;
	uint64_t counter;
	uint32_t index;

	if (n < PROTO_SEALED_HDR_LEN)
		return;
	cell_link_fields(p, &index, &counter);
	if (!(l = wc_link_of(w, index)) || cell_open(p, n, l->cell_recv, &l->cell_rp, &c) != 0) {
		w->dropped++;
		return;
	}
	w->last_rx_ms = now;
	wc_cell(w, &c, now);
}

static void wc_from_relay(struct wc *w, uint64_t now)
{
	uint8_t buf[2048];

	for (int i = 0; i < WC_BURST; i++) {
		ssize_t n = recv(w->rfd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n <= 0)
			return;
		switch (frame_check(buf, (size_t)n)) {
		case PROTO_HS_RESP:
			wc_link_up(w, buf, (size_t)n, now);
			break;
		case PROTO_COOKIE:
			/* Under load: one cookie per initiation, then the initiation again. */
			if (w->hs_pending && !w->hs_cookie_used &&
			    hs_client_consume_cookie(&w->hs, buf, (size_t)n, now) == 0) {
				uint8_t init[PROTO_HS_INIT_LEN];

				hs_client_build_init(&w->hs, init, now);
				w->hs_cookie_used = true;
				w->hs_sent_ms = now;
				wc_send(w, init, sizeof(init));
				wc_log("link: COOKIE answered");
			}
			break;
		case PROTO_CTRL:
			wc_ctrl(w, buf, (size_t)n, now);
			break;
		case PROTO_CELL:
			wc_cell_frame(w, buf, (size_t)n, now);
			break;
		default:
			w->dropped++;
		}
	}
}

/* Datagrams of WireGuard (from --wg only) into the circuit once it is spliced. */
static void wc_from_wg(struct wc *w)
{
	uint8_t buf[2048], body[CELL_BODY_1500];
	struct cell out = {.body = body};

	for (int i = 0; i < WC_BURST; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct addr from;
		ssize_t n =
		    recvfrom(w->lfd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&ss, &sl);
		int r;

		if (n < 0)
			return;
		addr_from_sockaddr(&from, (struct sockaddr *)&ss, sl);
		if (!addr_equal(&from, &w->wg) || w->st != WC_SPLICED) {
			w->dropped++;
			continue;
		}
		r = circ_send(&w->c, buf, (size_t)n, &out);
		if (r == -EMSGSIZE) {
			if (!w->oversize++)
				wc_log("circuit: a %zd-byte datagram is over the circuit MTU %zu: "
				       "dropped (counted as oversize)",
				       n, circ_mtu(&w->c));
			continue;
		}
		if (r < 0) {
			w->dropped++;
			continue;
		}
		wc_send_cell(w, &out);
		w->to_circ++;
	}
}

/*
 * Timers: handshake retries and rekeys, keepalives, the circuit's steps, padding. The times
 * compared are written as "then + interval <= now": a frame sent while this wake-up's
 * datagrams were handled is stamped later than now.
 */
static void wc_tick(struct wc *w, uint64_t now)
{
	struct ctrl_msg ka = {.type = CTRL_KEEPALIVE};
	uint8_t body[CELL_BODY_1500];
	struct cell out = {.body = body};

	if (w->hs_pending && w->hs_sent_ms + WC_HS_RETRY_MS <= now)
		wc_handshake(w, now);
	if (!w->hs_pending && w->cur.up && now >= w->rekey_ms)
		wc_handshake(w, now);
	if (w->prev.up && now >= w->prev_until_ms)
		wc_link_clear(&w->prev);
	if (w->cur.up && w->last_rx_ms + WC_LINK_DEAD_MS <= now) {
		/* The relay is gone or forgot us: a new link, and the circuit went with the old. */
		wc_log("link: nothing from the relay for %d s: down", WC_LINK_DEAD_MS / 1000);
		wc_link_clear(&w->cur);
		wc_link_clear(&w->prev);
		if (w->st != WC_WAIT)
			wc_rebuild_later(w, now, false);
		wc_handshake(w, now);
		return;
	}
	if (!w->cur.up)
		return;
	/* Also when only we talk (one-way traffic): the relay's answer shows the link is alive. */
	if (w->last_tx_ms + PROTO_KEEPALIVE_MS <= now ||
	    (w->last_rx_ms + PROTO_KEEPALIVE_MS <= now &&
	     w->last_ka_ms + PROTO_KEEPALIVE_MS <= now)) {
		wc_send_ctrl(w, &w->cur, &ka);
		w->last_ka_ms = now;
	}
	if (w->st == WC_WAIT) {
		if (now >= w->next_build_ms)
			wc_build(w, now);
		return;
	}
	if (circ_tick(&w->c, now, w->st == WC_MEETING ? WC_MEET_MS : WC_STEP_MS)) {
		w->failed++;
		wc_log("circuit: no answer while %s (%u of %u hops built): given up",
		       wc_state_names[w->st], w->c.built, w->n);
		wc_rebuild_later(w, now, true);
		return;
	}
	if (w->st == WC_SPLICED && w->last_cell_ms + WC_PAD_MS <= now && circ_pad(&w->c, &out) == 0)
		wc_send_cell(w, &out); /* keeps every hop's idle timer (§13.5: 180 s) away */
}

static void wc_write_status(const struct wc *w)
{
	char tmp[4200];
	FILE *f;

	if (!w->status)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", w->status);
	if (!(f = fopen(tmp, "w")))
		return;
	fprintf(f,
	        "state %s\ncirc_mtu %zu\nbuilds %llu\nspliced %llu\ndestroyed %llu\nfailed %llu\n"
	        "rekeys %llu\nto_circ %llu\nfrom_circ %llu\noversize %llu\ndropped %llu\n",
	        wc_state_names[w->st], w->st == WC_SPLICED ? circ_mtu(&w->c) : (size_t)0,
	        (unsigned long long)w->builds, (unsigned long long)w->spliced,
	        (unsigned long long)w->destroyed, (unsigned long long)w->failed,
	        (unsigned long long)w->rekeys, (unsigned long long)w->to_circ,
	        (unsigned long long)w->from_circ, (unsigned long long)w->oversize,
	        (unsigned long long)w->dropped);
	if (fclose(f) == 0)
		rename(tmp, w->status);
}

static int wc_socket(const struct addr *bind_to, const struct addr *connect_to)
{
	int fd = socket(connect_to ? addr_family(connect_to) : addr_family(bind_to),
	                SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if ((bind_to && bind(fd, &bind_to->sa, bind_to->len) < 0) ||
	    (connect_to && connect(fd, &connect_to->sa, connect_to->len) < 0)) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

static int wc_hex(uint8_t *out, size_t len, const char *hex)
{
	size_t bin_len = 0;

	if (strlen(hex) != 2 * len ||
	    sodium_hex2bin(out, len, hex, strlen(hex), NULL, &bin_len, NULL) != 0 || bin_len != len)
		return -EINVAL;
	return 0;
}

static __attribute__((noreturn)) void wc_usage(void)
{
	fprintf(stderr,
	        "usage: wgr-circ --relay HOST:PORT NOISEKEY IDENTITY [--relay ...] (1-%d hops, "
	        "entry first)\n"
	        "                --cookie HEX32 --listen 127.0.0.1:PORT --wg 127.0.0.1:PORT\n"
	        "                [--pidfile FILE] [--status FILE]\n"
	        "       wgr-circ --mtu HOPS\n",
	        WC_MAX_HOPS);
	exit(2);
}

/* --mtu HOPS: what circ_mtu says for HOPS hops of the 1500 class, and WireGuard's MTU. */
static int wc_print_mtu(const char *hops)
{
	char *end;
	unsigned long n = strtoul(hops, &end, 10);
	size_t mtu;

	if (*end || n < 1 || n > WC_MAX_HOPS)
		wc_usage();
	mtu = circmsg_data_max(onion_room(CELL_BODY_1500, (unsigned)n)); /* = circ_mtu */
	printf("circ_mtu %zu wg_mtu %zu\n", mtu, mtu - WC_WG_OVERHEAD);
	return 0;
}

static void wc_parse(struct wc *w, int argc, char **argv, const char **pidfile)
{
	bool have_cookie = false;

	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];

		if (!strcmp(o, "--relay") && i + 3 < argc) {
			struct circ_hop *h = &w->path[w->n];

			if (w->n == WC_MAX_HOPS)
				wc_usage();
			if ((w->n == 0 &&
			     addr_parse(&w->relay, argv[i + 1], PROTO_DEFAULT_PORT) < 0) ||
			    key_from_base64(h->noise_pub, argv[i + 2]) < 0 ||
			    key_from_base64(h->identity, argv[i + 3]) < 0) {
				fprintf(stderr, "wgr-circ: --relay %s: bad address or key\n",
				        argv[i + 1]);
				exit(2);
			}
			w->n++;
			i += 3;
		} else if (!strcmp(o, "--cookie") && i + 1 < argc) {
			if (wc_hex(w->cookie, sizeof(w->cookie), argv[++i]) < 0) {
				fprintf(stderr, "wgr-circ: --cookie: 32 hex digits\n");
				exit(2);
			}
			have_cookie = true;
		} else if (!strcmp(o, "--listen") && i + 1 < argc) {
			if (addr_parse(&w->listen, argv[++i], 0) < 0)
				wc_usage();
		} else if (!strcmp(o, "--wg") && i + 1 < argc) {
			if (addr_parse(&w->wg, argv[++i], 0) < 0)
				wc_usage();
		} else if (!strcmp(o, "--pidfile") && i + 1 < argc) {
			*pidfile = argv[++i];
		} else if (!strcmp(o, "--status") && i + 1 < argc) {
			w->status = argv[++i];
		} else {
			wc_usage();
		}
	}
	if (!w->n || !have_cookie || !w->listen.len || !w->wg.len)
		wc_usage();
}

int main(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = wc_on_signal};
	const char *pidfile = NULL;
	uint64_t last_status = 0;
	struct wc w;

	if (sodium_init() < 0)
		return 1;
	if (argc == 3 && !strcmp(argv[1], "--mtu"))
		return wc_print_mtu(argv[2]);
	memset(&w, 0, sizeof(w));
	wc_parse(&w, argc, argv, &pidfile);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((w.rfd = wc_socket(NULL, &w.relay)) < 0 || (w.lfd = wc_socket(&w.listen, NULL)) < 0) {
		fprintf(stderr, "wgr-circ: sockets: %s\n", strerror(-(w.rfd < 0 ? w.rfd : w.lfd)));
		return 1;
	}
	if (pidfile) {
		FILE *f = fopen(pidfile, "w");

		if (f) {
			fprintf(f, "%ld\n", (long)getpid());
			fclose(f);
		}
	}
	key_generate_private(w.priv);
	hs_client_init(&w.hs, w.priv, w.path[0].noise_pub);
	w.c.state = CIRC_DESTROYED;
	w.st = WC_WAIT;
	{
		char es[ADDR_STRLEN], gs[ADDR_STRLEN];

		wc_log("%u hop(s), entry %s, WireGuard at %s", w.n,
		       addr_format(&w.relay, es, sizeof(es)), addr_format(&w.wg, gs, sizeof(gs)));
	}
	wc_handshake(&w, ev_clock_ms());
	while (!wc_stop) {
		struct pollfd p[2] = {{.fd = w.rfd, .events = POLLIN},
		                      {.fd = w.lfd, .events = POLLIN}};
		uint64_t now;

		/* 100 ms: the timers are seconds apart; no wake-up storm while idle. */
		if (poll(p, 2, 100) < 0 && errno != EINTR)
			break;
		now = ev_clock_ms();
		/* POLLERR too: a pending ICMP error (the relay's port closed) is cleared by recv,
		 * or poll would report it at once again and again. */
		if (p[0].revents & (POLLIN | POLLERR))
			wc_from_relay(&w, now);
		if (p[1].revents & (POLLIN | POLLERR))
			wc_from_wg(&w);
		wc_tick(&w, now);
		if (now - last_status >= 1000) {
			wc_write_status(&w);
			last_status = now;
		}
	}
	if (w.st != WC_WAIT) { /* DESTROY out: the relays free the circuit now, not when idle */
		uint8_t body[CELL_BODY_1500];
		struct cell out = {.body = body};

		circ_destroy(&w.c, &out);
		wc_send_cell(&w, &out);
		w.st = WC_WAIT;
	}
	wc_write_status(&w);
	wc_log("stopped");
	wc_link_clear(&w.cur);
	wc_link_clear(&w.prev);
	sodium_memzero(w.priv, sizeof(w.priv));
	close(w.rfd);
	close(w.lfd);
	return 0;
}
