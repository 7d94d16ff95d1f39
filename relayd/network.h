/*
 * network.h: wgrelayd's part of the relay network (PROTOCOL.md §10), shared by its files:
 * network.c (identity, own descriptor, the gossip engine and its store, the link plan, the
 * timer), netlinks.c (relay links: handshakes as initiator, HELLO, heartbeats, rekeys),
 * descreq.c (DESC_REQ and DESC_RESP frames), discover.c (DISCOVER answers) and netdht.c (the
 * Mainline DHT, §11). The decisions are the pure modules' (common/gossip.h, common/linkplan.h,
 * common/dht.h); these files do the I/O.
 */
#ifndef WGR_NETWORK_H
#define WGR_NETWORK_H

#include <stdbool.h>
#include <stdint.h>

#include "descriptor.h"
#include "dstore.h"
#include "frame.h"
#include "gossip.h"
#include "handshake.h"
#include "identity.h"
#include "linkplan.h"
#include "relay.h"

/* An initiation or HELLO not answered is sent again this often (WireGuard's REKEY_TIMEOUT). */
#define NET_RESEND_MS 5000
/* Two links with one relay that came up this close together were dialled at once (§10.2). */
#define NET_DEDUP_RACE_MS 10000
/*
 * Initiations (DESC_REQs for a Peer line) sent over UDP unanswered before a relay with stream
 * endpoints is dialled over a stream instead (§10.2): about 10 s at NET_RESEND_MS.
 */
#define NET_UDP_TRIES 2
/* Stream endpoints kept for one relay link: a Peer line's URLs, then its descriptor's. */
#define NET_MAX_URLS 8
/* Names of stream endpoints being looked up, or remembered, at once (netdns.c). */
#define NET_DNS_SLOTS 16
/* Relay links (ours and inbound, in any state) held at once. */
#define NET_MAX_PEERS 256
/* Configured peers' descriptors are asked for (DESC_REQ) at most this often while unknown. */
#define NET_DESC_REQ_MIN_MS 5000
/* A descriptor republished for its load at most this often, and on a change above this. */
#define NET_LOAD_REPUBLISH_MS   (5 * 60 * 1000)
#define NET_LOAD_REPUBLISH_DIFF 200
/* DISCOVER per link: this many a second, this burst (§10.4). */
#define NET_DISCOVER_RATE  2
#define NET_DISCOVER_BURST 10
/* DISCOVER near-ordered answers walk the whole store: at most this many a second, relay-wide. */
#define NET_NEAR_RATE  10
#define NET_NEAR_BURST 20
/* Entries a DISCOVER in identity order looks at for one answer (filtered ones included). */
#define NET_DISCOVER_SCAN 4096

enum rpeer_state {
	RP_HANDSHAKE = 1, /* ours: HS_INIT sent, no HS_RESP yet */
	RP_HELLO,         /* ours: keys made, our HELLO sent, the peer's not yet verified */
	RP_UP,            /* HELLO verified both ways (inbound: from the initiator's HELLO on) */
};

/* Refusals that are not a descriptor error (those are counted by enum desc_err). */
enum net_refusal {
	NET_REF_SELF,        /* a HELLO with our own identity */
	NET_REF_IDENTITY,    /* a HELLO naming another identity than the one dialled */
	NET_REF_DUPLICATE,   /* a second link with the same relay (§10.2: one is kept) */
	NET_REF_NOT_RELAY,   /* a relay-only message on a link that is not a relay link */
	NET_REF_NO_ROOM,     /* an inbound relay link the plan or the peer table had no room for */
	NET_REF_MALFORMED,   /* a §10 message that does not decode */
	NET_REF_UNPROVEN,    /* a HELLO from another address than its link's */
	NET_REF_UNSOLICITED, /* a DESC_RESP nobody asked for, or one naming another Noise key */
	NET_REF_MAX
};
const char *net_refusal_name(int reason);

/* One relay link: ours (we dialled; from linkplan's CONNECT) or inbound (a HELLO verified). */
struct rpeer {
	uint32_t id;          /* the gossip engine's link id: stable across rekeys */
	uint8_t state;        /* enum rpeer_state */
	bool initiator;       /* ours */
	uint8_t identity[32]; /* ours: the one dialled; inbound: the HELLO's */
	uint8_t noise[32];
	struct addr addr;    /* the peer's control port */
	struct link *link;   /* NULL while our first handshake is in flight */
	struct hs_client hs; /* ours: the initiation in flight */
	uint32_t hs_index;   /* its sender index; 0 when none is in flight */
	uint64_t hs_sent_ms; /* when it (or the HELLO, in RP_HELLO) was last sent */
	uint64_t keys_ms;    /* ours: when the link's keys were made (rekey, §4.4) */
	uint64_t up_ms;
	uint64_t hb_nonce, hb_sent_ms; /* the HEARTBEAT outstanding */
	uint32_t rtt_ms;               /* from the last HEARTBEAT_ACK */
	/* ours: the carrier. A stream's connection stands in the control path for the peer's
	 * address (addr), so the handshake, HELLO and heartbeats run as over UDP. */
	int sfd;           /* the stream connection carrying it; -1: UDP */
	bool sopen;        /* sfd carries records (its transport handshakes are done) */
	uint8_t udp_tries; /* initiations sent over UDP, none answered */
	uint8_t n_urls;    /* stream endpoints to try, in order */
	uint8_t next_url;  /* the next one to dial */
	uint64_t dial_ms;  /* when to dial it (0: not due) */
	struct turl urls[NET_MAX_URLS];
	char carrier[TURL_STRLEN]; /* the URL of the stream carrying it; "" UDP */
};

