/*
 * relay.h: wgrelayd's state: links (one per client key, after a handshake), sessions (a sid
 * with up to two members), and the sockets. The control thread's loop owns all of it, except
 * the direct sessions' sockets, which belong to worker threads (worker.h).
 */
#ifndef WGR_RELAY_H
#define WGR_RELAY_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "config.h"
#include "ev.h"
#include "frame.h"
#include "handshake.h"
#include "seal.h"
#include "log.h"
#include "ratelimit.h"
#include "replay.h"
#include "stats.h"
#include "table.h"

#define RELAY_MAX_BINDS_PER_LINK 16

/*
 * A direct member's confirmed address that carried traffic this recently is never replaced
 * (PROTOCOL.md §5.5): a session is not taken over while its members are talking.
 */
#define RELAY_MEMBER_ACTIVE_MS 15000
/* A link whose handshake address never sent an authenticated frame is forgotten this soon. */
#define RELAY_LINK_UNPROVEN_MS 30000
/* At most one address challenge per link this often (§5.2). */
#define RELAY_CHALLENGE_MS 1000
/*
 * A socket's kernel drop counter (sock_drops, a system call) is read after a batch that came
 * back full, when its receive buffer may be filling, and otherwise at most this often.
 */
#define RELAY_DROPS_READ_MS 1000

struct session;
struct worker;
struct direct_io;
struct rpeer;        /* a relay link, ours or inbound (network.h) */
struct network;      /* the relay network part: identity, descriptor, store, links (network.h) */
struct streams;      /* the stream listeners and their connections (streams.c) */
struct p2p;          /* the libp2p listener, its connections and circuits (libp2p.h) */
struct tconn_client; /* transport/tconn.h: what a dialled stream speaks */
struct link_cells;   /* a link's cell keys and window (circuits.c) */
struct circuits;     /* multi-hop circuits: the switch and its links (circuits.c) */

/*
 * What one client key or one source (IPv4 /32, IPv6 /64) holds (quota.c). Kept while anything
 * is charged to it, so per-key counts survive the expiry of the key's links.
 */
enum quota_kind { QUOTA_KEY = 1, QUOTA_SOURCE = 2 };
struct quota {
	uint8_t kind;
	uint8_t id[32]; /* a client key, or family and prefix of a source */
	uint64_t hash;
	uint32_t links, reservations, circuits;
	/* keys: the newest handshake timestamp seen, so an old initiation cannot be replayed */
	uint8_t tai64n[PROTO_TAI64N_LEN];
	bool has_tai64n;
};

/* Log lines a remote party can cause: a budget per link and one for the relay (stats.c). */
struct log_budget {
	struct tbucket tb;
	uint64_t suppressed;
};

/* A control socket (control.c) and, with workers, the worker that reads it (ctlworker.c). */
struct ctl_sock {
	int fd;
	bool v6;
	uint32_t drops;    /* the kernel's drop count last read (sock_drops) */
	uint64_t drops_ms; /* when it was read */
	struct worker *w;  /* NULL: read by the control loop */
	struct relay *r;
};

