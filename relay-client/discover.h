/*
 * discover.h: the helper's side of relay discovery (PROTOCOL.md §10.4 DISCOVER, DESC,
 * DISCOVERED; their codecs are common/frame.c's): the request it sends on an authenticated
 * link, the replies it reads, the paging of one run through a relay's store, and what it makes
 * of each descriptor received. Sans-I/O: bytes, a clock and what the cache holds go in; bytes
 * to send and verdicts come out. The callers (refresh.c for watch.c and list-relays) move the
 * bytes; registry_take_desc stores what is accepted.
 */
#ifndef WGR_DISCOVER_H
#define WGR_DISCOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "descriptor.h"
#include "proto.h"

/* A DISCOVER as sent: a request, padded (PROTOCOL.md §5.2, §7). */
#define DISCOVER_REQ_LEN PROTO_CTRL_REQ_MIN

/* Bounds of one run: pages asked, and how long and how often one page is waited for. */
#define DISCOVER_MAX_PAGES       64
#define DISCOVER_PAGE_TIMEOUT_MS 3000
#define DISCOVER_PAGE_TRIES      3

/* What the helper asks for (not-full always). */
struct discover_filter {
	bool near;              /* nearest first to lat_e6, lon_e6 (GeoIP of our address) */
	int32_t lat_e6, lon_e6; /* microdegrees */
	uint8_t modes;          /* DESC_MODE_* a relay must all offer; 0: any */
};

/* One reply message, as parsed; desc points into the parsed bytes. */
struct discover_reply {
	uint8_t type; /* CTRL_DESC or CTRL_DISCOVERED */
	const uint8_t *desc;
	size_t desc_len;  /* DESC: the descriptor's bytes, not yet decoded */
	uint8_t next[32]; /* DISCOVERED: the cursor to continue after; zero: the last page */
	uint8_t count;    /* DISCOVERED: DESC messages the relay sent for the page */
};

/*
 * Encode a DISCOVER asking for up to max (1..PROTO_DISCOVER_MAX) descriptors after the cursor
 * after (the last DISCOVERED's; NULL or zero: from the start), padded to DISCOVER_REQ_LEN. The
 * not-full flag is always set. The length, -EINVAL (max or the place out of range), -ENOBUFS.
 */
int discover_encode(const struct discover_filter *f, const uint8_t *after, uint8_t max,
                    uint8_t *out, size_t cap);
/*
 * Parse a control message from a relay as DESC or DISCOVERED. Trailing zero bytes are padding.
 * 0, or a frame_err: FRAME_ETYPE (another message), FRAME_ESHORT, FRAME_ELONG (a non-zero byte
 * left over), FRAME_EFIELD (an empty or too long descriptor, a count above a page).
 */
int discover_parse(const uint8_t *p, size_t len, struct discover_reply *r);

/* What became of one descriptor; counted per run. */
enum discover_verdict {
	DISCOVER_NEW = 0,   /* a relay we did not hold: stored */
	DISCOVER_UPDATED,   /* a higher sequence number, or a bootstrap relay's first: stored */
	DISCOVER_UNCHANGED, /* the sequence number we hold or a lower one: nothing stored */
	/* Refusals: nothing stored. */
	DISCOVER_R_INVALID,   /* does not decode, or the signature does not verify */
	DISCOVER_R_EXPIRED,   /* expired at receipt */
	DISCOVER_R_FUTURE,    /* issued too far in our future */
	DISCOVER_R_BOOTSTRAP, /* a bootstrap line names another Noise key for its endpoint */
	DISCOVER_R_CONFLICT,  /* another identity holds its Noise key (and it is not proven) */
	DISCOVER_R_SCOPE,     /* its endpoint is of a kind the relay that sent it may not name */
	DISCOVER_R_FULL,      /* the store is full of descriptors that expire later */
	DISCOVER_V_MAX
};
/* "new", "updated", "unchanged", "invalid", "expired", ... for logs and the CLI. */
const char *discover_verdict_name(enum discover_verdict v);

/* What the cache holds that bears on one descriptor (registry_take_desc looks it up). */
struct discover_known {
	bool have;           /* a row holds the descriptor's identity ... */
	uint64_t seq;        /* ... with this sequence number (the highest, when several) */
	bool key_held;       /* a row holds the descriptor's Noise key ... */
	bool key_trusted;    /* ... a bootstrap or config line */
	bool key_other_id;   /* ... with a descriptor of another identity */
	bool bootstrap_diff; /* a bootstrap or config line names another key at the endpoint */
	size_t stored;       /* discovered relays stored */
	uint64_t soonest;    /* the soonest expiry among them (0: none) */
};

