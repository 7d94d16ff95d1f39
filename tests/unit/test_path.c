/*
 * test_path.c: the helper's path state machine through every transition, second by second,
 * with a fake clock and fake counters: what WireGuard would show, what the relays say.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "path.h"

#define T0 100000

/* A world: one peer, two relays, WireGuard's counters and endpoint as path_step sees them. */
struct world {
	struct path_peer p;
	struct path_relay r[2];
	size_t order[2];
	struct path_view v;
	struct path_out out;
	struct addr direct;
};

static void addr_of(struct addr *a, const char *s)
{
	assert_int_equal(addr_parse(a, s, 0), 0);
}

static struct world *W(void)
{
	static struct world w;
	memset(&w, 0, sizeof(w));
	path_init(&w.p);
	addr_of(&w.direct, "198.51.100.7:51820");
	addr_of(&w.r[0].addr, "203.0.113.1:51821");
	addr_of(&w.r[1].addr, "203.0.113.2:51821");
	for (int i = 0; i < 2; i++) {
		w.r[i].name = i ? "r2" : "r1";
		w.r[i].up = w.r[i].ready = true;
		w.r[i].port = (uint16_t)(40000 + i);
		w.order[i] = (size_t)i;
	}
	w.v.now = T0;
	w.v.threshold = 1;
	w.v.sample = (struct detect_sample){.t = T0};
	w.v.wg_ep = w.direct;
	w.v.wg_relay = -1;
	w.v.rx_relay = -1;
	w.v.relays = w.r;
	w.v.n_relays = 2;
	w.v.order = w.order;
	w.v.usable = 2;
	w.v.preferred = 0;
	return &w;
}

/* One second passes: tx and rx grow by these many bytes; then path_step. */
static void tick(struct world *w, uint64_t tx, uint64_t rx)
{
	w->v.now++;
	w->v.sample.t = w->v.now;
	w->v.sample.tx_bytes += tx;
	w->v.sample.rx_bytes += rx;
	path_step(&w->p, &w->v, &w->out);
	/* WireGuard does what it is told. */
	for (size_t i = 0; i < w->out.n; i++)
		if (w->out.a[i].type == PATH_A_ENDPOINT) {
			w->v.wg_ep = w->out.a[i].ep;
			w->v.wg_relay = -1;
			for (int r = 0; r < 2; r++)
				if (addr_equal_ip(&w->out.a[i].ep, &w->r[r].addr))
					w->v.wg_relay = r;
		}
	for (int r = 0; r < 2; r++)
		w->r[r].peer_active = false; /* consumed */
}

static const struct path_action *find(const struct world *w, enum path_act t)
{
	for (size_t i = 0; i < w->out.n; i++)
		if (w->out.a[i].type == t)
			return &w->out.a[i];
	return NULL;
}

/* The session's endpoint on relay ri. */
static struct addr session(const struct world *w, int ri)
{
	struct addr a = w->r[ri].addr;
	addr_set_port(&a, w->r[ri].port);
	return a;
}

/* A live session with data both ways for n seconds. */
static void flowing(struct world *w, int n)
{
	w->v.sample.last_handshake = w->v.now;
	for (int i = 0; i < n; i++)
		tick(w, 128, 128);
}

/* Never connected: one initiation, unanswered; relayed 2 s after the read that saw it, before
 * WireGuard's retry. */
static void test_first_failure(void **state)
{
	struct world *w = W();
	(void)state;
	tick(w, 0, 0);
	tick(w, 148, 0); /* the read at T0+2 sees the initiation */
	tick(w, 0, 0);
	assert_int_equal(w->p.state, PATH_DIRECT);
	tick(w, 0, 0); /* T0+4: 2 s after that read */
	assert_int_equal(w->p.state, PATH_RELAYED);
	assert_int_equal(w->p.relay, 0);
	struct addr s0 = session(w, 0);
	assert_true(addr_equal(&find(w, PATH_A_ENDPOINT)->ep, &s0));
	assert_non_null(find(w, PATH_A_KICK)); /* WireGuard sends through the relay at once */
	assert_int_equal(find(w, PATH_A_KICK)->value, PATH_KEEPALIVE);
	assert_int_equal(find(w, PATH_A_SESSION_PUT)->relay, 0);
	assert_non_null(strstr(w->p.why, "1 handshake attempts unanswered on 198.51.100.7:51820"));
	assert_true(addr_equal(&w->p.direct_ep, &w->direct));
	assert_int_equal(w->p.next_try, w->v.now + PATH_BACKOFF_MIN);
}