struct link {
	uint32_t index; /* ours: clients put it in CTRL and DATA frames' index field */
	/*
	 * Where everything the relay sends unasked goes. Set by the handshake; changed only when
	 * a CTRL RESPONSE from the new address echoes a CHALLENGE sent there (PROTOCOL.md §5.2).
	 */
	struct addr addr;
	/* An authenticated frame came from addr: the client receives there (it had HS_RESP). */
	bool proven;
	struct addr chal_addr; /* address being challenged, with its token */
	uint8_t chal_token[PROTO_CHALLENGE_LEN];
	uint64_t chal_sent_ms;     /* 0: no challenge outstanding */
	struct quota *qkey, *qsrc; /* what this link is charged to */
	struct log_budget log;
	int fd; /* control socket the link talks through */
	struct link_keys keys;
	uint8_t client_pub[32];
	bool authenticated; /* admitted by key or token: seed-004 limits do not apply */
	uint64_t last_rx_ms;
	uint64_t gen; /* unique for the process's life: what a member's cached keys belong to */
	/*
	 * DATA frames sent on this link, all its sessions together: with one counter per link key,
	 * a sid bound again on the same link can never repeat a nonce (PROTOCOL.md §5.4).
	 */
	uint64_t data_send_counter;
	/* Handles of this link's memberships, so link events cost O(bindings), not O(sessions). */
	uint32_t binds[RELAY_MAX_BINDS_PER_LINK];
	int nbinds;
	/*
	 * The relay network (PROTOCOL.md §10): set while the link carries a relay link (ours from
	 * the handshake on, an inbound one from a verified HELLO). Such a link binds nothing, is
	 * never evicted for room and never expired here: the network part times it out.
	 */
	struct rpeer *rp;
	struct link_cells *cells; /* circuits.c: NULL until the link carries a cell */
	struct tbucket discover;  /* DISCOVER requests (§10.4); set up at the first one */
	bool discover_init;
};

struct member {
	struct link *link; /* NULL while the client has no link (traffic keeps flowing) */
	uint8_t client_pub[32];
	uint32_t handle;
	struct addr link_ip;       /* public IP the binding link came from (port ignored) */
	struct quota *qkey, *qsrc; /* what this membership is charged to */
	/*
	 * direct mode: WireGuard addresses (PROTOCOL.md §5.5). cand: where this member's last
	 * initiation came from; conf: its proven address. init_dst: where the relay delivered the
	 * other member's last initiation, the only address a response may come from. A new
	 * initiator address is proven by a transport datagram from it carrying the receiver
	 * index of the response delivered there (resp_index).
	 */
	struct addr cand, conf, init_dst, resp_dst;
	bool has_cand, has_conf, has_init_dst, has_resp_dst, announced;
	uint32_t wg_sender;  /* sender index of this member's last WireGuard initiation */
	uint32_t resp_index; /* sender index of the response the relay delivered to resp_dst */
	uint64_t conf_rx_ms; /* last datagram from conf */
	/* sealed mode */
	struct sealed_member *sealed; /* NULL in direct mode: 336 bytes a member saved */
};

/* What only a sealed member needs. */
struct sealed_member {
	struct replay recv_replay;
	struct seal_session keys; /* for the member's link: gen is the link's gen */
};

struct session {
	struct relay *relay;
	uint8_t sid[16];
	uint8_t mode;
	int n;
	struct member m[2];
	int fd;            /* direct mode: the session's UDP socket */
	uint32_t drops;    /* the kernel's drop count on fd last read (sock_drops) */
	uint64_t drops_ms; /* when it was read */
	uint16_t port;
	uint64_t created_ms, paired_ms, last_rx_ms;
	uint64_t notice_ms; /* the last mode-mismatch notice to its waiting member (§5.2) */
	uint64_t bytes;
	struct tbucket bandwidth;
	bool limited; /* seed-004 circuit limits apply */
	bool circuit;
	struct worker *worker; /* direct mode: the thread that reads fd (NULL: the control loop) */
	bool dead;             /* closed; its worker frees it after its current batch */
	/*
	 * fastpath.c: installed in the XDP path's map, and its figures for the session as last
	 * read back (the kernel counts from the install on; a removal zeroes them).
	 */
	bool xdp_on;
	uint64_t xdp_pkts, xdp_bytes, xdp_last_ns[2];
	/*
	 * portshare.c: SessionSockets = shared. fd is then the shared group's first socket (a
	 * session has its port while fd >= 0; it never closes it); the local address each family's
	 * member last sent to, where datagrams to that family leave from.
	 */
	uint8_t ps_local6[16];
	uint32_t ps_local4; /* network byte order */
	bool ps_has4, ps_has6;
};

