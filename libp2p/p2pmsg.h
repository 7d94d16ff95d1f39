/*
 * p2pmsg.h: the protobuf messages of Circuit Relay v2 (relay/circuit-v2.md: HopMessage on
 * /libp2p/circuit/relay/0.2.0/hop, StopMessage on /libp2p/circuit/relay/0.2.0/stop) and the
 * identify message (identify/README.md, /ipfs/id/1.0.0), by hand through libp2p/pb.h.
 *
 * Decoders point into the bytes given (no copies but the peer id) and keep at most
 * P2PMSG_MAX_ADDRS addresses of a list (more are skipped: a relay has no use for them).
 * On the stream each message is length-delimited (pb_delimited with P2PMSG_MAX).
 */
#ifndef WGR_P2PMSG_H
#define WGR_P2PMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "peerid.h"

#define P2PMSG_MAX       4096 /* largest HOP/STOP message accepted (delimited) */
#define P2PMSG_MAX_ADDRS 8

enum hop_type { HOP_RESERVE = 0, HOP_CONNECT = 1, HOP_STATUS = 2 };
enum stop_type { STOP_CONNECT = 0, STOP_STATUS = 1 };
enum relay_status {
	RS_OK = 100,
	RS_RESERVATION_REFUSED = 200,
	RS_RESOURCE_LIMIT_EXCEEDED = 201,
	RS_PERMISSION_DENIED = 202,
	RS_CONNECTION_FAILED = 203,
	RS_NO_RESERVATION = 204,
	RS_MALFORMED_MESSAGE = 400,
	RS_UNEXPECTED_MESSAGE = 401,
};

/* Peer {id=1, addrs=2}: has when the field was present (decode) or is to be sent (encode). */
struct p2p_peer {
	bool has;
	struct peerid id;
	const uint8_t *addrs[P2PMSG_MAX_ADDRS];
	size_t addr_len[P2PMSG_MAX_ADDRS];
	int n_addrs;
};
/* Limit {duration=1 (s), data=2 (bytes)}: 0 is an absent field, both ways. */
struct p2p_limit {
	bool has;
	uint32_t duration_s;
	uint64_t data;
};
/* Reservation {expire=1 (absolute Unix s), addrs=2, voucher=3 (signed envelope)}. */
struct p2p_resv {
	bool has;
	uint64_t expire;
	const uint8_t *addrs[P2PMSG_MAX_ADDRS];
	size_t addr_len[P2PMSG_MAX_ADDRS];
	int n_addrs;
	const uint8_t *voucher; /* NULL: absent */
	size_t voucher_len;
};
struct hop_msg {
	int type; /* enum hop_type, -1 absent */
	struct p2p_peer peer;
	struct p2p_resv resv;
	struct p2p_limit limit;
	int status; /* enum relay_status, 0 absent */
};
struct stop_msg {
	int type; /* enum stop_type, -1 absent */
	struct p2p_peer peer;
	struct p2p_limit limit;
	int status;
};

/*
 * Decode a message (without its length prefix): 0, or -EBADMSG when malformed (bad wire
 * format, a known field of the wrong wire type, a Peer without a valid peer id, an enum
 * past int, a duration past 32 bits, missing type). A repeated singular field: the last wins.
 * Unknown fields are skipped; values are taken as sent (the caller judges type and status).
 * Pointers in *m point into p.
 */
int hop_msg_decode(const uint8_t *p, size_t n, struct hop_msg *m);
int stop_msg_decode(const uint8_t *p, size_t n, struct stop_msg *m);
/*
 * Encode (the message only, no length prefix): length, -ENOBUFS, or -EINVAL for a type < 0.
 * Sub-messages are written when their has is set, status when non-zero.
 */
int hop_msg_encode(const struct hop_msg *m, uint8_t *out, size_t cap);
int stop_msg_encode(const struct stop_msg *m, uint8_t *out, size_t cap);
/* The spec's name of a status ("OK", "RESOURCE_LIMIT_EXCEEDED", …), "UNKNOWN" otherwise. */
const char *relay_status_name(int status);

/* What identify tells about us; NULL/0 members are left out. */
struct identify_info {
	const uint8_t *pubkey; /* PublicKey protobuf */
	size_t pubkey_len;
	const uint8_t *listen[P2PMSG_MAX_ADDRS]; /* binary multiaddrs */
	size_t listen_len[P2PMSG_MAX_ADDRS];
	int n_listen;
	const uint8_t *observed; /* the peer's address as we see it */
	size_t observed_len;
	const char *const *protocols;
	int n_protocols;
	const char *protocol_version; /* "ipfs/0.1.0" */
	const char *agent_version;
};
/* Identify: publicKey=1, listenAddrs=2, protocols=3, observedAddr=4, protocolVersion=5,
   agentVersion=6, in field order. Length or -ENOBUFS. */
int identify_encode(const struct identify_info *in, uint8_t *out, size_t cap);

#endif
