/* turn.c: Allocate + ChannelBind against a TURN server with no auth; see turn.h. */
#include "turn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define STUN_MAGIC            0x2112A442u
#define STUN_ALLOCATE         0x0003
#define STUN_CHANNEL_BIND     0x0009
#define STUN_SUCCESS          0x0100
#define STUN_ERROR            0x0110
#define ATTR_CHANNEL_NUMBER   0x000C
#define ATTR_XOR_PEER_ADDR    0x0012
#define ATTR_XOR_RELAYED_ADDR 0x0016
#define ATTR_REQ_TRANSPORT    0x0019
#define ATTR_ERROR_CODE       0x0009

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static size_t put_xor_addr(uint8_t *p, uint16_t type, const struct sockaddr_in *a)
{
	put16(p, type);
	put16(p + 2, 8);
	p[4] = 0;
	p[5] = 1; /* IPv4 */
	put16(p + 6, (uint16_t)(ntohs(a->sin_port) ^ (STUN_MAGIC >> 16)));
	put32(p + 8, ntohl(a->sin_addr.s_addr) ^ STUN_MAGIC);
	return 12;
}

/* Send req (len bytes, txid at req+8) until a response with the same txid arrives. Returns the
 * response length, or -ETIMEDOUT. */
static int turn_transact(int fd, const struct sockaddr_in *server, const uint8_t *req, size_t len,
                         uint8_t *resp, size_t cap)
{
	int tries;

	for (tries = 0; tries < 6; tries++) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (sendto(fd, req, len, 0, (const struct sockaddr *)server, sizeof(*server)) < 0)
			return -errno;
		while (poll(&pfd, 1, 500) > 0) {
			n = recv(fd, resp, cap, 0);
			if (n >= 20 && memcmp(resp + 4, req + 4, 16) == 0)
				return (int)n;
		}
	}
	return -ETIMEDOUT;
}

static void turn_hdr(uint8_t *p, uint16_t type, uint16_t attr_len)
{
	size_t i;

	put16(p, type);
	put16(p + 2, attr_len);
	put32(p + 4, STUN_MAGIC);
	for (i = 8; i < 20; i++)
		p[i] = (uint8_t)rand();
}

/* Walk the attributes of a response: on success fill *relayed when present; on an error
 * response print its code. Returns 0 for a success class, -EPROTO otherwise. */
static int turn_check(const char *what, const uint8_t *r, int n, uint16_t method,
                      struct sockaddr_in *relayed)
{
	uint16_t type = get16(r);
	int off = 20;

	while (off + 4 <= n) {
		uint16_t at = get16(r + off), al = get16(r + off + 2);

		if (off + 4 + al > n)
			break;
		if (at == ATTR_XOR_RELAYED_ADDR && al == 8 && relayed) {
			memset(relayed, 0, sizeof(*relayed));
			relayed->sin_family = AF_INET;
			relayed->sin_port = htons(get16(r + off + 6) ^ (STUN_MAGIC >> 16));
			relayed->sin_addr.s_addr =
			    htonl(((uint32_t)get16(r + off + 8) << 16 | get16(r + off + 10)) ^
			          STUN_MAGIC);
		}
		if (at == ATTR_ERROR_CODE && al >= 4 && type == (method | STUN_ERROR))
			fprintf(stderr, "turn: %s refused: %d %.*s\n", what,
			        r[off + 6] * 100 + r[off + 7], al - 4, (const char *)r + off + 8);
		off += 4 + ((al + 3) & ~3);
	}
	return type == (method | STUN_SUCCESS) ? 0 : -EPROTO;
}

int turn_setup(int fd, const struct sockaddr_in *server, const struct sockaddr_in *peer,
               uint16_t channel, struct sockaddr_in *relayed)
{
	uint8_t req[128], resp[1500];
	size_t len;
	int n;

	turn_hdr(req, STUN_ALLOCATE, 8);
	put16(req + 20, ATTR_REQ_TRANSPORT);
	put16(req + 22, 4);
	put32(req + 24, 17u << 24); /* UDP */
	n = turn_transact(fd, server, req, 28, resp, sizeof(resp));
	if (n < 0)
		return n;
	if (turn_check("Allocate", resp, n, STUN_ALLOCATE, relayed) < 0)
		return -EPROTO;

	len = 20;
	put16(req + len, ATTR_CHANNEL_NUMBER);
	put16(req + len + 2, 4);
	put16(req + len + 4, channel);
	put16(req + len + 6, 0);
	len += 8;
	len += put_xor_addr(req + len, ATTR_XOR_PEER_ADDR, peer);
	turn_hdr(req, STUN_CHANNEL_BIND, (uint16_t)(len - 20));
	n = turn_transact(fd, server, req, len, resp, sizeof(resp));
	if (n < 0)
		return n;
	return turn_check("ChannelBind", resp, n, STUN_CHANNEL_BIND, NULL);
}

void turn_channel_hdr(uint8_t *p, uint16_t channel, uint16_t len)
{
	put16(p, channel);
	put16(p + 2, len);
}