struct relay {
	struct relayd_config cfg;
	struct ev_loop *loop;
	/*
	 * The control sockets: one per Listen address read by the control loop, or, with
	 * workers, one per Listen address and worker (a SO_REUSEPORT group per address).
	 */
	struct ctl_sock *ctl;
	int n_ctl;
	/* ctl_v6_fd[fd]: fd is an IPv6 control socket (its peers need the v4-mapped form) */
	bool *ctl_v6_fd;
	int ctl_fd_lim; /* ctl_v6_fd's length: one more than the largest control socket */
	struct hs_relay hs;
	struct ratelimit *rl;
	struct table links;    /* index -> struct link */
	struct table sessions; /* sid hash -> struct session */
	struct table handles;  /* handle -> struct session */
	struct table ports;    /* port -> struct session */
	struct table clients;  /* key hash -> struct link (latest proven link of a client key) */
	struct table quotas;   /* key or source hash -> struct quota */
	struct log_budget log; /* remote-caused log lines, all links together */
	uint8_t (*allowed_keys)[32];
	size_t n_allowed;
	uint64_t reservations, circuits;
	uint64_t links_evicted, challenges_sent, events_suppressed;
	uint64_t restore_refused; /* saved members over the limits at start (state.c) */
	uint16_t next_port;
	uint64_t started_ms;
	uint64_t link_gen;      /* the last link's gen */
	uint64_t next_stats_ms; /* when the next stats line is due */
	struct relay_stats st;
	struct ev_timer tick;
	bool under_load;
	uint32_t hs_this_second;
	uint64_t hs_second;
	/* Held by the control thread except while it waits; by a worker while it routes. */
	pthread_mutex_t mu;
	struct worker *workers;
	unsigned n_workers;
	struct direct_io *io;    /* direct reads on the control loop (no workers) */
	struct network *net;     /* NULL: the relay network is off */
	struct streams *streams; /* NULL: no [Transport] Listen */
	struct p2p *p2p;         /* NULL: no [Libp2p] Listen (libp2p.h) */
	/* fastpath.c: the XDP path; NULL: user space forwards every datagram */
	struct xdp_path *xdp;
	size_t xdp_sessions;     /* installed in its map (a set that failed is not) */
	uint64_t xdp_set_failed; /* sets that failed */
	uint64_t xdp_fail_logged_ms;
	/* portshare.c: SessionSockets = shared; NULL: every direct session has its socket */
	struct portshare *ps;
	struct circuits *circ; /* NULL: Circuits = off */
};

/* quota.c */
struct quota *quota_key(struct relay *r, const uint8_t pub[32]);
struct quota *quota_source(struct relay *r, const struct addr *a);
/* Forget q when nothing is charged to it any more. */
void quota_release(struct relay *r, struct quota *q);

/* control.c */
int control_open(struct relay *r);
/* Send on control socket fd to a policy-checked address (dropped and counted otherwise). */
void control_sendto(struct relay *r, int fd, const void *p, size_t len, const struct addr *to);
/*
 * Queue p (which must stay valid until the batch is flushed) for the batch's sendmmsg; -1
 * when policy forbids the address (counted). On a stream connection's fd the frame joins
 * that connection's queue at once (-1: dropped, counted by streams.c).
 */
int control_queue(struct relay *r, int fd, void *p, size_t len, const struct addr *to);
/* Send what control_queue batched. A caller of control_frame outside the receive batch calls
 * it before the frame's buffer is reused. */
void control_flush(struct relay *r);
/*
 * One frame (a UDP datagram, or a stream's record) that came from src to control socket or
 * stream connection fd: checked, rate limited when unauthenticated, and dispatched. p may be
 * modified in place (a DATA frame is resealed there).
 */
void control_frame(struct relay *r, int fd, uint8_t *p, size_t n, const struct addr *src);
/*
 * control_frame in two parts, for a frame that frame_check passed as type t: whether the
 * per-source rate limit lets it through (false: dropped, counted), and its handling.
 */
