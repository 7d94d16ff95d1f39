/*
 * libp2p_int.h: what relayd's libp2p files share (libp2p.c: listener, connection table,
 * counters and events; libp2p_conn.c: one connection's socket, Noise and yamux;
 * libp2p_proto.c: its streams; libp2p_circuit.c: the circuits between two connections'
 * streams).
 *
 * Re-entrancy rule: a connection is ended (pconn_end) only from the top of the loop (its
 * own I/O handler, the flush, the tick, the close), never from inside a yamux callback;
 * inside one, pconn_fail marks it and the next flush ends it.
 */
#ifndef WGR_RELAYD_LIBP2P_INT_H
#define WGR_RELAYD_LIBP2P_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "identity.h"
#include "libp2p.h"
#include "srccount.h"
#include "mss.h"
#include "p2pmsg.h"
#include "pb.h"
#include "peerid.h"
#include "relay.h"
#include "resv.h"
#include "xxnoise.h"
#include "yamux.h"

#define P2P_PROTO_NOISE    "/noise"
#define P2P_PROTO_YAMUX    "/yamux/1.0.0"
#define P2P_PROTO_IDENTIFY "/ipfs/id/1.0.0"
#define P2P_PROTO_PING     "/ipfs/ping/1.0.0"
#define P2P_PROTO_HOP      "/libp2p/circuit/relay/0.2.0/hop"
#define P2P_PROTO_STOP     "/libp2p/circuit/relay/0.2.0/stop"

/* Ciphertext a connection may queue before data stops being forwarded to it and its own
   reading pauses; past P2P_QUEUE_HARD (control frames only get there) it is closed. */
#define P2P_QUEUE      (512u * 1024)
#define P2P_QUEUE_HARD (P2P_QUEUE + 256u * 1024)
/*
 * A spliced stream's receive window grows from yamux's 256 KiB to this, so a source is not
 * held to 256 KiB in flight (js-libp2p grows its own windows to 16 MiB): about 0.7x of
 * js-libp2p's relay's stream throughput instead of 0.5x (docs/BENCHMARKS.md). What is held
 * for a stuck partner is bounded by the window, so the growth comes from a relay-wide budget:
 * past it, streams keep 256 KiB.
 */
#define P2P_CIRCUIT_WINDOW (2u * 1024 * 1024)
#define P2P_WINDOW_BUDGET  (64ull * 1024 * 1024)
/* A STOP stream has this long to answer before the circuit fails (CONNECTION_FAILED). */
#define P2P_STOP_TIMEOUT_MS 20000

/* Why a connection was refused or cut: the reason label of wgrelayd_libp2p_refused_total. */
enum p2p_refusal {
	P2P_REF_LIMIT,    /* MaxConnections reached */
	P2P_REF_SOURCE,   /* MaxConnectionsPerSource reached */
	P2P_REF_TIMEOUT,  /* not up within HandshakeTimeout */
	P2P_REF_MSS,      /* multistream-select failed (garbage, no /noise or /yamux) */
	P2P_REF_NOISE,    /* Noise handshake failed (bad message, signature) */
	P2P_REF_KEY,      /* identity key not Ed25519 */
	P2P_REF_DECRYPT,  /* a transport message failed to decrypt */
	P2P_REF_YAMUX,    /* yamux protocol violation */
	P2P_REF_OVERFLOW, /* output queue past P2P_QUEUE_HARD: the peer does not read */
	P2P_REF_IDLE,     /* up, but no reservation and no circuit for IdleTimeout */
	P2P_REF_MAX,
};

/* Why a peer's stream was refused: wgrelayd_libp2p_streams_refused_total. */
enum p2p_sref {
	P2P_SREF_MAX_STREAMS, /* MaxStreams reached */
	P2P_SREF_PROTOCOL,    /* no protocol agreed (mss failed) */
	P2P_SREF_MESSAGE,     /* a bad or oversized message on the stream */
	P2P_SREF_MAXV,
};

