/*
 * link.h: the helper's control link to one relay (PROTOCOL.md §3-§5): PING for RTT and load,
 * Noise IK handshake as initiator with the helper's identity key, BIND/BOUND per sid in direct
 * or sealed mode, KEEPALIVE, PEER_ACTIVE, and the DATA frames of sealed bindings (§5.4).
 * Non-blocking; the caller polls fd (and, on a stream, link_stream_fd) and calls link_tick each
 * second. Bad frames are dropped and counted.
 */
#ifndef WGR_LINK_H
#define WGR_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "replay.h"
#include "seal.h"

#define LINK_MAX_BINDS 256
/* Frames link_readable reads per system call, and frames a send batch holds (link_tx_begin). */
#define LINK_BATCH 64

enum link_state { LINK_DOWN, LINK_HANDSHAKE, LINK_UP };

struct link_bind {
	uint8_t sid[16];
	bool in_use;
	bool sent;        /* BIND sent on the current link keys */
	uint8_t mode;     /* PROTO_MODE_DIRECT or PROTO_MODE_SEALED, as bound */
	uint8_t state;    /* 0 none yet, PROTO_WAITING, PROTO_PAIRED */
	uint16_t port;    /* relay port of a paired direct session */
	uint32_t handle;  /* from BOUND */
	bool peer_active; /* PEER_ACTIVE seen since the caller last cleared it */
	uint16_t error;   /* last ERROR code about this sid, 0 none */
	/* sealed mode only */
	uint64_t tx_counter;        /* counter of the next DATA frame we send */
	struct link_sealed *sealed; /* NULL in direct mode */
	void *user;                 /* the caller's, handed to on_data (the peer's local port) */
	uint64_t rx_frames, tx_frames;
};

/* What only a sealed binding needs. */
struct link_sealed {
	struct replay rx_replay;  /* DATA frames from the relay; reset when the handle changes */
	struct seal_session keys; /* for the link keys numbered gen (link.c) */
};

struct link;
struct token_state;
struct tconn;
struct tconn_client;
/*
 * A DATA frame for binding b opened: dgram (len bytes) is the datagram it carried. dgram stays
 * valid until the link's on_data_end returns, so a batch of datagrams can leave together.
 */
typedef void (*link_data_fn)(struct link *l, struct link_bind *b, const uint8_t *dgram, size_t len,
                             int64_t now_ms);
/* The end of a batch of frames that called on_data at least once (one read, one stream record). */
typedef void (*link_data_end_fn)(struct link *l, int64_t now_ms);
/*
 * A CTRL frame opened carrying a control message the link does not handle itself (the replies
 * to DISCOVER: DESC, DISCOVERED): msg (len bytes, padding included) as it came, for discover.h.
 */
typedef void (*link_ctrl_fn)(struct link *l, const uint8_t *msg, size_t len, int64_t now_ms);
struct cell;
/*
 * A CELL frame opened (PROTOCOL.md §13.1): c, its body in the link's receive buffer (the
 * callee may change it, as circ_input does). The body stays valid until on_data_end returns,
 * which runs after the batch, as for on_data: a datagram in it can be queued, not copied.
 */
typedef void (*link_cell_fn)(struct link *l, struct cell *c, int64_t now_ms);

