/*
 * gossip.h: one relay's gossip and anti-entropy engine over its relay links (docs/PROTOCOL.md
 * §10.5, IHAVE..BUCKET), sans-I/O. The caller feeds link events, received gossip messages, our
 * own descriptor and the time; the engine keeps the descriptor store and queues messages per
 * link, which the caller drains with gossip_next and seals into CTRL frames.
 *
 * Time: every now_ms is Unix time in milliseconds (descriptor times are Unix seconds, so the
 * engine needs the wall clock). A clock that steps backwards mints no tokens, and gossip_tick
 * pulls timers back so that none then waits longer than its period.
 * No clock reads, no global state, no randomness: the same inputs give the same outputs.
 *
 * Rules (PROTOCOL.md §10.5):
 * - A descriptor accepted as new or updated is announced (IHAVE) at once to every link except
 *   those known to hold it (its source, links that announced it); announcements are queued per
 *   link (at most ann_queue, the oldest dropped) and batched 25 a message when drained.
 * - IHAVE of an identity unknown or held with a lower seq is WANTed from one link at a time
 *   (pending table). Unanswered after the link's timeout (2 x its RTT + 250 ms when the caller
 *   gave one with gossip_link_rtt, else want_timeout_ms), the next link that announced it is
 *   asked at once; a link that timed out is asked again while the identity has had fewer than
 *   three asks (others that announced it first), then it is left to anti-entropy. IHAVE of a
 *   seq we hold asks nothing; of a lower seq, we announce ours back.
 * - WANT is answered with DESC for what we hold (at most 25 a WANT, serve tokens per id).
 * - Anti-entropy: every ae_interval_ms, with the next link round robin (and at once with a link
 *   that comes up), we send DIGEST (two messages: 256 bucket hashes). The receiver sends BUCKET
 *   listings (pages of <= 25, consecutive pages sharing one entry) of each bucket whose hash
 *   differs; we WANT what it lists newer or we lack and announce what we hold newer or it lacks.
 * - Received messages take tokens per link (msg_in for all; digest_in; desc_in for each DESC
 *   not asked for, and for each identity we WANT, so DESC we asked for are paid for ahead).
 *   Excess is dropped and counted. Invalid, expired and stale descriptors are never forwarded.
 */
#ifndef WGR_GOSSIP_H
#define WGR_GOSSIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "descriptor.h"
#include "dstore.h"
#include "gossip_msg.h"

/* A token bucket: burst tokens, one more every refill_ms (0: unlimited). */
struct gossip_rate {
	uint32_t burst;
	uint32_t refill_ms;
};

/*
 * Decodes and verifies an encoded descriptor into a new dstore_desc with one reference: 0,
 * -EBADMSG with *why = enum desc_err, or -ENOMEM (as dstore_desc_new, the default). A
 * simulator may hand out shared references to copies it verified once.
 */
typedef int (*gossip_decode_fn)(void *ctx, const uint8_t *p, size_t len, struct dstore_desc **out,
                                int *why);

struct gossip_config {
	size_t store_capacity;    /* descriptors held (DSTORE_DEFAULT_CAPACITY) */
	uint32_t max_links;       /* links up at once (64) */
	uint32_t ae_interval_ms;  /* anti-entropy period, one link a round (30000) */
	uint32_t want_timeout_ms; /* ask again after this, links without an RTT (1500) */
	uint32_t want_window;     /* identities WANTed and not yet answered, per link (50) */
	uint32_t pending_max;     /* identities wanted in all (4096; more wait for a later round) */
	uint32_t ann_queue;       /* announcements queued per link (2048; oldest dropped) */
	uint32_t desc_queue;      /* DESC answers queued per link (64; more are dropped) */
	struct gossip_rate msg_in;    /* every received gossip message ({200, 20}: 50/s) */
	struct gossip_rate desc_in;   /* descriptors received ({100, 50}: 20/s) */
	struct gossip_rate digest_in; /* DIGEST received ({4, 5000}: one exchange per 10 s) */
	struct gossip_rate serve;     /* identities answered from WANTs ({200, 20}: 50/s) */
	gossip_decode_fn decode;      /* NULL: dstore_desc_new */
	void *decode_ctx;
	dstore_watch_fn watch; /* told of every store change (dstore_set_watch); NULL: none */
	void *watch_ctx;
};

/* Every refusal by reason, and traffic by message type (kind: enum gossip_kind). */
struct gossip_stats {
	uint64_t
	    invalid[DESC_E_MAX];   /* refused by desc_decode, by enum desc_err ([0]: no reason) */
	uint64_t expired;          /* descriptor expired at arrival */
	uint64_t future;           /* descriptor issued too far in the future */
	uint64_t stale;            /* seq lower than the one held */
	uint64_t duplicate;        /* seq equal to the one held: a harmless repeat, not a refusal */
	uint64_t store_full;       /* refused: store full of longer-lived descriptors */
	uint64_t rate_limited;     /* messages (or WANTed identities) dropped by a token bucket */
	uint64_t unknown_link;     /* input on a link that is not up */
	uint64_t malformed;        /* messages that do not decode */
	uint64_t unsolicited;      /* BUCKET without our DIGEST outstanding on that link */
	uint64_t accepted_new;     /* descriptors stored, identity new */
	uint64_t accepted_updated; /* descriptors stored, higher seq */
	uint64_t ann_dropped;      /* announcements dropped from a full link queue */
	uint64_t desc_dropped;     /* DESC answers dropped from a full link queue */
	uint64_t want_timeouts;    /* WANTs not answered in want_timeout_ms */
	uint64_t want_dropped;     /* identities not WANTed: pending table full */
	uint64_t want_walked;      /* waiting identities a tick looked at for a link (work done) */
	uint64_t own_again;        /* our new descriptor announced again to a silent link */
	uint64_t ae_rounds;        /* DIGEST exchanges we started */
	uint64_t msgs_in[GOSSIP_K_MAX], bytes_in[GOSSIP_K_MAX];
	uint64_t msgs_out[GOSSIP_K_MAX], bytes_out[GOSSIP_K_MAX];
};