/* The helper starts just after WireGuard's first initiation: it counts, nothing came back. */
static void test_attempt_before_start(void **state)
{
	struct world *w = W();
	(void)state;
	w->v.sample.tx_bytes = 148;
	tick(w, 0, 0); /* the first reading: one initiation out, never anything back */
	tick(w, 0, 0);
	assert_int_equal(w->p.state, PATH_DIRECT);
	tick(w, 0, 0);
	assert_int_equal(w->p.state, PATH_RELAYED);
	/* ... but not when the peer answered once (a long-lived tunnel, idle now). */
	w = W();
	w->v.sample.tx_bytes = 148 * 3;
	w->v.sample.rx_bytes = 92;
	for (int i = 0; i < 5; i++)
		tick(w, 0, 0);
	assert_int_equal(w->p.state, PATH_DIRECT);
}

/* No relay paired yet: stay direct and say so; move as soon as one pairs. */
static void test_no_relay_yet(void **state)
{
	struct world *w = W();
	(void)state;
	w->r[0].ready = w->r[1].ready = false;
	tick(w, 0, 0);
	tick(w, 148, 0);
	for (int i = 0; i < 4; i++)
		tick(w, 0, 0);
	assert_int_equal(w->p.state, PATH_DIRECT);
	assert_non_null(strstr(w->p.why, "no relay paired for this peer yet"));
	w->r[1].ready = true;
	tick(w, 0, 0);
	assert_int_equal(w->p.state, PATH_RELAYED);
	assert_int_equal(w->p.relay, 1);
}

/* A working direct path blocked while pings flow: relayed once 15 s go unanswered. */
static void test_mid_session_break(void **state)
{
	struct world *w = W();
	(void)state;
	flowing(w, 30);
	assert_int_equal(w->p.state, PATH_DIRECT);
	assert_string_equal(w->p.why, "direct handshakes succeed");
	int64_t blocked = w->v.now;
	while (w->p.state == PATH_DIRECT && w->v.now - blocked < 60)
		tick(w, 128, 0);
	assert_int_equal(w->p.state, PATH_RELAYED);
	assert_true(w->v.now - blocked <= 16);
	assert_non_null(strstr(w->p.why, "unanswered for 15 s"));
}

/* An idle live tunnel keeping its NAT open with lone keepalives is never relayed. */
static void test_idle_keepalives(void **state)
{
	struct world *w = W();
	(void)state;
	flowing(w, 5);
	for (int i = 0; i < 170; i++)
		tick(w, i % 25 == 0 ? 32 : 0, 0);
	assert_int_equal(w->p.state, PATH_DIRECT);
	assert_int_equal(w->out.n, 0);
}

/* Relayed on r1, which dies: traffic unanswered 3 s asks for a PING, two missed: onto r2. */
static void relay_on(struct world *w, int ri)
{
	tick(w, 0, 0); /* the first reading is the baseline */
	tick(w, 148, 0);
	for (int i = 0; i < 4; i++)
		tick(w, 0, 0);
	assert_int_equal(w->p.state, PATH_RELAYED);
	assert_int_equal(w->p.relay, ri);
	flowing(w, 10);
}

static void test_relay_death(void **state)
{
	struct world *w = W();
	(void)state;
	relay_on(w, 0);
	int64_t died = w->v.now;
	tick(w, 128, 0);
	tick(w, 128, 0);
	assert_null(find(w, PATH_A_PING));
	tick(w, 128, 0); /* 3 s unanswered */
	assert_non_null(find(w, PATH_A_PING));
	assert_int_equal(find(w, PATH_A_PING)->relay, 0);
	tick(w, 128, 0);
	assert_int_equal(w->p.state, PATH_RELAYED);
	w->r[0].pings_missed = 1;
	tick(w, 128, 0);
	assert_int_equal(w->p.relay, 0);
	w->r[0].pings_missed = 2;
	tick(w, 128, 0);
	assert_int_equal(w->p.relay, 1);
	assert_int_equal(find(w, PATH_A_RELAY_FAIL)->relay, 0);
	/* The session is live: the new relay needs a handshake to forward; make one now. */
	assert_non_null(find(w, PATH_A_REHANDSHAKE));
	struct addr s1 = session(w, 1);
	assert_true(addr_equal(&find(w, PATH_A_ENDPOINT)->ep, &s1));
	assert_true(w->v.now - died <= 6);
	assert_non_null(strstr(w->p.why, "relay r1 stopped answering"));
}

