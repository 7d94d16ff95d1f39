/* wg_uapiio.c: the userspace backend's socket side: one connection per request, bounded. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
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

int wg_uapi_set_peer(const char *name, const uint8_t pub[WG_KEY_LEN_BYTES],
                     const struct wg_peer_set *set)
{
	char req[512];
	struct wg_uapi_parser p;
	int len, r;

	len = wg_uapi_format_set_peer(req, sizeof(req), pub, set);
	if (len < 0)
		return len;
	r = wg_uapi_parser_init(&p);
	if (r == 0)
		r = transact(name, req, (size_t)len, &p);
	wg_uapi_parser_free(&p);
	return r;
}