/* Why a circuit ended: wgrelayd_libp2p_circuits_closed_total. */
enum p2p_cend {
	P2P_CEND_CLOSED,     /* both sides closed (FIN) */
	P2P_CEND_RESET,      /* a side reset its stream */
	P2P_CEND_DURATION,   /* CircuitDuration reached */
	P2P_CEND_DATA,       /* CircuitBytes reached */
	P2P_CEND_CONNECTION, /* a connection went */
	P2P_CEND_STOPPING,   /* the relay stops */
	P2P_CEND_MAX,
};

/* Hop requests, for wgrelayd_libp2p_denied_total. */
enum p2p_req { P2P_REQ_RESERVE, P2P_REQ_CONNECT, P2P_REQ_OTHER, P2P_REQ_MAX };

/* Stream kinds counted in wgrelayd_libp2p_streams_total. */
enum p2p_skind { P2P_S_IDENTIFY, P2P_S_PING, P2P_S_HOP, P2P_S_STOP, P2P_S_MAX };

/* What one source (IPv4 address or IPv6 /64) holds. */
/* A byte buffer that grows (doubling) up to a bound given at each append. */
struct pbuf {
	uint8_t *p;
	size_t off, len, cap;
};

struct pstream;
struct pcirc;

enum pconn_state {
	PC_MSS,     /* negotiating "/noise" on the raw socket */
	PC_NOISE,   /* Noise XX, as responder */
	PC_MSS_MUX, /* negotiating "/yamux/1.0.0" inside Noise */
	PC_OPEN,    /* yamux session up */
};

struct pconn {
	struct p2p *p;
	int fd;
	uint64_t id; /* unique for the process's life: the reservation table's conn_id */
	size_t pos;  /* index in p->list */
	struct srccount *src;
	struct addr peer, local; /* unmapped */
	uint64_t accepted_ms;
	/* The last tick it held a reservation or a circuit (accepted_ms until then): IdleTimeout. */
	uint64_t busy_ms;
	uint64_t resv_until_s; /* expiry of the last reservation made on it (Unix seconds) */
	uint8_t state;         /* enum pconn_state */
	uint8_t hs_step;       /* Noise messages read: 0, then 1 after ours went */
	unsigned events;
	struct mss mss;
	struct xxn_hs *hs; /* during the handshake only */
	struct xxn_cs tx, rx;
	struct peerid remote; /* the peer's id, once the handshake proved it */
	char remote_str[PEERID_STR_MAX];
	struct yamux *y;
	/* Input: raw bytes read, whole Noise messages taken from the front. */
	uint8_t *in;
	size_t in_len, in_cap;
	/* Output: ciphertext (and the handshake's clear messages); a Noise message being filled
	   sits at its end from out_msg on, its plaintext after a 2-byte length. */
	uint8_t *out;
	size_t out_off, out_len, out_cap;
	size_t out_msg; /* SIZE_MAX: no message open */
	bool dirty;     /* in p->dirty */
	size_t dpos;
	bool read_paused;    /* its own output queue is full */
	bool want_room;      /* a circuit's data waits for room in its queue */
	bool gone;           /* being ended: its streams are not touched any more */
	bool failed;         /* ends at the next flush */
	uint8_t fail_reason; /* enum p2p_refusal, or P2P_REF_MAX for an ordinary end */
	char fail_why[48];
	struct pstream *streams; /* its streams (doubly linked) */
	uint64_t bytes_in, bytes_out;
	struct log_budget log;
};

struct p2p {
	struct relay *r;
	struct identity id;
	struct peerid pid;
	char pid_str[PEERID_STR_MAX];
	uint8_t pubkey_pb[PUBKEY_ED25519_PB_LEN];
	uint8_t noise_priv[32];
	uint8_t payload[XXN_PAYLOAD_LEN]; /* our Noise handshake payload, the same for all */
	int lfd;
	bool paused; /* accepting stopped: out of descriptors; resumed by the tick */
	struct pconn **by_fd;
	size_t nfd;
	struct pconn **list;
	size_t n, cap;
	struct pconn **dirty;
	size_t ndirty;
	struct table sources;
	struct table by_id; /* conn id -> struct pconn */
	uint64_t next_id;
	struct resv_table *resv;
	struct pcirc *circs; /* all circuits, doubly linked */
	bool reap;           /* some circuit is to end at the next flush (circuit_kill) */
	size_t n_circs;      /* spliced ones */
	size_t n_open;       /* connections with yamux up */
	/* counters */
	uint64_t accepted, refused[P2P_REF_MAX];
	uint64_t streams[P2P_S_MAX], streams_refused[P2P_SREF_MAXV];
	uint64_t resv_accepted, resv_renewed, resv_expired;
	uint64_t circ_accepted, circ_closed[P2P_CEND_MAX];
	uint64_t denied[P2P_REQ_MAX][8]; /* by request and status index (p2p_status_idx) */
	uint64_t relayed_bytes;
	uint64_t window_extra; /* receive window grown on spliced streams, all together */
	uint64_t pings;
};

