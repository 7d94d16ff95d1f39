/* tclient.h: a small wgrelay client for tests and the demo, built from common/ only. */
#ifndef WGR_TCLIENT_H
#define WGR_TCLIENT_H

#include <stdint.h>

#include "addr.h"
#include "frame.h"
#include "handshake.h"

struct tclient {
	int fd;
	struct addr relay;
	uint8_t priv[32], pub[32], relay_pub[32];
	struct hs_client hs;
	struct link_keys keys;
	struct addr observed;
};

/* A UDP socket on 127.0.0.1 (ephemeral port) aimed at relay, with a fresh identity key. */
int tclient_open(struct tclient *c, const char *relay, const uint8_t relay_pub[32]);
void tclient_close(struct tclient *c);
/* Handshake (answering one cookie round if asked); 0 or a negative error. */
int tclient_handshake(struct tclient *c, int timeout_ms);
int tclient_send_ctrl(struct tclient *c, const struct ctrl_msg *m);
/* The next control message within timeout_ms; 0, or -ETIMEDOUT. */
int tclient_recv_ctrl(struct tclient *c, struct ctrl_msg *m, int timeout_ms);
/* BIND and wait for BOUND or ERROR (returned in *reply). */
int tclient_bind(struct tclient *c, const uint8_t sid[16], int mode, const char *user,
                 const char *password, struct ctrl_msg *reply, int timeout_ms);

/*
 * Read a CHALLENGE (sent by the relay to fd, a new address of c's) and answer it from fd, as
 * a client whose NAT moved it does; 0, or -ETIMEDOUT / -EBADMSG.
 */
int tclient_answer_challenge(struct tclient *c, int fd, int timeout_ms);

/* Raw UDP helpers. */
int tclient_udp(void);
/* A UDP socket on 127.0.0.HOST (another "public IP" on loopback), ephemeral port. */
int tclient_udp_on(uint8_t host);
int tclient_sendto(int fd, const void *p, size_t len, const struct addr *to);
/* Receive one datagram within timeout_ms: its length, or -ETIMEDOUT. */
int tclient_recvfrom(int fd, void *buf, size_t cap, struct addr *from, int timeout_ms);

/* WireGuard-shaped messages (right type, size and indices; random contents). */
size_t tclient_wg_init(uint8_t out[148], uint32_t sender);
size_t tclient_wg_resp(uint8_t out[92], uint32_t sender, uint32_t receiver);
size_t tclient_wg_data(uint8_t *out, size_t len, uint32_t receiver, uint64_t counter);

#endif