struct link {
	uint8_t relay_pub[32];
	struct addr relay;
	enum link_state state;
	int fd;
	uint32_t fwmark; /* SO_MARK of fd, 0 none */
	int rtt_ms;      /* last PONG, -1 unknown */
	uint16_t load_permille, pong_flags;
	uint8_t pings_missed; /* PINGs in a row that got no PONG before the next was sent */
	uint16_t last_error;  /* last ERROR on the link, 0 none */
	/*
	 * Our address as the relay saw it: observed from the last HS_RESP (authenticated by the
	 * handshake; what watch.c's majority vote uses), pong_observed from the last PONG (not
	 * authenticated: for display only).
	 */
	struct addr observed;
	struct addr pong_observed;
	int64_t last_rx_ms, last_tx_ms, hs_sent_ms, ping_sent_ms, up_since_ms;
	uint64_t ping_nonce;
	uint64_t dropped;      /* malformed, unauthentic or unexpected frames */
	uint64_t data_dropped; /* of those, DATA frames (no binding, replayed, not authentic) */
	link_data_fn on_data;  /* sealed bindings' datagrams; NULL: dropped */
	link_data_end_fn on_data_end; /* after on_data's batch; NULL: none */
	link_ctrl_fn on_ctrl;         /* discovery replies; NULL: dropped */
	void *ctrl_arg;               /* the caller's, for on_ctrl */
	link_cell_fn on_cell;         /* circuits' cells; NULL: opened, counted and dropped */
	void *cell_arg;               /* the caller's, for on_cell */
	uint64_t cells_rx, cells_tx;  /* CELL frames opened / sent */
	uint64_t cells_dropped;       /* CELL frames that did not open (also in dropped) */
	/*
	 * The relay's token-mode credential source (token.h), NULL none; owned by the link
	 * (link_free frees it). Its BINDs carry the credential; an ERROR auth-denied or
	 * auth-required drops it (once per 30 s) so the next BIND fetches a new one.
	 */
	struct token_state *token;
	/*
	 * The carrier (PROTOCOL.md §12): UDP on fd, or, while tc is set, a stream connection
	 * (transport/tconn.h) whose socket carrier.c watches beside fd. fd stays open for UDP
	 * probes. stream_failed: tc finished (the link is down); carrier.c takes it out of the
	 * loop and frees it (link_stream_stop). udp_answered: a UDP probe's PONG came (cleared by
	 * the caller).
	 */
	struct tconn *tc;
	bool stream_failed;
	bool udp_answered;
	int hs_retry_ms; /* handshake retry while not up; 0: the default 5 s */
	struct link_bind binds[LINK_MAX_BINDS];
	struct link_priv *priv; /* keys and Noise state */
};

/* A link to relay (key relay_pub) using identity client_priv; SO_MARK when fwmark != 0. */
int link_new(struct link **out, const uint8_t relay_pub[32], const struct addr *relay,
             const uint8_t client_priv[32], uint32_t fwmark);
/*
 * Sends UNBIND for bound sids when up; wipes keys; closes the stream too (its fd taken out of
 * the caller's loop first). NULL ok.
 */
void link_free(struct link *l);
/*
 * Wipes keys and closes without UNBIND: the relay keeps our memberships (direct sessions go on
 * forwarding) for the next run of the helper, which takes them over. NULL ok.
 */
void link_close(struct link *l);
/* Set SO_MARK on the link's socket (0 clears it); 0 or -errno. */
int link_set_fwmark(struct link *l, uint32_t fwmark);
/* Handshake, rekey, keepalive, PING every 10 s, (re)send BINDs. */
void link_tick(struct link *l, int64_t now_ms);
/*
 * Traffic through this relay went unanswered: PING now (unless one left in the last second)
 * and retry every second while unanswered, so pings_missed tells within seconds whether the
 * relay is gone.
 */
void link_ping_now(struct link *l, int64_t now_ms);
/*
 * Read (up to LINK_BATCH a call, one recvmmsg) and handle the pending datagrams of fd, then
 * on_data_end. While on a stream only the PONG of a UDP probe counts (udp_answered); the rest
 * is dropped.
 */
void link_readable(struct link *l, int64_t now_ms);
/*
 * Bind a sid in mode (idempotent; a sid bound in the other mode is unbound and bound again in
 * this one) or forget it. link_bind returns the slot, NULL when full or out of memory.
 */
struct link_bind *link_bind(struct link *l, const uint8_t sid[16], uint8_t mode, int64_t now_ms);
struct link_bind *link_find(struct link *l, const uint8_t sid[16]);
/*
 * Send sid's BIND again on the next tick, its last ERROR forgotten: the refusal is expected to
 * pass now (a sealed BIND refused with mode-mismatch while the far side switches). NULL l ok.
 */