/* Shutdown notice: move at once, traffic or not. */
static void test_relay_leaving(void **state)
{
	struct world *w = W();
	(void)state;
	relay_on(w, 0);
	w->r[0].leaving = true;
	w->r[0].up = false;
	tick(w, 0, 0);
	assert_int_equal(w->p.relay, 1);
	assert_non_null(strstr(w->p.why, "shutting down"));
}

/* A relay that refused us (not ready): the next one; none at all: wait. */
static void test_relay_refusing(void **state)
{
	struct world *w = W();
	(void)state;
	w->r[0].ready = false; /* refused (auth, mode) or its session is not paired */
	w->v.preferred = 0;
	relay_on(w, 1);
}

/* The circuit limit closed the session and it re-formed on a new port: follow it. */
static void test_session_reformed(void **state)
{
	struct world *w = W();
	(void)state;
	relay_on(w, 0);
	w->r[0].port = 40555;
	tick(w, 128, 128);
	struct addr s0 = session(w, 0);
	assert_true(addr_equal(&find(w, PATH_A_ENDPOINT)->ep, &s0));
	assert_non_null(strstr(w->p.why, "re-formed on port 40555"));
}

/* A direct try that works: 2 s at most, a packet from a direct address keeps it. */
static void test_direct_retry_success(void **state)
{
	struct world *w = W();
	(void)state;
	relay_on(w, 0);
	while (w->p.state == PATH_RELAYED)
		tick(w, 128, 128);
	assert_int_equal(w->p.state, PATH_TRYING);
	assert_true(addr_equal(&find(w, PATH_A_ENDPOINT)->ep, &w->direct));
	assert_non_null(find(w, PATH_A_KICK));
	tick(w, 128, 128); /* answered while WireGuard stayed on the direct endpoint */
	assert_int_equal(w->p.state, PATH_DIRECT);
	assert_non_null(find(w, PATH_A_SESSION_DEL));
	assert_int_equal(find(w, PATH_A_KEEPALIVE)->value, 0);
	assert_int_equal(w->p.backoff_s, PATH_BACKOFF_MIN);
	assert_non_null(strstr(w->p.why, "works again"));
}

/* A direct try that fails costs 2 s: the endpoint pulled back each second, then the relay. */
static void test_direct_retry_failure(void **state)
{
	struct world *w = W();
	(void)state;
	relay_on(w, 0);
	while (w->p.state == PATH_RELAYED)
		tick(w, 128, 128);
	int64_t start = w->v.now;
	/* The far side's packets still come through the relay: WireGuard roams back onto it. */
	struct addr s0 = session(w, 0);
	w->v.wg_ep = s0;
	w->v.wg_relay = 0;
	tick(w, 128, 128);
	assert_int_equal(w->p.state, PATH_TRYING);
	assert_true(addr_equal(&find(w, PATH_A_ENDPOINT)->ep, &w->direct));
	tick(w, 128, 0);
	assert_int_equal(w->p.state, PATH_RELAYED);
	assert_true(w->v.now - start <= PATH_TRY_S);
	assert_true(addr_equal(&find(w, PATH_A_ENDPOINT)->ep, &s0));
	assert_int_equal(w->p.backoff_s, 2 * PATH_BACKOFF_MIN);
	assert_int_equal(w->p.next_try, w->v.now + 2 * PATH_BACKOFF_MIN);
	/* A change of our public address is worth a try at once. */
	flowing(w, 3);
	assert_int_equal(w->p.state, PATH_RELAYED);
	w->v.self_changed = true;
	tick(w, 128, 128);
	assert_int_equal(w->p.state, PATH_TRYING);
}

/* The far side moved to the other relay and WireGuard followed its packets: so do we. */
static void test_far_side_moved(void **state)
{
	struct world *w = W();
	(void)state;
	relay_on(w, 0);
	struct addr s1 = session(w, 1);
	w->v.wg_ep = s1;
	w->v.wg_relay = 1;
	tick(w, 128, 128);
	assert_int_equal(w->p.relay, 1);
	assert_int_equal(find(w, PATH_A_SESSION_PUT)->relay, 1);
	assert_true(addr_equal(&w->p.set_ep, &s1));
}