bool control_rate_ok(struct relay *r, int type, const struct addr *src, uint64_t now_ms);
void control_dispatch(struct relay *r, int fd, int t, uint8_t *p, size_t n, const struct addr *src);
void control_send_ctrl(struct relay *r, struct link *l, const struct ctrl_msg *m);
void control_notify_shutdown(struct relay *r);
void control_expire_links(struct relay *r, uint64_t now_ms);
/* Seal the control message pt (n bytes) on l and send it to l's address. */
void control_send_raw(struct relay *r, struct link *l, const uint8_t *pt, size_t n);
/* Close l now: its memberships lose their link, its quotas are released, l is freed. */
void control_link_close(struct relay *r, struct link *l);
/* The control socket to reach a's family from; -1 when the relay has none. */
int control_fd_for(const struct relay *r, const struct addr *a);
/* Whether control socket fd is an IPv6 one (its IPv4 peers need the v4-mapped form). */
bool control_fd_v6(const struct relay *r, int fd);

/* Send m to dst: the answer to a request goes where the request came from (§7 bounds it). */
void control_send_ctrl_to(struct relay *r, struct link *l, const struct ctrl_msg *m,
                          const struct addr *dst);
/*
 * An authenticated frame of l came from src: prove l's address, or challenge src when it is
 * a new one. len is the frame's size (a challenge is never larger).
 */
void control_link_seen(struct relay *r, struct link *l, const struct addr *src, size_t len);

/* session.c */
struct session *session_find(struct relay *r, const uint8_t sid[16]);
int session_bind(struct relay *r, struct link *l, const struct ctrl_msg *req,
                 struct ctrl_msg *reply);
int session_unbind(struct relay *r, struct link *l, uint32_t handle);
void session_link_gone(struct relay *r, struct link *l);
/* The membership of l's i-th binding (0 <= i < l->nbinds). */
struct member *session_link_member(struct relay *r, struct link *l, int i);
/* A new link of the same client key takes over old's memberships (a restarted helper). */
void session_link_adopt(struct relay *r, struct link *old, struct link *l);
/* The client behind l moved to a new address (authenticated roaming). */
void session_link_roam(struct relay *r, struct link *l);
void session_close(struct relay *r, struct session *s, const char *why);
/*
 * state.c's restore: m (parsed into the next free place of s) joins s if the limits allow it;
 * a session restored with two members is a circuit again if they allow that. 0 or PROTO_ERR_*.
 */
int session_restore_member(struct relay *r, struct session *s, struct member *m);
int session_restore_circuit(struct relay *r, struct session *s);
void session_expire(struct relay *r, uint64_t now_ms);

/* A closed session that hit a circuit limit: its members get ERROR(circuit-limit-reached). */
void session_close_limit(struct relay *r, struct session *s, const char *why);

/* direct.c */
int direct_open(struct relay *r, struct session *s);
/* Open exactly port (0: any free port of the range). */
int direct_open_port(struct relay *r, struct session *s, uint16_t port);
/* Release the session's port and socket, and s itself (now or, on a worker, after its batch). */
void direct_release(struct relay *r, struct session *s);
/* Receive buffers for one thread (a worker, or the control loop); NULL when out of memory. */
struct direct_io *direct_io_new(void);
/* The ev handler of a session socket. */
void direct_input(struct ev_loop *loop, int fd, unsigned events, void *arg);

/* state.c: direct sessions survive a restart (KEYFILE.sessions, mode 0600). */
int state_save(struct relay *r);
int state_load(struct relay *r);

/*
 * circuits.c: multi-hop circuits (PROTOCOL.md §13), when Circuits = on. circuits_open makes
 * the switch (0 or -errno; nothing when off); circuits_frame takes a CELL frame from src (a
 * drop, counted, when off). A link's circuits follow it to the link that replaces it (a rekey)
 * and end when it goes (circuits_link_gone, from control.c's link free).
 */
