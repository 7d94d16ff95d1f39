/* wg_uapiio.c: the userspace backend's socket side: one connection per request, bounded. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <sodium.h>

#include "wg_uapi.h"

#define UAPI_TIMEOUT_MS 5000

static int uapi_connect(const char *name)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd, n, r;

	n = snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s.sock", wg_uapi_dir(), name);
	if (n < 0 || (size_t)n >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		r = -errno;
		close(fd);
		/* No socket, or a stale one nobody listens on: the interface is gone. */
		return r == -ENOENT || r == -ECONNREFUSED ? -ENODEV : r;
	}
	return fd;
}

static int send_all(int fd, const char *s, size_t len)
{
	while (len) {
		ssize_t n = send(fd, s, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Send req, then feed the reply to a parser until it is complete. */
static int transact(const char *name, const char *req, size_t len, struct wg_uapi_parser *p)
{
	char buf[4096];
	struct pollfd pfd;
	int fd, r;

	fd = uapi_connect(name);
	if (fd < 0)
		return fd;
	r = send_all(fd, req, len);
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (r == 0) {
		ssize_t n;
		int pr = poll(&pfd, 1, UAPI_TIMEOUT_MS);

		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0) {
			r = pr == 0 ? -ETIMEDOUT : -errno;
			break;
		}
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		if (n == 0) {
			r = -EBADMSG; /* closed before the blank line */
			break;
		}
		r = wg_uapi_parser_feed(p, buf, (size_t)n);
		if (r == 1)
			r = 0;
		else
			break;
	}
	sodium_memzero(buf, sizeof(buf));
	close(fd);
	return r;
}

int wg_uapi_get_device(const char *name, struct wg_device **out)
{
	static const char req[] = "get=1\n\n";
	struct wg_uapi_parser p;
	int r;

	*out = NULL;
	r = wg_uapi_parser_init(&p);
	if (r == 0)
		r = transact(name, req, sizeof(req) - 1, &p);
	if (r == 0) {
		snprintf(p.dev->name, sizeof(p.dev->name), "%s", name);
		*out = p.dev;
		p.dev = NULL;
	}
	wg_uapi_parser_free(&p);
	return r;
}

/* A set request: its reply carries only errno=. */
static int request(const char *name, const char *req, size_t len)
{
	struct wg_uapi_parser p;
	int r;

	r = wg_uapi_parser_init(&p);
	if (r == 0)
		r = transact(name, req, len, &p);
	wg_uapi_parser_free(&p);
	return r;
}

int wg_uapi_set_peer(const char *name, const uint8_t pub[WG_KEY_LEN_BYTES],
                     const struct wg_peer_set *set)
{
	char req[512];
	int len;

	len = wg_uapi_format_set_peer(req, sizeof(req), pub, set);
	if (len < 0)
		return len;
	return request(name, req, (size_t)len);
}

/*
 * One transaction removes and re-adds. When it fails, whether the remove happened is unknown,
 * so the add alone is sent once more: it creates the peer if it is gone and otherwise sets only
 * what the peer already has.
 */
static int readd(const char *name, const struct wg_peer *p, char *req, size_t cap)
{
	int len = wg_uapi_format_readd_peer(req, cap, p);
	int r;

	if (len < 0)
		return len;
	r = request(name, req, (size_t)len);
	if (r == 0)
		return 0;
	len = wg_uapi_format_add_peer(req, cap, p);
	if (len < 0)
		return len;
	return request(name, req, (size_t)len);
}

int wg_uapi_readd_peer(const char *name, const struct wg_peer *p)
{
	size_t cap = wg_uapi_readd_size(p);
	char *req = malloc(cap);
	int r;

	if (!req)
		return -ENOMEM;
	r = readd(name, p, req, cap);
	sodium_memzero(req, cap); /* the preshared key */
	free(req);
	return r;
}