/* The peer roamed to a new direct address while relayed: direct it is. */
static void test_roaming(void **state)
{
	struct world *w = W();
	(void)state;
	relay_on(w, 0);
	addr_of(&w->v.wg_ep, "198.51.100.9:40000");
	w->v.wg_relay = -1;
	tick(w, 128, 128);
	assert_int_equal(w->p.state, PATH_DIRECT);
	assert_string_equal(addr_format(&w->p.direct_ep, (char[ADDR_STRLEN]){0}, ADDR_STRLEN),
	                    "198.51.100.9:40000");
	assert_non_null(find(w, PATH_A_SESSION_DEL));
}

/* wg syncconf put the configured endpoint back: the relay is applied again, nothing else. */
static void test_syncconf_reset(void **state)
{
	struct world *w = W();
	(void)state;
	relay_on(w, 0);
	w->v.wg_ep = w->direct;
	w->v.wg_relay = -1;
	tick(w, 128, 128);
	assert_int_equal(w->p.state, PATH_RELAYED);
	struct addr s0 = session(w, 0);
	assert_true(addr_equal(&find(w, PATH_A_ENDPOINT)->ep, &s0));
}

/* A restart adopts: direct mode leaves WireGuard alone; sealed points it at the new port. */
static void test_restart_adoption(void **state)
{
	struct world *w = W();
	struct addr s0;
	(void)state;
	s0 = session(w, 0);
	w->v.wg_ep = s0;
	path_adopt(&w->p, &w->v, 0, false, &s0, &w->direct, 0, T0 - 50, &w->out);
	assert_int_equal(w->p.state, PATH_RELAYED);
	assert_null(find(w, PATH_A_ENDPOINT));
	assert_int_equal(w->p.since, T0 - 50);
	tick(w, 128, 128);
	assert_int_equal(w->p.state, PATH_RELAYED);
	assert_int_equal(w->out.n, 0);

	w = W();
	w->v.sealed = true;
	addr_of(&w->v.port, "127.0.0.1:41000");
	addr_of(&w->v.wg_ep, "127.0.0.1:39999"); /* the previous run's port */
	path_adopt(&w->p, &w->v, 1, true, &w->v.wg_ep, &w->direct, 25, T0 - 50, &w->out);
	assert_true(addr_equal(&find(w, PATH_A_ENDPOINT)->ep, &w->v.port));
	assert_int_equal(find(w, PATH_A_ROUTE)->relay, 1);
	assert_true(addr_equal(&w->p.set_ep, &w->v.port));
}

/* 10 % loss while relayed: unanswered seconds, but the relay answers PINGs: no change. */
static void test_loss_no_flap(void **state)
{
	struct world *w = W();
	uint32_t x = 12345;
	(void)state;
	relay_on(w, 0);
	w->p.next_try = w->v.now + 100000; /* direct retries are another test */
	for (int i = 0; i < 300; i++) {
		x = x * 1103515245u + 12345u;
		bool lost = (x >> 16) % 100 < 30; /* harsher than 10 %: a round trip lost */
		tick(w, 128, lost ? 0 : 128);
		assert_int_equal(w->p.state, PATH_RELAYED);
		assert_int_equal(w->p.relay, 0);
	}
}

/* The far side went to a relay (PEER_ACTIVE): follow when ours is unanswered, not otherwise. */
static void test_peer_active(void **state)
{
	struct world *w = W();
	(void)state;
	flowing(w, 10);
	w->r[1].peer_active = true;
	tick(w, 128, 128);
	assert_int_equal(w->p.state, PATH_DIRECT);
	tick(w, 128, 0); /* then nothing comes back any more */
	assert_int_equal(w->p.state, PATH_RELAYED);
	assert_int_equal(w->p.relay, 1);
	assert_non_null(strstr(w->p.why, "peer became active on relay r2"));
}

/* Relayed and idle: the far side's traffic reached our session; WireGuard must send now. */
static void test_peer_active_relayed(void **state)
{
	struct world *w = W();
	(void)state;
	relay_on(w, 0);
	tick(w, 0, 0);
	assert_null(find(w, PATH_A_KICK));
	w->r[0].peer_active = true;
	tick(w, 0, 0);
	assert_non_null(find(w, PATH_A_KICK));
	assert_int_equal(w->p.relay, 0);
}

