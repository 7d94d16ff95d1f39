/* tclient.c: test client (see tclient.h). */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "buf.h"
#include "key.h"
#include "tclient.h"

int tclient_udp(void)
{
	return tclient_udp_on(1);
}

int tclient_udp_on(uint8_t host)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
	                         .sin_addr.s_addr = htonl(0x7f000000u | host)};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -errno;
	}
	return fd;
}

int tclient_sendto(int fd, const void *p, size_t len, const struct addr *to)
{
	return sendto(fd, p, len, 0, &to->sa, to->len) < 0 ? -errno : 0;
}

int tclient_recvfrom(int fd, void *buf, size_t cap, struct addr *from, int timeout_ms)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	ssize_t n;

	if (poll(&pfd, 1, timeout_ms) <= 0)
		return -ETIMEDOUT;
	n = recvfrom(fd, buf, cap, 0, (struct sockaddr *)&ss, &sl);
	if (n < 0)
		return -errno;
	if (from)
		addr_from_sockaddr(from, (struct sockaddr *)&ss, sl);
	return (int)n;
}

int tclient_open(struct tclient *c, const char *relay, const uint8_t relay_pub[32])
{
	memset(c, 0, sizeof(*c));
	if (addr_parse(&c->relay, relay, 0) < 0)
		return -EINVAL;
	c->fd = tclient_udp();
	if (c->fd < 0)
		return c->fd;
	key_generate_private(c->priv);
	key_public_from_private(c->pub, c->priv);
	memcpy(c->relay_pub, relay_pub, 32);
	hs_client_init(&c->hs, c->priv, relay_pub);
	return 0;
}

void tclient_close(struct tclient *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	link_keys_clear(&c->keys);
}

int tclient_handshake(struct tclient *c, int timeout_ms)
{
	uint8_t init[PROTO_HS_INIT_LEN], buf[PROTO_MAX_FRAME];

	for (int round = 0; round < 2; round++) {
		int n;

		hs_client_build_init(&c->hs, init, 1 + (uint64_t)round);
		tclient_sendto(c->fd, init, sizeof(init), &c->relay);
		n = tclient_recvfrom(c->fd, buf, sizeof(buf), NULL, timeout_ms);
		if (n < 0)
			return n;
		if (frame_check(buf, (size_t)n) == PROTO_COOKIE) {
			if (hs_client_consume_cookie(&c->hs, buf, (size_t)n, 2) < 0)
				return -EBADMSG;
			continue;
		}
		return hs_client_consume_resp(&c->hs, buf, (size_t)n, &c->keys, &c->observed);
	}
	return -EAGAIN;
}

int tclient_send_ctrl(struct tclient *c, const struct ctrl_msg *m)
{
	uint8_t pt[PROTO_MAX_CTRL_PLAIN], frame[PROTO_MAX_CTRL_PLAIN + PROTO_SEALED_OVERHEAD];
	int n = ctrl_encode(m, pt, sizeof(pt));

	if (n < 0)
		return n;
	n = frame_seal_ctrl(frame, sizeof(frame), c->keys.remote_index, c->keys.ctrl_send_counter++,
	                    c->keys.ctrl_send, pt, (size_t)n);
	return n < 0 ? n : tclient_sendto(c->fd, frame, (size_t)n, &c->relay);
}

int tclient_recv_ctrl(struct tclient *c, struct ctrl_msg *m, int timeout_ms)
{
	uint8_t buf[PROTO_MAX_FRAME], pt[PROTO_MAX_CTRL_PLAIN];

	for (int tries = 0; tries < 16; tries++) {
		int n = tclient_recvfrom(c->fd, buf, sizeof(buf), NULL, timeout_ms);

		if (n < 0)
			return n;
		if (frame_check(buf, (size_t)n) != PROTO_CTRL)
			continue;
		n = frame_open_ctrl(buf, (size_t)n, c->keys.ctrl_recv, &c->keys.ctrl_replay, pt,
		                    sizeof(pt));
		if (n < 0)
			continue;
		return ctrl_decode(pt, (size_t)n, m) < 0 ? -EBADMSG : 0;
	}
	return -ETIMEDOUT;
}

int tclient_answer_challenge(struct tclient *c, int fd, int timeout_ms)
{
	uint8_t buf[PROTO_MAX_FRAME], pt[PROTO_MAX_CTRL_PLAIN], frame[PROTO_MAX_CTRL_PLAIN + 32];
	struct ctrl_msg m, resp = {.type = CTRL_RESPONSE};
	int n = tclient_recvfrom(fd, buf, sizeof(buf), NULL, timeout_ms);

	if (n < 0)
		return n;
	if (frame_check(buf, (size_t)n) != PROTO_CTRL ||
	    (n = frame_open_ctrl(buf, (size_t)n, c->keys.ctrl_recv, &c->keys.ctrl_replay, pt,
	                         sizeof(pt))) < 0 ||
	    ctrl_decode(pt, (size_t)n, &m) < 0 || m.type != CTRL_CHALLENGE)
		return -EBADMSG;
	memcpy(resp.token, m.token, sizeof(resp.token));
	n = ctrl_encode(&resp, pt, sizeof(pt));
	n = frame_seal_ctrl(frame, sizeof(frame), c->keys.remote_index, c->keys.ctrl_send_counter++,
	                    c->keys.ctrl_send, pt, (size_t)n);
	return n < 0 ? n : tclient_sendto(fd, frame, (size_t)n, &c->relay) < 0 ? -EIO : 0;
}

int tclient_bind(struct tclient *c, const uint8_t sid[16], int mode, const char *user,
                 const char *password, struct ctrl_msg *reply, int timeout_ms)
{
	struct ctrl_msg m = {.type = CTRL_BIND, .mode = (uint8_t)mode};
	int r;

	memcpy(m.sid, sid, 16);
	if (user)
		strncpy(m.user, user, CTRL_CRED_MAX);
	if (password)
		strncpy(m.password, password, CTRL_CRED_MAX);
	if ((r = tclient_send_ctrl(c, &m)) < 0)
		return r;
	/* Skip notices about other sessions (PEER_ACTIVE, another session's BOUND). */
	for (int i = 0; i < 16; i++) {
		if ((r = tclient_recv_ctrl(c, reply, timeout_ms)) < 0)
			return r;
		if ((reply->type == CTRL_BOUND || reply->type == CTRL_ERROR) &&
		    (!memcmp(reply->sid, sid, 16) || sodium_is_zero(reply->sid, 16)))
			return 0;
	}
	return -ETIMEDOUT;
}

size_t tclient_wg_init(uint8_t out[148], uint32_t sender)
{
	randombytes_buf(out, 148);
	buf_store_le32(out, 1);
	buf_store_le32(out + 4, sender);
	return 148;
}

size_t tclient_wg_resp(uint8_t out[92], uint32_t sender, uint32_t receiver)
{
	randombytes_buf(out, 92);
	buf_store_le32(out, 2);
	buf_store_le32(out + 4, sender);
	buf_store_le32(out + 8, receiver);
	return 92;
}

size_t tclient_wg_data(uint8_t *out, size_t len, uint32_t receiver, uint64_t counter)
{
	randombytes_buf(out, len);
	buf_store_le32(out, 4);
	buf_store_le32(out + 4, receiver);
	memcpy(out + 8, &counter, 8);
	return len;
}