/* A [Network] Peer: its identity is learnt from its descriptor (DESC_REQ) before it is dialled. */
struct cfgpeer {
	struct net_peer_cfg c;
	bool known;           /* its descriptor arrived: it is a CONFIGURED candidate */
	uint8_t identity[32]; /* when known */
	uint64_t next_req_ms; /* next DESC_REQ while unknown */
	/* UDP went unanswered (or a proxy is set): DESC_REQ over a stream to its URLs. */
	int sfd; /* -1: none */
	bool sopen;
	uint8_t udp_tries; /* DESC_REQs sent over UDP, none answered */
	uint8_t next_url;  /* the URL dialled next (round robin) */
	uint8_t url;       /* the URL sfd was dialled to */
	bool warned;       /* unreachable through the proxy (no URL): said once */
};

struct net_stats {
	uint64_t hello_refused[DESC_E_MAX]; /* HELLO and DESC_RESP descriptors, by enum desc_err */
	uint64_t refused[NET_REF_MAX];
	uint64_t desc_requests, desc_responses; /* DESC_REQ answered, DESC_RESP sent */
	uint64_t discover, discover_limited, discover_desc;
	uint64_t links_up, links_down; /* relay links that came up / went down */
	uint64_t hellos_sent, heartbeats_sent, rekeys;
	uint64_t publishes;                     /* own descriptors signed and published */
	uint64_t ctrl_bytes_in, ctrl_bytes_out; /* §10 plaintext on relay links, gossip included */
	uint64_t stream_dials; /* streams dialled for relay links and Peer descriptors */
};

struct network {
	struct relay *r;
	struct identity id;
	struct gossip *g;
	struct linkplan *plan;
	struct netdht *dht; /* the Mainline DHT node (netdht.c); NULL: [Network] Dht = off */
	struct ev_timer timer;
	/* own descriptor */
	struct descriptor d;
	uint8_t desc[DESC_MAX_LEN];
	size_t desc_len;
	uint64_t publish_ms; /* monotonic: when it was last signed */
	uint64_t next_publish_ms;
	uint16_t published_load;
	/* relay links */
	struct rpeer *peers[NET_MAX_PEERS];
	int n_peers;
	uint32_t next_id;
	struct cfgpeer cfg[CONFIG_MAX_PEERS];
	int n_cfg;
	struct tbucket near; /* DISCOVER near-ordered answers, relay-wide */
	struct netdns *dns[NET_DNS_SLOTS];
	struct net_stats st;
};

/* network.c */
/* Unix time in milliseconds: the gossip engine's and the descriptors' clock. */
uint64_t net_unix_ms(void);
/*
 * Decode, verify and check a descriptor that came outside gossip (HELLO, DESC_RESP): current,
 * and naming the Noise key noise (NULL: any; an address from the DHT comes with no key). 0
 * with *out (one reference); the enum desc_err (positive) that refused it, counted; or -ENOMEM.
 */
int net_desc_check(struct network *n, const uint8_t *p, size_t len, const uint8_t noise[32],
                   struct dstore_desc **out);
/* Offer a descriptor learnt on a link (rp; NULL: elsewhere) to the store; feeds the plan. */
int net_offer(struct network *n, struct rpeer *rp, const uint8_t *desc, size_t len);
/* Send what the gossip engine has queued. */
void net_pump(struct network *n);
/* Run the plan's decisions now. */
void net_plan(struct network *n);
/*
 * The linkplan class the operator gives a relay of this identity and Noise key: CONFIGURED only
 * for the identity learnt for a Peer line's key (net_cfg_learn), so a descriptor that merely
 * claims a configured key is not one.
 */
uint8_t net_class(const struct network *n, const uint8_t identity[32], const uint8_t noise[32]);
/*
 * The relay of a Peer line's Noise key proved it holds that key (DESC_RESP to our request, or a
 * handshake) and names identity: remember it. When the line had another identity, that one
 * leaves the plan (the relay changed identity) and is logged. Returns true when the line had
 * no identity or another one; false when nothing changed or noise is no Peer line's key.
 */