/* The connection cache: a pair that needed a relay last time goes there at once. */
static void test_known_relayed(void **state)
{
	struct world *w = W();
	(void)state;
	w->v.known_relayed = true;
	tick(w, 0, 0);
	assert_int_equal(w->p.state, PATH_RELAYED);
	assert_non_null(strstr(w->p.why, "needed a relay last time"));
	assert_null(find(w, PATH_A_REHANDSHAKE)); /* no session: WireGuard initiates anyway */
	/* A session still live from before (an interface down and up): handshake anew. */
	w = W();
	w->v.sample.last_handshake = T0 - 30;
	w->v.known_relayed = true;
	tick(w, 0, 0);
	assert_int_equal(w->p.state, PATH_RELAYED);
	assert_non_null(find(w, PATH_A_REHANDSHAKE));
	/* ... but not once the direct path worked in this run. */
	w = W();
	flowing(w, 6);
	w->v.known_relayed = true;
	tick(w, 128, 0);
	assert_int_equal(w->p.state, PATH_DIRECT);
}

/* Hysteresis: the preferred relay takes over only when select_choose says so. */
static void test_hysteresis(void **state)
{
	struct world *w = W();
	(void)state;
	relay_on(w, 0);
	w->p.next_try = w->v.now + 100000;
	w->v.preferred = 1;
	for (int i = 0; i < 5 && w->p.relay == 0; i++)
		tick(w, 128, 128);
	assert_int_equal(w->p.relay, 1);
	assert_non_null(strstr(w->p.why, "ranks better"));
}

/* Sealed mode: the far side's frames come through the other relay after our last change. */
static void test_sealed_follow(void **state)
{
	struct world *w = W();
	(void)state;
	w->v.sealed = true;
	addr_of(&w->v.port, "127.0.0.1:41000");
	relay_on(w, 0);
	assert_true(addr_equal(&w->p.set_ep, &w->v.port));
	assert_int_equal(find(w, PATH_A_ROUTE)->relay, 0);
	w->v.rx_relay = 1;
	w->v.rx_moved = true;
	tick(w, 128, 128);
	assert_int_equal(w->p.relay, 1);
	assert_int_equal(find(w, PATH_A_ROUTE)->relay, 1);
	w->v.rx_moved = false;
	/* The relay says our session waits again: the far side left; go where its frames come. */
	w->v.rx_relay = 0;
	w->r[1].waiting = true;
	w->r[1].ready = false;
	tick(w, 128, 128);
	assert_int_equal(w->p.relay, 0);
}

/* The helper leaves clean: back to the direct endpoint and the original keepalive. */
static void test_restore(void **state)
{
	struct world *w = W();
	(void)state;
	relay_on(w, 0);
	path_restore(&w->p, &w->v, "helper stopped", &w->out);
	assert_int_equal(w->p.state, PATH_DIRECT);
	assert_true(addr_equal(&find(w, PATH_A_ENDPOINT)->ep, &w->direct));
	assert_non_null(find(w, PATH_A_SESSION_DEL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_first_failure),
	    cmocka_unit_test(test_no_relay_yet),
	    cmocka_unit_test(test_mid_session_break),
	    cmocka_unit_test(test_idle_keepalives),
	    cmocka_unit_test(test_relay_death),
	    cmocka_unit_test(test_relay_leaving),
	    cmocka_unit_test(test_relay_refusing),
	    cmocka_unit_test(test_session_reformed),
	    cmocka_unit_test(test_direct_retry_success),
	    cmocka_unit_test(test_direct_retry_failure),
	    cmocka_unit_test(test_far_side_moved),
	    cmocka_unit_test(test_roaming),
	    cmocka_unit_test(test_syncconf_reset),
	    cmocka_unit_test(test_restart_adoption),
	    cmocka_unit_test(test_loss_no_flap),
	    cmocka_unit_test(test_peer_active),
	    cmocka_unit_test(test_known_relayed),
	    cmocka_unit_test(test_hysteresis),
	    cmocka_unit_test(test_sealed_follow),
	    cmocka_unit_test(test_restore),
	    cmocka_unit_test(test_peer_active_relayed),
	    cmocka_unit_test(test_attempt_before_start),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