int circuits_open(struct relay *r);
void circuits_close(struct relay *r);
void circuits_frame(struct relay *r, uint8_t *p, size_t n, const struct addr *src);
void circuits_link_replaced(struct relay *r, struct link *old, struct link *l);
void circuits_link_gone(struct relay *r, struct link *l);
void circuits_tick(struct relay *r, uint64_t now_ms);
/* A relay link is up (HELLO verified, not a duplicate): EXTENDs waiting for it go on. */
void circuits_relay_up(struct relay *r, struct rpeer *rp);
size_t circuits_metrics(const struct relay *r, char *out, size_t cap);

/* sealed.c */
void sealed_forward(struct relay *r, uint8_t *frame, size_t len, const struct addr *src);
/*
 * Sealed DATA on a worker (ctlworker.c), in three steps so that the crypto runs outside the
 * relay lock: sealed_plan (lock held) checks the frame and copies what opening and resealing
 * need into j; sealed_crypt (no lock) opens and reseals j's frame in place; sealed_commit
 * (lock held) checks the session and both links are still the ones planned with, accepts the
 * counter into the replay window and charges the session.
 */
struct sealed_job {
	uint8_t *frame;
	size_t len;
	struct addr src;
	uint32_t handle;
	uint64_t counter;
	uint64_t x_gen, y_gen;      /* the sender's and the receiver's link, as planned */
	uint8_t rkey[32], skey[32]; /* session keys: open with rkey, reseal with skey */
	uint32_t y_handle;
	uint64_t y_counter;
	int y_fd;
	struct addr dst;
	int n;       /* the payload's length once opened; < 0: failed (FRAME_E*) */
	size_t flen; /* the resealed frame's length */
};
enum sealed_plan_result {
	SEALED_DROP,    /* dropped and counted */
	SEALED_CRYPT,   /* go on: sealed_crypt, then sealed_commit */
	SEALED_CONTROL, /* the control thread must take this frame as it is (control_frame) */
};
/* worker: the frame came to a worker's socket (SEALED_CONTROL is possible). */
enum sealed_plan_result sealed_plan(struct relay *r, struct sealed_job *j, bool worker);
void sealed_crypt(struct sealed_job *j);
/* True: j's frame goes to j->dst on j->y_fd (counted as forwarded); false: dropped, counted. */
bool sealed_commit(struct relay *r, struct sealed_job *j, uint64_t now_ms);

/*
 * ctlworker.c: a worker's control sockets. The worker reads them, forwards sealed DATA itself
 * and hands every other frame to the control thread, which runs control_frame on it with the
 * worker's socket as fd. Bounded: a full hand-off queue drops (counted as socket_full).
 */
/* Hand cs (its worker in cs->w) to the worker and watch its hand-off queue on the control
 * loop; 0 or -errno. */
int ctlworker_attach(struct relay *r, struct ctl_sock *cs);
/* Prometheus lines of the sealed frames each worker forwarded; the length written. */
size_t ctlworker_metrics(const struct relay *r, char *out, size_t cap);

/*
 * streams.c: the stream listeners of [Transport] (PROTOCOL.md §12). A connection's socket fd
 * stands for it in the control path: its records go to control_frame with that fd, and
 * control_sendto / control_queue hand frames for that fd to streams_send.
 */
/* Open every [Transport] Listen socket and the TLS context; 0 (nothing when none is
 * configured) or -errno, logged. */
int streams_open(struct relay *r);
/* Close every connection (its links first) and the listeners; nothing when none is open. */
void streams_close(struct relay *r);
/* Whether fd is a live stream connection's socket: O(1). */
bool streams_owns(const struct relay *r, int fd);
/*
 * Queue frame p (len bytes) on the connection of fd (streams_owns); streams_flush writes it.
 * 0, or -EMSGSIZE / -ENOBUFS (dropped, counted; a droppable frame already when the queue is
 * half full).
 */
int streams_send(struct relay *r, int fd, const void *p, size_t len, bool droppable);
/*
 * Write what streams_send queued since the last call, one write per connection (and over TLS
 * one TLS record per 16 KiB). Called before the loop sleeps; nothing when there are no streams.
 */
