/*
 * mss.h: multistream-select 1.0 (libp2p connections spec, "Protocol Negotiation"), sans-I/O.
 * Every message is a uvarint length, then a line of text ending in '\n', the length counting
 * the '\n'. Both sides first send the header MSS_PROTO; the dialer then proposes protocols, the
 * listener echoes the first it supports and answers "na" to the others.
 *
 * Bounds: a line is at most MSS_MAX_LINE bytes (longer: -EMSGSIZE), only its first
 * MSS_NAME_MAX bytes are kept (a longer proposal cannot match and is answered "na"), at most
 * MSS_MAX_TRIES proposals per negotiation. The state is a few dozen bytes per stream and the
 * machine consumes every byte it is given, so the owner never keeps a partial line.
 *
 * API as in the issue 18 design; additions: MSS_NAME_MAX, MSS_MAX_TRIES, MSS_OUT_MAX and the
 * line-reader members of struct mss (internal to mss.c).
 */
#ifndef WGR_MSS_H
#define WGR_MSS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define MSS_PROTO     "/multistream/1.0.0"
#define MSS_MAX_LINE  1024 /* longest message accepted, '\n' included */
#define MSS_NAME_MAX  63   /* longest protocol id that can be chosen or proposed */
#define MSS_MAX_TRIES 16   /* proposals per negotiation; one more is -EPROTO */
/* Room in out with which mss_listen_input never fails with -ENOBUFS: its whole output over
   one negotiation is the header, MSS_MAX_TRIES "na" and one echo. */
#define MSS_OUT_MAX 160

/* One negotiation, one side. Zeroed by the init/start functions; members are mss.c's. */
struct mss {
	uint8_t state;
	bool dialer;
	uint8_t tries;
	const char *want;            /* dialer: the protocol proposed */
	uint16_t len;                /* current line: declared length, '\n' included */
	uint16_t got;                /* its bytes read so far */
	uint8_t vlen;                /* bytes of its length varint read */
	char line[MSS_NAME_MAX + 1]; /* its first bytes */
};

/* Listener: expects the header, answers it, then proposals; answers the first supported
   one (echo) and "na" otherwise (also for "ls"), at most MSS_MAX_TRIES proposals. */
void mss_listen_init(struct mss *m);
/*
 * Feed received bytes in any chunking. Returns 1 when a protocol was chosen (*chosen = index
 * into protos; in[*used .. n) is application data that came right after the proposal), 0
 * when all n bytes were taken and more are needed (*used = n), -EPROTO for a bad header or
 * too many proposals, -EMSGSIZE for a line over MSS_MAX_LINE, -EBADMSG for a malformed
 * message (bad varint, empty line, no '\n'), -ENOBUFS (nothing taken) when out has less than
 * MSS_OUT_MAX bytes free, -EINVAL after a result. Lines to send are appended to out. Our
 * header goes out once the peer's header has been read, so garbage gets no answer.
 */
int mss_listen_input(struct mss *m, const char *const *protos, size_t nprotos, const uint8_t *in,
                     size_t n, size_t *used, struct wbuf *out, int *chosen);
/*
 * Dialer (the relay's STOP stream): writes the header and the proposal of proto at once
 * (pipelined). proto must outlive the negotiation (a string constant). 0, -EINVAL (empty,
 * longer than MSS_NAME_MAX or holding '\n'), -ENOBUFS (nothing written).
 */
int mss_dial_start(struct mss *m, const char *proto, struct wbuf *out);
/*
 * Feed the listener's bytes in any chunking: 1 accepted (in[*used .. n) is data), 0 all
 * taken and more needed, -ENOPROTOOPT the listener answered "na", -EPROTO a bad header or
 * another answer, -EMSGSIZE / -EBADMSG as for the listener, -EINVAL after a result.
 */
int mss_dial_input(struct mss *m, const uint8_t *in, size_t n, size_t *used);

#endif