/* libp2p.c */
/* An event line, paid for from c's budget (NULL: only the relay's) and the relay's. */
void p2p_event(struct p2p *p, struct pconn *c, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The connection of id, or NULL. */
struct pconn *p2p_conn_by_id(struct p2p *p, uint64_t id);
/* Unix seconds (reservations' expire is absolute). */
uint64_t p2p_unix_now(void);
/* An index for status s into the denied_* arrays (0 .. 7). */
int p2p_status_idx(int s);
int p2p_status_of_idx(int i);
/* Count the refusal and log it (rate limited). */
void p2p_refused(struct p2p *p, enum p2p_refusal why, const struct addr *peer);
/* Put c on the flush list. */
void p2p_dirty(struct p2p *p, struct pconn *c);
/* Forget c in the tables (pconn_end's last step). */
void p2p_conn_forget(struct p2p *p, struct pconn *c);

/* pbuf (libp2p_conn.c) */
/* Append n bytes, growing up to max in all: 0, or -ENOBUFS (nothing taken). */
int pbuf_add(struct pbuf *b, const uint8_t *p, size_t n, size_t max);
void pbuf_take(struct pbuf *b, size_t n);
void pbuf_free(struct pbuf *b);

/* libp2p_conn.c */
/* Take accepted socket fd from peer (its source place already counted in src, which the
   caller gives back on failure): 0, or -errno with fd closed. The lists have room. */
int pconn_accept(struct p2p *p, int fd, const struct addr *peer, struct srccount *src);
/* Plaintext for the peer (yamux frames): encrypted in Noise messages as they fill. */
void pconn_write(struct pconn *c, const uint8_t *p, size_t n);
/* Ciphertext bytes c can still queue before it counts as full (0: full). */
size_t pconn_room(const struct pconn *c);
/* Seal the open message and write what the socket takes; resume reading when room came. */
void pconn_flush(struct pconn *c);
/* Mark c to end at the next flush (safe anywhere). reason: enum p2p_refusal or P2P_REF_MAX. */
void pconn_fail(struct pconn *c, int reason, const char *why);
/* End c now: its circuits, reservations, streams, socket (top of the loop only). A failed
   c's own reason is logged and counted (why is then ignored). */
void pconn_end(struct pconn *c, const char *why);

/* A delimited message on a stream: the varint and the message. */
#define PS_MSG_MAX (PB_VARINT_MAX + P2PMSG_MAX)

/* What a stream is doing (libp2p_proto.c, libp2p_circuit.c). */
enum ps_state {
	PS_MSS,       /* a peer's stream: agreeing on a protocol */
	PS_PING,      /* echoing */
	PS_HOP,       /* reading one HopMessage */
	PS_HOP_WAIT,  /* CONNECT: waiting for the target's answer on the stop stream */
	PS_STOP_MSS,  /* ours to the target: waiting for the protocol's acceptance */
	PS_STOP_WAIT, /* ours: CONNECT sent, waiting for STATUS */
	PS_SPLICE,    /* a circuit's end */
	PS_DONE,      /* answered and half-closed; nothing more expected */
};

struct pstream {
	struct pconn *c;
	struct yamux_stream *st; /* NULL once yamux closed it */
	struct pstream *prev, *next;
	uint8_t state;
	bool fin_in;  /* the peer half-closed */
	bool fin_out; /* (splice) that FIN passed on to the partner */
	struct mss mss;
	struct pbuf buf; /* received, not used yet (not consumed unless a message's bytes) */
	struct pcirc *circ;
	uint32_t grown; /* (splice) receive window added by yamux_grow, in p2p.window_extra */
};

struct pcirc {
	struct p2p *p;
	struct pcirc *prev, *next;
	struct pstream *hop, *stop; /* the source's and the target's ends; NULL once gone */
	struct peerid src, dst;
	uint64_t started_ms;            /* the CONNECT, then the splice */
	uint64_t limit_ms, limit_bytes; /* as announced at the CONNECT (0: none) */
	uint64_t bytes[2];              /* [0] source to target, [1] back */
	bool spliced;
	int dying;        /* -1, or enum p2p_cend: ends at the next reap */
	const char *fail; /* not spliced: why it failed */
};

/* libp2p_proto.c */
/* State for st on c (st->user = it), in state; NULL when out of memory. */
struct pstream *proto_new(struct pconn *c, struct yamux_stream *st, uint8_t state);
/* Unlink ps from its connection and free it. */
void proto_free(struct pstream *ps);
/* Reset ps's stream. Outside a callback on_close runs at once and ps may be gone after. */
void proto_reset(struct pstream *ps);
/* Send all n bytes on ps (small messages, which the peer's window covers): whether it went. */
bool proto_send(struct pstream *ps, const uint8_t *p, size_t n);
/* The same for a length-delimited message. */
bool proto_send_msg(struct pstream *ps, const uint8_t *msg, size_t n);
/* Answered: FIN; whatever else the peer sends is not wanted (PS_DONE). */
void proto_done(struct pstream *ps);
/* The circuit limit the config asks for (has: something to announce). */
void proto_limit(const struct p2p *p, struct p2p_limit *l);
/* The text of id, "?" when it cannot be written; out. */
const char *proto_peer_str(const struct peerid *id, char *out, size_t cap);
/* Refuse a hop request with status: reply, half-close, count, log (target may be NULL). */
void proto_refuse(struct pstream *ps, enum p2p_req req, int status, const char *target);
int proto_on_open(void *ctx, struct yamux_stream *st);
void proto_on_data(void *ctx, struct yamux_stream *st, const uint8_t *p, size_t len);
void proto_on_fin(void *ctx, struct yamux_stream *st);
void proto_on_close(void *ctx, struct yamux_stream *st);
void proto_on_window(void *ctx, struct yamux_stream *st);
/* c's output queue has room again: data waiting for it moves on. */
void proto_room(struct pconn *c);
/* c goes: its circuits end (why), its streams are freed (before yamux_free). */
void proto_conn_gone(struct pconn *c, enum p2p_cend why);

/* libp2p_circuit.c */
/* A CONNECT m on hop stream ps: admitted (a stop stream opened, ps waits) or refused. */
void circuit_connect(struct pstream *ps, const struct hop_msg *m);
/* Bytes on a stream in a circuit's states (PS_HOP_WAIT .. PS_SPLICE). */
void circuit_input(struct pstream *ps, const uint8_t *data, size_t len);
/* The peer half-closed ps, a circuit's stream. */
void circuit_on_fin(struct pstream *ps);
/* yamux closed ps, a circuit's stream (reset: by a RST). ps->st is NULL already. */
void circuit_stream_closed(struct pstream *ps, bool reset);
/* Room came for ps (its window or its connection's queue): its partner's data moves on. */
void circuit_room(struct pstream *ps);
/* ps's connection goes: its circuit ends now (top of the loop only). */
void circuit_conn_gone(struct pstream *ps, enum p2p_cend why);
/* Mark circ to end at the next reap; a failure before the splice with why. */
void circuit_kill(struct pcirc *circ, enum p2p_cend why);
void circuit_fail(struct pcirc *circ, const char *why);
/* STOP deadlines and circuit durations. */
void circuit_tick(struct p2p *p, uint64_t now_ms);
/* End the circuits marked to end (top of the loop only). */
void circuit_reap(struct p2p *p);
/* End every circuit (the relay stops). */
void circuit_close_all(struct p2p *p);

#endif
