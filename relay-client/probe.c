/* probe.c: one-shot PING rounds over an IPv4 and an IPv6 socket. */
#include "probe.h"

#include <errno.h>
#include <poll.h>
#include <sodium.h>
#include <string.h>
#include <unistd.h>

#include "ev.h"
#include "log.h"

/* common/ev.c's monotonic clock, not a copy of it. */
static int64_t now_ms(void)
{
	return (int64_t)ev_clock_ms();
}

static int make_socket(int family, uint32_t fwmark)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* Full-tunnel setups route by fwmark; our probes must not go into the tunnel. */
	if (fwmark && setsockopt(fd, SOL_SOCKET, SO_MARK, &fwmark, sizeof(fwmark)) < 0)
		log_warn("probe: SO_MARK %u", fwmark);
	return fd;
}

static void send_round(int fd4, int fd6, struct probe_target *t, size_t n)
{
	uint8_t ping[PROTO_PING_LEN];
	for (size_t i = 0; i < n; i++) {
		if (t[i].answered || !t[i].addr.len)
			continue;
		int fd = addr_family(&t[i].addr) == AF_INET6 ? fd6 : fd4;
		if (fd < 0)
			continue;
		frame_encode_ping(ping, t[i].nonce);
		t[i].sent_at = now_ms();
		if (sendto(fd, ping, sizeof(ping), 0, &t[i].addr.sa, t[i].addr.len) < 0)
			log_debug("probe: sendto: %s", strerror(errno));
	}
}

static void receive(int fd, struct probe_target *t, size_t n)
{
	uint8_t buf[256];
	struct addr from;
	struct sockaddr_storage ss;
	socklen_t sl;
	ssize_t r;

	for (int k = 0; k < 64; k++) {
		sl = sizeof(ss);
		r = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&ss, &sl);
		if (r < 0)
			return;
		struct frame_pong pong;
		if (frame_check(buf, (size_t)r) != PROTO_PONG ||
		    frame_decode_pong(buf, (size_t)r, &pong) != 0)
			continue; /* not ours or malformed: drop */
		addr_from_sockaddr(&from, (struct sockaddr *)&ss, sl);
		addr_unmap(&from);
		for (size_t i = 0; i < n; i++) {
			if (t[i].answered || pong.nonce != t[i].nonce ||
			    !addr_equal(&from, &t[i].addr))
				continue;
			t[i].answered = true;
			t[i].pong = pong;
			int64_t d = now_ms() - t[i].sent_at;
			t[i].rtt_ms = d < 1 ? 1 : (int)d; /* ms resolution; loopback rounds up */
		}
	}
}

int probe_ping(struct probe_target *t, size_t n, int timeout_ms, uint32_t fwmark)
{
	int fd4, fd6;
	int64_t start, deadline;
	bool resent = false;

	for (size_t i = 0; i < n; i++) {
		t[i].answered = false;
		t[i].rtt_ms = -1;
	}
	if (n > PROBE_MAX_TARGETS) {
		log_warnx("probe: %zu relays; probing the first %d", n, PROBE_MAX_TARGETS);
		n = PROBE_MAX_TARGETS;
	}
	fd4 = make_socket(AF_INET, fwmark);
	fd6 = make_socket(AF_INET6, fwmark);
	if (fd4 < 0 && fd6 < 0)
		return fd4;
	for (size_t i = 0; i < n; i++) {
		addr_unmap(&t[i].addr);
		randombytes_buf(&t[i].nonce, sizeof(t[i].nonce));
	}
	start = now_ms();
	deadline = start + timeout_ms;
	send_round(fd4, fd6, t, n);
	for (;;) {
		size_t left = 0;
		for (size_t i = 0; i < n; i++)
			left += !t[i].answered;
		int64_t now = now_ms();
		if (!left || now >= deadline)
			break;
		if (!resent && now >= start + timeout_ms / 2) {
			send_round(fd4, fd6, t, n);
			resent = true;
		}
		int64_t until = resent ? deadline : start + timeout_ms / 2;
		struct pollfd p[2] = {{.fd = fd4, .events = POLLIN}, {.fd = fd6, .events = POLLIN}};
		int rc = poll(p, 2, (int)(until - now));
		if (rc < 0 && errno != EINTR)
			break;
		if (fd4 >= 0 && (p[0].revents & POLLIN))
			receive(fd4, t, n);
		if (fd6 >= 0 && (p[1].revents & POLLIN))
			receive(fd6, t, n);
	}
	if (fd4 >= 0)
		close(fd4);
	if (fd6 >= 0)
		close(fd6);
	return 0;
}
