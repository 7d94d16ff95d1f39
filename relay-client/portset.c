/* portset.c: sealed local ports registered with an ev loop by fd (see portset.h). */
#include "portset.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ev.h"
#include "log.h"
#include "proto.h"
#include "sealed.h"

/* A port registered under its fd; gen: the last sync that found it. */
struct portset_slot {
	struct sealed_port *port;
	uint64_t serial; /* port's: a port freed and another at its address on its fd differ */
	unsigned gen;
};

struct portset {
	struct ev_loop *loop;
	struct portset_slot *slot; /* indexed by fd */
	size_t n_slot;
	unsigned gen;
	uint8_t *buf; /* a batch of sealed datagrams, SEALED_SCRATCH bytes */
};

int portset_new(struct portset **out, struct ev_loop *loop)
{
	struct portset *ps = calloc(1, sizeof(*ps));

	if (!ps)
		return -ENOMEM;
	ps->buf = malloc(SEALED_SCRATCH);
	if (!ps->buf) {
		free(ps);
		return -ENOMEM;
	}
	ps->loop = loop;
	*out = ps;
	return 0;
}

void portset_release(struct portset *ps, int fd)
{
	if (fd < 0 || (size_t)fd >= ps->n_slot || !ps->slot[fd].port)
		return;
	ev_del_io(ps->loop, fd);
	ps->slot[fd].port = NULL;
}

void portset_free(struct portset *ps)
{
	if (!ps)
		return;
	for (size_t fd = 0; fd < ps->n_slot; fd++)
		portset_release(ps, (int)fd);
	free(ps->slot);
	free(ps->buf);
	free(ps);
}

struct sealed_port *portset_port(const struct portset *ps, int fd)
{
	return fd >= 0 && (size_t)fd < ps->n_slot ? ps->slot[fd].port : NULL;
}

static void portset_readable(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct portset *ps = arg;
	struct sealed_port *sp = portset_port(ps, fd);

	(void)events;
	if (sp)
		sealed_port_readable(sp, ps->buf, SEALED_SCRATCH, (int64_t)ev_now_ms(loop));
}

/* Room in the fd-indexed table for fd. */
static int portset_room(struct portset *ps, int fd)
{
	size_t n = ps->n_slot ? ps->n_slot : 64;

	if ((size_t)fd < ps->n_slot)
		return 0;
	while (n <= (size_t)fd)
		n *= 2;
	struct portset_slot *s = realloc(ps->slot, n * sizeof(*s));
	if (!s)
		return -ENOMEM;
	memset(s + ps->n_slot, 0, (n - ps->n_slot) * sizeof(*s));
	ps->slot = s;
	ps->n_slot = n;
	return 0;
}

/* Register sp unless it is; a registration of a closed port on its fd number goes first. */
static void portset_add(struct portset *ps, struct sealed_port *sp)
{
	static struct log_ratelimit rl = LOG_RATELIMIT_INIT(60000);
	int rc = portset_room(ps, sp->fd);

	if (rc == 0 && (ps->slot[sp->fd].port != sp || ps->slot[sp->fd].serial != sp->serial)) {
		portset_release(ps, sp->fd);
		rc = ev_add_io(ps->loop, sp->fd, EV_READ, portset_readable, ps);
		if (rc == 0) {
			ps->slot[sp->fd].port = sp;
			ps->slot[sp->fd].serial = sp->serial;
		}
	}
	/* Not registered: tried again at the next sync. */
	if (rc < 0) {
		log_warnx_rl(&rl, "sealed port %u: not watched: %s", addr_port(&sp->local),
		             strerror(-rc));
		return;
	}
	ps->slot[sp->fd].gen = ps->gen;
}

void portset_sync(struct portset *ps, struct sealed_port *const *ports, size_t n)
{
	ps->gen++;
	for (size_t i = 0; i < n; i++)
		portset_add(ps, ports[i]);
	for (size_t fd = 0; fd < ps->n_slot; fd++)
		if (ps->slot[fd].port && ps->slot[fd].gen != ps->gen)
			portset_release(ps, (int)fd);
}
