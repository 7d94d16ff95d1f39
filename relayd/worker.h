/*
 * worker.h: forwarding threads. The control thread owns links, tables and timers, and holds
 * the relay lock except while it waits for events. Each worker also reads a control socket of
 * its own per Listen address (ctlworker.c): it forwards the sealed DATA frames it receives and
 * hands everything else to the control thread. Each worker owns
 * the sockets of the direct sessions given to it: it alone reads them, sends from them, closes
 * them and frees their sessions. A new session goes to the worker with the fewest sessions and
 * stays there. A worker takes the relay lock once per received batch, to route it; it reads
 * and sends outside it. The few control messages routing causes (PEER_ACTIVE, an ERROR when a
 * circuit ends) are sent under the lock.
 */
#ifndef WGR_WORKER_H
#define WGR_WORKER_H

#include <pthread.h>
#include <stddef.h>

#include "ev.h"

struct relay;
struct session;
struct direct_io;
struct ctlworker;

struct worker_cmd;

struct worker {
	struct relay *r;
	unsigned id;
	pthread_t thread;
	struct ev_loop *loop;
	int wake_fd;        /* eventfd: commands are waiting */
	pthread_mutex_t mu; /* guards cmds */
	struct worker_cmd *cmds;
	size_t ncmds, capcmds;
	size_t nsessions; /* under the relay lock */
	struct direct_io *io;
	struct ctlworker *cw; /* its control sockets' buffers and hand-off queue (ctlworker.c) */
	uint64_t sealed_pkts; /* sealed DATA frames it forwarded (under the relay lock) */
};

/* Start n workers (their threads block every signal); 0 or -errno. */
int workers_start(struct relay *r, unsigned n);
/* The worker with the fewest sessions (relay lock held). */
struct worker *worker_pick(struct relay *r);
/* Hand s (its socket in s->fd) to w, which starts reading it; 0 or -ENOMEM. */
int worker_attach(struct worker *w, struct session *s);
/*
 * w starts watching fd for reading with cb(w's loop, fd, EV_READ, arg): a socket w reads for
 * the whole relay (a control socket of its own). The socket stays open and watched until the
 * process ends. 0 or -ENOMEM.
 */
int worker_watch(struct worker *w, int fd, ev_io_cb cb, void *arg);
/*
 * s is no longer in any table: w closes fd and frees s once it is done with its current
 * batch. Until then s must only be marked dead.
 */
void worker_retire(struct worker *w, struct session *s, int fd);

/* The relay lock: a no-op without workers, where the control thread does everything. */
void relay_lock(struct relay *r);
void relay_unlock(struct relay *r);

#endif