void streams_flush(struct relay *r);
/* The stream Prometheus lines into out; the length written. */
size_t streams_metrics(const struct relay *r, char *out, size_t cap);
/*
 * Dial a stream connection (a relay link of ours, PROTOCOL.md §10.2): cl says what to speak
 * (its tls and queue_bytes are filled in when unset), to where to connect (the proxy when
 * there is one), peer what the control path sees as its records' source. It joins the table
 * as an accepted one does (HandshakeTimeout, QueueBytes; not MaxConnectionsPerSource), and
 * the network part hears network_stream_open once records flow, network_stream_closed when it
 * ends (after its links closed), unless streams_hangup ended it. 0 with *fd, or -errno.
 */
int streams_dial(struct relay *r, const struct tconn_client *cl, const struct addr *to,
                 const struct addr *peer, int *fd);
/* End the connection of fd now (its links first), without network_stream_closed; a no-op
 * when fd is not a stream's or is ending already. */
void streams_hangup(struct relay *r, int fd);

/* metrics.c: Prometheus text on cfg.metrics ("off": none); 0 or -errno. */
int metrics_open(struct relay *r);
/* Render the exposition into out; returns the length written. */
size_t metrics_render(const struct relay *r, char *out, size_t cap);

/*
 * The relay network (network.c, netlinks.c, descreq.c, discover.c, netdht.c; PROTOCOL.md §10,
 * §11). Every entry point is a no-op, or drops what it is given, while r->net is NULL.
 */
/* Start it when the config turns it on: identity, own descriptor, plan, timers. 0 or -errno. */
int network_open(struct relay *r);
/* The relay is stopping: ERROR(shutdown) was sent on every link; free what network_open made. */
void network_close(struct relay *r);
/* A CTRL message that is the network's: on a relay link (any type) or of a §10 type. */
bool network_wants_ctrl(const struct relay *r, const struct link *l, uint8_t type);
/* Handle it (the frame opened on l from src; len is the frame's size). l may be freed. */
void network_ctrl(struct relay *r, struct link *l, const uint8_t *pt, size_t n,
                  const struct addr *src, size_t len);
/* HS_RESP, COOKIE, DESC_REQ and DESC_RESP frames that reached a control socket. */
void network_frame(struct relay *r, int fd, int type, const uint8_t *p, size_t n,
                   const struct addr *src);
/* l's rpeer moves to its successor (a rekey or a restart of the same peer key). */
void network_link_replaced(struct relay *r, struct link *old, struct link *l);
/* l is being freed: its relay link, if any, is down. */
void network_link_gone(struct relay *r, struct link *l);
/* Prometheus lines of the network part into out; the length written. */
size_t network_metrics(const struct relay *r, char *out, size_t cap);
/* A stream the network part dialled (streams_dial) is open: its first frames go now. */
void network_stream_open(struct relay *r, int fd);
/* A stream the network part dialled ended (why: a few words); its dialler moves on. */
void network_stream_closed(struct relay *r, int fd, const char *why);
/* The relay links by carrier (udp, stream) as Prometheus lines; the length written. */
size_t network_carrier_metrics(const struct relay *r, char *out, size_t cap);
/* The relay's descriptor as wgrelayd --show-descriptor prints it (text or JSON); 0 or -errno. */
int network_show_descriptor(const struct relayd_config *c, bool json, char *err, size_t errlen);

/* admit.c */
/* Read c's allowlist (keys mode only) into r; r's list is untouched on failure. */
int admit_load_keys(struct relay *r, const struct relayd_config *c);
int admit_check(struct relay *r, struct link *l, const struct ctrl_msg *bind, uint64_t now_s);
bool admit_client_allowed(struct relay *r, const uint8_t pub[32]);
int admit_token_verify(const struct relayd_config *c, const char *user, const char *password,
                       uint64_t now_s);