bool net_cfg_learn(struct network *n, const uint8_t noise[32], const uint8_t identity[32]);
/* Add (or refresh) the relay of descriptor d as a candidate of class cls; 0 or -errno. */
int net_candidate(struct network *n, const struct descriptor *d, uint8_t cls);
/* Seal pt on rp's link; counted and reported to the plan as sent. */
void net_send(struct network *n, struct rpeer *rp, const uint8_t *pt, size_t len);

/* netlinks.c */
struct rpeer *netlinks_find(struct network *n, const uint8_t identity[32], bool up_only);
struct rpeer *netlinks_by_id(struct network *n, uint32_t id);
/* linkplan said CONNECT / DISCONNECT / HEARTBEAT. */
void netlinks_connect(struct network *n, const struct linkplan_action *a);
void netlinks_disconnect(struct network *n, const uint8_t identity[32], const char *why);
void netlinks_heartbeat(struct network *n, const uint8_t identity[32]);
/* Resend initiations and HELLOs, start rekeys: once a second. */
void netlinks_tick(struct network *n, uint64_t now_ms);
/* An HS_RESP that reached fd (a control socket or a stream connection) from src. */
void netlinks_hs_resp(struct network *n, int fd, const uint8_t *p, size_t len,
                      const struct addr *src);
void netlinks_cookie(struct network *n, const uint8_t *p, size_t len);
/* A HELLO, HEARTBEAT(_ACK) or ERROR on l; l may be freed. */
void netlinks_hello(struct network *n, struct link *l, const uint8_t *pt, size_t len,
                    const struct addr *src);
void netlinks_heartbeat_in(struct network *n, struct link *l, const uint8_t *pt, size_t len);
void netlinks_error(struct network *n, struct link *l, const struct ctrl_msg *m);
/* Close every relay link (shutdown). */
void netlinks_close_all(struct network *n);
/*
 * Dial a stream to u for the peer known at addr (what its records' source is in the control
 * path): through [Network] Proxy when set (the name unresolved), else to u's address, a name
 * looked up first (-EINPROGRESS / -EAGAIN: ask again in a while; an onion name, or one that
 * does not resolve: -EHOSTUNREACH). 0 with *fd, or -errno.
 */
int netlinks_dial(struct network *n, const struct turl *u, const struct addr *addr, int *fd);
/* Why netlinks_dial refused (e < 0), for log lines. */
const char *netlinks_strerror(int e);
/* A Peer line's stream opened (descreq.c): false when fd is not one of theirs. */
bool descreq_stream_open(struct network *n, int fd);
/* A Peer line's stream ended before its descriptor came: false when fd is not theirs. */
bool descreq_stream_closed(struct network *n, int fd);

/* descreq.c */
void descreq_input(struct network *n, int fd, const uint8_t *p, size_t len, const struct addr *src);
void descreq_resp(struct network *n, const uint8_t *p, size_t len, const struct addr *src);
/* Ask the configured peers whose descriptor is not known yet (due ones only). */
void descreq_tick(struct network *n, uint64_t now_ms);

/* netdht.c: the Mainline DHT node on its own UDP socket (PROTOCOL.md §11) */
struct netdht;
/* Start it when [Network] Dht = on (after the own descriptor exists). 0, or -errno for a
 * configuration the DHT cannot run with; a socket that cannot be bound leaves it off (logged). */
int netdht_open(struct network *n);
/* Stop it and free what netdht_open made. */
void netdht_close(struct network *n);
/* The own descriptor was signed anew: put it into the DHT (BEP 44) soon. */
void netdht_published(struct network *n);
/* A DESC_RESP from src: true when it answers a DESC_REQ sent to an address the DHT gave
 * (then it was handled: checked and offered to the store), false when it is not ours. */
bool netdht_desc_resp(struct network *n, const uint8_t *p, size_t len, const struct addr *src);
/* The DHT's Prometheus lines into out; the length written. */
size_t netdht_metrics(const struct network *n, char *out, size_t cap);

/* netdns.c: stream endpoint names resolved off the loop (getaddrinfo_a) */
struct netdns;
/*
 * The address of host (port 0: the caller sets it): 0 with *out; -EINPROGRESS while it is
 * looked up (started by this call when it was not), so ask again later; -EHOSTUNREACH when
 * it did not resolve (remembered a minute); -EAGAIN when every slot is busy.
 */
int netdns_lookup(struct network *n, const char *host, struct addr *out);
/* Cancel or wait briefly for lookups in flight, and free what netdns_lookup made. */
void netdns_free(struct network *n);

/* discover.c */
/*
 * Answer q from store s: up to q->max descriptors into out (PROTOCOL.md §10.4 order and
 * filters), *next the cursor to continue after (zero: no more). Pure: no I/O, no clock.
 * Returns how many were filled.
 */
size_t discover_select(struct dstore *s, const struct ctrl_discover *q,
                       const struct dstore_desc **out, uint8_t next[32]);
/* A DISCOVER on l: rate limited, answered with DESC messages and DISCOVERED to l's address. */
void discover_input(struct network *n, struct link *l, const uint8_t *pt, size_t len,
                    const struct addr *src, size_t frame_len);

#endif