/*
 * The rules for one decoded descriptor d, received at now (Unix s) from the relay at via
 * whose link proved Noise key via_key: current (desc_check_time); its first endpoint neither
 * unspecified, multicast, broadcast nor link-local, and loopback or private only when via is
 * of the same kind or narrower; not contradicting a bootstrap line; a Noise key held by
 * another identity only when d's key is via_key itself; a higher sequence number than the one
 * held; room in a store of cap discovered relays (a full one gives up the soonest to expire,
 * when that expires before d does). Checked in that order; the first that fails decides.
 */
enum discover_verdict discover_judge(const struct descriptor *d, uint64_t now,
                                     const struct addr *via, const uint8_t via_key[32],
                                     const struct discover_known *k, size_t cap);

/* Counters of one run (or of several, added up by the caller). */
struct discover_stats {
	unsigned verdicts[DISCOVER_V_MAX];
	unsigned invalid[DESC_E_MAX]; /* DISCOVER_R_INVALID by desc_err */
	unsigned pages;               /* DISCOVERED messages taken */
	unsigned dropped;             /* unexpected or malformed messages, DESC past a page */
	unsigned lost;                /* DESC a DISCOVERED counted that never came */
	bool complete;                /* the relay said the last page was sent */
	bool timed_out;               /* a page went unanswered DISCOVER_PAGE_TRIES times */
};
/* Refusals in s, all reasons. */
unsigned discover_refusals(const struct discover_stats *s);

enum discover_phase {
	DISCOVER_IDLE,    /* no run, or the last one ended */
	DISCOVER_WAITING, /* a page was asked for */
	DISCOVER_AGAIN,   /* ask (again) for a page at the next discover_poll */
};

/* The paging state of a run through one relay's store. */
struct discover_run {
	enum discover_phase phase;
	struct discover_filter filter;
	uint8_t after[32]; /* cursor of the page asked for (zero: the first) */
	unsigned pages;    /* pages asked for in this run */
	unsigned tries;    /* times the current page was asked for */
	unsigned descs;    /* DESC taken for the current page */
	int64_t sent_ms;   /* when the current page was asked for */
	struct discover_stats stats;
};

/* Start a run (from the first page) with filter f; any run under way is abandoned. */
void discover_start(struct discover_run *r, const struct discover_filter *f);
/* True while a run is under way. */
bool discover_busy(const struct discover_run *r);
/*
 * What to send now: a DISCOVER (its length, > 0) when a page is to be asked for (again), 0
 * when nothing; a page unanswered for DISCOVER_PAGE_TIMEOUT_MS is asked again, and after
 * DISCOVER_PAGE_TRIES the run ends (stats.timed_out). link_up false ends a run: its replies
 * could no longer be told from a new link's. -ENOBUFS when cap is short.
 */
int discover_poll(struct discover_run *r, bool link_up, int64_t now_ms, uint8_t *out, size_t cap);

enum discover_event {
	DISCOVER_EV_DROP, /* not discovery, unexpected, or malformed: counted in dropped */
	DISCOVER_EV_DESC, /* a descriptor of the page: judge it, then discover_count */
	DISCOVER_EV_PAGE, /* a page ended; more to ask for (discover_poll sends it) */
	DISCOVER_EV_DONE, /* the run ended: last page, page cap, or nothing more */
};
/*
 * A control message from the relay of the run's link (already opened and authenticated).
 * Only replies to an outstanding page count: at most PROTO_DISCOVER_MAX DESC per page; a
 * DISCOVERED must move the cursor forward, in byte order (both of a relay's orders, by
 * identity and by distance, are: §10.4); else it is a stale or hostile one, dropped. One
 * that counts DESC that did not come asks for the same page once more (within
 * DISCOVER_PAGE_TRIES). *rep is filled for DISCOVER_EV_DESC.
 */
enum discover_event discover_input(struct discover_run *r, const uint8_t *msg, size_t len,
                                   struct discover_reply *rep);
/* Count the verdict on a descriptor of the run (desc_err for DISCOVER_R_INVALID, else 0). */
void discover_count(struct discover_stats *s, enum discover_verdict v, int desc_err);

#endif