/* fastpath.c */
/*
 * Direct sessions in the XDP fast path (xdp.h, docs/XDP.md). A session is installed while
 * both members have a proven address of one family that policy allows and that is on their
 * link's IP, and no per-circuit bandwidth cap applies (user space meters it). Every entry
 * point is a no-op while r->xdp is NULL; all run under the relay lock.
 */
/*
 * Load and attach the path as [Relay] Xdp says, then install the sessions that qualify (the
 * restored ones). Off, or auto that fails (one warning line with why): 0 and r->xdp NULL.
 * native or generic that fail: -errno with err = why.
 */
int fastpath_open(struct relay *r, char *err, size_t errlen);
/*
 * After privileges drop: map updates need none since Linux 5.19, but CAP_BPF before it. When
 * the maps refuse, the path is closed; auto: a warning, 0; native, generic: -errno, err = why.
 */
int fastpath_after_drop(struct relay *r, char *err, size_t errlen);
/* Detach and free the path (at exit). */
void fastpath_close(struct relay *r);
/*
 * s changed in what decides its install (a member's proven address, its link's IP, the
 * limits): install, update or remove it, after reading back what the kernel forwarded (so
 * conf_rx_ms is fresh; now_ms: the caller's clock, the latest time that may be set).
 */
void fastpath_update(struct relay *r, struct session *s, uint64_t now_ms);
/*
 * Read back what the kernel forwarded for s now, not at the next tick: before user space
 * forwards any of s's datagrams itself (they came up: budget spent, no route), so its byte
 * limit counts them, and before it decides whether a member is silent.
 */
void fastpath_refresh(struct relay *r, struct session *s, uint64_t now_ms);
/* s is closing or losing a member: take it out of the map (its last figures counted first). */
void fastpath_remove(struct relay *r, struct session *s);
/* After a reload (limits, policy): fastpath_update for every direct session. */
void fastpath_reload(struct relay *r);
/*
 * Once a second: what the kernel forwarded per session goes into the session's bytes and the
 * direct-mode counters, a member it forwarded from counts as active (idle expiry, §5.5), and
 * limited sessions past CircuitBytes close.
 */
void fastpath_tick(struct relay *r, uint64_t now_ms);
/* The wgrelayd_xdp_* Prometheus lines into out; the length written. */
size_t fastpath_metrics(const struct relay *r, char *out, size_t cap);
/* " xdp=N" (installed sessions) for the stats line while the path is open, else "". */
const char *fastpath_stats(const struct relay *r, char *buf, size_t cap);

/* portshare.c */
/*
 * SessionSockets = shared (docs/ARCHITECTURE.md): direct sessions own a port of PortRange but
 * no socket. A BPF sk_lookup program steers the open session ports to one SO_REUSEPORT group of
 * UDP sockets (one per worker, or one on the control loop); replies leave through raw sockets
 * with the session's port and the address the member sent to. portshare.h has the rest.
 */
/*
 * Open it when cfg says shared (nothing otherwise): load and attach the program, open the
 * receive and raw sockets, hand them to the workers. Needs CAP_BPF (or CAP_SYS_ADMIN),
 * CAP_NET_ADMIN and CAP_NET_RAW, so before privileges drop. 0, or -errno with err = why.
 */
int portshare_open(struct relay *r, char *err, size_t errlen);
/* After privileges drop: a map update must still work (older kernels need CAP_BPF). */
int portshare_after_drop(struct relay *r, char *err, size_t errlen);
/* Detach the program and close what portshare_open made (at exit; NULL-safe). */
void portshare_close(struct relay *r);
/* Steer port to the shared sockets from now on (s's port is taken); 0 or -errno. */
int portshare_add(struct relay *r, uint16_t port);
/* Stop steering port: datagrams to it meet a closed port again. */
void portshare_del(struct relay *r, uint16_t port);
/* Prometheus lines of the shared sockets; the length written (0 when off). */
size_t portshare_metrics(const struct relay *r, char *out, size_t cap);

#endif