void link_rebind(struct link *l, const uint8_t sid[16]);
void link_unbind(struct link *l, const uint8_t sid[16], int64_t now_ms);
/*
 * Seal the datagram at frame + PROTO_SEALED_HDR_LEN (len bytes; frame has room for
 * PROTO_SEALED_OVERHEAD more) for sealed binding b and send it to the relay. In place, no
 * allocation. 0, -ENOTCONN (no link keys, b not bound or waiting), -EMSGSIZE, or -errno.
 */
int link_send_data(struct link *l, struct link_bind *b, uint8_t *frame, size_t len, int64_t now_ms);
/*
 * Open a send batch: until link_tx_flush, link_send_data on UDP seals and queues its frame
 * (which the caller leaves untouched until then) and returns 0; on a stream it sends as
 * always. Opening an open batch does nothing.
 */
void link_tx_begin(struct link *l);
/*
 * Send what the batch queued and close it: one sendmmsg as a rule, each run of frames of one
 * size a UDP_SEGMENT (GSO) message where the kernel and route allow it (else a frame each).
 * Returns how many of the frames queued since link_tx_begin did not go (socket buffer full,
 * an error): each was counted as sent by the link_send_data that queued it. No batch: 0.
 */
size_t link_tx_flush(struct link *l);
/*
 * Seal the control message msg (len bytes, encoded by the caller: a DISCOVER) into a CTRL frame
 * and send it. Only on an authenticated link: 0, -ENOTCONN (not up), -EMSGSIZE, or -errno.
 */
int link_send_ctrl(struct link *l, const uint8_t *msg, size_t len, int64_t now_ms);
/*
 * Seal cell c (circuit id, command, counter, a class-size body) into a CELL frame with the
 * link's cell key, counter and index, and send it. The cell keys follow the link keys: a new
 * handshake starts a new counter and window, as the relay's do (PROTOCOL.md §13.1). 0,
 * -ENOTCONN (not up) or -EINVAL (a cell the format lacks).
 */
int link_send_cell(struct link *l, const struct cell *c, int64_t now_ms);
/*
 * Carry the link over a stream from now on: connect (tconn_connect) with cl to `to` (the
 * proxy's address when cl has one). A stream already there is freed first (the caller took its
 * fd out of its loop). The link is down (keys and bindings kept, bound again once up) and
 * handshakes as soon as the stream is open. 0 or -errno (the link is then on UDP).
 */
int link_stream_start(struct link *l, const struct tconn_client *cl, const struct addr *to,
                      int64_t now_ms);
/*
 * Back to UDP: the stream (if any; its fd out of the caller's loop) is freed and the link is
 * down until a handshake on UDP succeeds.
 */
void link_stream_stop(struct link *l, int64_t now_ms);
/* The stream's socket, -1 on UDP. */
int link_stream_fd(const struct link *l);
/* The events the stream waits for (tconn_events), 0 on UDP or once it failed. */
unsigned link_stream_events(const struct link *l);
/*
 * Write what the link queued on its stream since the last flush (frames on a stream are
 * deferred, so a wake-up's datagrams leave with one write): call before the loop sleeps. When
 * the stream finished the link goes down and stream_failed is set. A no-op on UDP.
 */
void link_stream_flush(struct link *l);
/*
 * The stream's socket is ready: advance it (writing what waits), handle each frame as a
 * datagram on UDP. When it finishes the link goes down and stream_failed is set.
 */
void link_stream_io(struct link *l, unsigned events, int64_t now_ms);
/* A PING on UDP while the link is on a stream: its PONG sets udp_answered. */
void link_udp_probe(struct link *l, int64_t now_ms);
/* First DATA counter of a new binding: the wall clock in ns (see link.c). */
uint64_t link_counter_start(void);

#endif
