/*
 * steer_mode.h: the data mode a peer binds in on one relay (PROTOCOL.md §5.2: both members of
 * a session bind in the same mode). Pure: the caller says what the link and the binding show,
 * with its clock; no I/O.
 *
 * A peer binds sealed on a relay when its interface is in sealed mode, when the helper's link
 * to that relay is on a stream (direct mode needs UDP to the session's port), or when the relay
 * refused or told off its direct binding with ERROR mode-mismatch (the far side binds sealed).
 * Sealed wins: once sealed on a relay, the peer stays sealed there as long as it holds its
 * binding on that relay, even after the link is back on UDP, so a pair that met sealed is never
 * split by one side going back. Only when the binding goes (the relay no longer among those
 * the peer is bound on, the interface's mode changed, or a restart) does the next binding start
 * from direct again.
 */
#ifndef WGR_STEER_MODE_H
#define WGR_STEER_MODE_H

#include <stdbool.h>
#include <stdint.h>

/* A sealed BIND refused with mode-mismatch is sent again after 1, 2, 4 ... at most 32 s. */
#define STEER_MODE_RETRY_MIN_S 1
#define STEER_MODE_RETRY_MAX_S 32
/* Refusals in a row after which the far side is taken to stay direct (said once). */
#define STEER_MODE_STUCK 6

/* Why a peer binds sealed on a relay; NONE: direct. */
enum steer_seal {
	STEER_SEAL_NONE = 0,
	STEER_SEAL_IFACE,  /* the interface is in sealed mode */
	STEER_SEAL_STREAM, /* the link to the relay is (or was, while bound) on a stream */
	STEER_SEAL_FAR,    /* the relay said the far side binds sealed (mode-mismatch) */
	STEER_SEAL_KEPT,   /* a sealed binding held already (adopted after a restart) */
};

/* One peer on one relay. */
struct steer_mode {
	uint8_t why;      /* enum steer_seal */
	uint8_t refused;  /* sealed BINDs refused with mode-mismatch in a row */
	int64_t retry_at; /* a refused sealed BIND goes again at this second; 0 none pending */
};

/* What the link and the peer's binding on it show this second. */
struct steer_mode_in {
	int64_t now;       /* seconds */
	bool iface_sealed; /* the interface is configured sealed */
	bool on_stream;    /* the link to the relay is on a stream */
	bool bound;        /* the peer holds a binding on the relay */
	uint8_t mode;      /* ... in this PROTO_MODE_* */
	uint16_t error;    /* ... whose last ERROR is this, 0 none */
	bool paired;       /* ... and it is paired */
};

enum steer_mode_act {
	STEER_MODE_KEEP = 0, /* nothing to do */
	STEER_MODE_SEAL,     /* bind sealed now (a direct binding is replaced: UNBIND, BIND) */
	STEER_MODE_RETRY,    /* send the refused sealed BIND again now */
};

/* One second of one peer on one relay: st follows; what to do now. */
enum steer_mode_act steer_mode_step(struct steer_mode *st, const struct steer_mode_in *in);
/* PROTO_MODE_* to bind in. */
uint8_t steer_mode_of(const struct steer_mode *st);
/* "interface", "stream", "far side", "kept", "" for NONE: for logs and status. */
const char *steer_seal_name(uint8_t why);

#endif