struct gossip;

/* The defaults listed in struct gossip_config. */
void gossip_config_default(struct gossip_config *c);

/* A new engine with an empty store (cfg NULL: defaults). 0, -EINVAL or -ENOMEM. */
int gossip_new(struct gossip **out, const struct gossip_config *cfg);
/* NULL is a no-op. */
void gossip_free(struct gossip *g);

/*
 * A relay link (authenticated, HELLO done) is up under the caller's id. An anti-entropy
 * exchange with it is queued at once. 0, -EEXIST, -ENOSPC (max_links) or -ENOMEM.
 */
int gossip_link_up(struct gossip *g, uint32_t link, uint64_t now_ms);
/*
 * The link's round-trip time as the caller measured it (HEARTBEAT to its ACK, or the
 * handshake): WANTs asked of it from now on time out after 2 x rtt_ms + 250 ms (at most 10 s)
 * instead of want_timeout_ms, so a lost WANT or DESC costs about one round trip. 0 or -ENOENT.
 */
int gossip_link_rtt(struct gossip *g, uint32_t link, uint32_t rtt_ms);
/* The link is gone: its queues are dropped and what was WANTed from it is asked elsewhere. 0 or -ENOENT. */
int gossip_link_down(struct gossip *g, uint32_t link, uint64_t now_ms);

/*
 * One received gossip message (type 0x11..0x15, the CTRL plaintext) from link. Returns 0 when
 * processed; otherwise the message was dropped and counted: -ENOENT (link not up), -EBUSY
 * (rate limited), -EBADMSG (malformed, or a type that is not gossip), -EPERM (BUCKET without
 * our DIGEST outstanding), -ENOMEM. Refused descriptors inside a DESC are counted, return 0.
 */
int gossip_input(struct gossip *g, uint32_t link, const uint8_t *msg, size_t len, uint64_t now_ms);

/*
 * Start loading what gossip_input(g, link, msg, len) will read, one level per stage (0: the
 * engine, 1: its links, the pending table and the store's buckets for the first identities the
 * message names, 2 to 4: deeper into the store, dstore_prefetch's stages 1 to 3), each stage
 * called once the one before had time to arrive. Nothing is decoded, checked or changed: only a hint to the processor (see
 * dstore_prefetch). Any bytes are safe; a message too short for an identity prefetches less.
 */
void gossip_prefetch(const struct gossip *g, uint32_t link, const uint8_t *msg, size_t len,
                     int stage);

/*
 * Our own new descriptor (or one learnt outside gossip: HELLO, DESC_RESP, the DHT; then link is
 * its source, else GOSSIP_LINK_NONE): decoded with the engine's decode function, stored and
 * announced to every link but the source. Returns enum dstore_result, -EBADMSG (invalid; the
 * reason is counted in stats.invalid[]) or -ENOMEM; all are counted like gossiped descriptors.
 */
#define GOSSIP_LINK_NONE UINT32_MAX
int gossip_offer(struct gossip *g, uint32_t link, const uint8_t *desc, size_t len, uint64_t now_ms);
/*
 * gossip_offer(g, GOSSIP_LINK_NONE, ...) of the relay's own descriptor. No other relay can hold
 * it yet, so a link that neither asks for it (WANT) nor shows it holds it (IHAVE, BUCKET) within
 * its WANT timeout lost the announcement or the WANT: it is announced there again, at most
 * GOSSIP_OWN_TRIES times, instead of waiting for anti-entropy.
 */
int gossip_publish(struct gossip *g, const uint8_t *desc, size_t len, uint64_t now_ms);

/*
 * Descriptors already verified (shared references, as the decode function gives), stored
 * without announcing them: a store restored whole, or a simulator's network that has
 * converged (every relay holding them). dstore_load: returns how many were stored, or -errno.
 */
int gossip_preload(struct gossip *g, struct dstore_desc *const *dd, size_t n, uint64_t now_ms);

/*
 * Timers: expire descriptors, retry or give up WANTs, start the anti-entropy round when due.
 * Call at gossip_next_tick() or more often.
 */
void gossip_tick(struct gossip *g, uint64_t now_ms);
/* When gossip_tick next has work (ms, same clock); never later than the next anti-entropy round. */
uint64_t gossip_next_tick(const struct gossip *g);

/*
 * The next message to send, links served round robin: its length (> 0) with *link set, 0 when
 * every queue is empty, or -ENOBUFS when cap < GOSSIP_MSG_MAX. Messages are built at this point
 * from the store, so what expired or was replaced meanwhile is not sent. Drain after every input,
 * offer and tick.
 */
int gossip_next(struct gossip *g, uint64_t now_ms, uint32_t *link, uint8_t *buf, size_t cap);
/* True when gossip_next has something to send. */
bool gossip_pending(const struct gossip *g);

const struct gossip_stats *gossip_stats(const struct gossip *g);
/* Whether the engine's own bookkeeping adds up (tests and fuzzing; a walk of the tables). */
bool gossip_consistent(const struct gossip *g);
/* The engine's store, e.g. to answer DISCOVER (dstore_page); do not insert into it directly. */
struct dstore *gossip_store(struct gossip *g);

#endif
