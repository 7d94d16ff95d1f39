/* worker.c: direct-mode forwarding threads (see worker.h). */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "relay.h"
#include "worker.h"

enum { WORKER_ATTACH, WORKER_RETIRE, WORKER_WATCH };

struct worker_cmd {
	int op;
	int fd;
	struct session *s;
	ev_io_cb cb; /* WORKER_WATCH: the handler and its argument */
	void *arg;
};

void relay_lock(struct relay *r)
{
	if (r->n_workers)
		pthread_mutex_lock(&r->mu);
}

void relay_unlock(struct relay *r)
{
	if (r->n_workers)
		pthread_mutex_unlock(&r->mu);
}

static int worker_post(struct worker *w, int op, struct session *s, int fd, ev_io_cb cb, void *arg)
{
	uint64_t one = 1;

	pthread_mutex_lock(&w->mu);
	if (w->ncmds == w->capcmds) {
		size_t cap = w->capcmds ? w->capcmds * 2 : 64;
		struct worker_cmd *c = realloc(w->cmds, cap * sizeof(*c));

		if (!c) {
			pthread_mutex_unlock(&w->mu);
			return -ENOMEM;
		}
		w->cmds = c;
		w->capcmds = cap;
	}
	w->cmds[w->ncmds++] = (struct worker_cmd){op, fd, s, cb, arg};
	pthread_mutex_unlock(&w->mu);
	/* The counter only saturates after 2^64-2 posts; a failed write still leaves it > 0. */
	(void)!write(w->wake_fd, &one, sizeof(one));
	return 0;
}

int worker_attach(struct worker *w, struct session *s)
{
	return worker_post(w, WORKER_ATTACH, s, s->fd, direct_input, s);
}

int worker_watch(struct worker *w, int fd, ev_io_cb cb, void *arg)
{
	return worker_post(w, WORKER_WATCH, NULL, fd, cb, arg);
}

void worker_retire(struct worker *w, struct session *s, int fd)
{
	if (worker_post(w, WORKER_RETIRE, s, fd, NULL, NULL) < 0)
		log_warnx("worker %u: out of memory: session socket %d left open", w->id, fd);
}

static void worker_wake(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct worker *w = arg;
	struct worker_cmd *cmds;
	size_t n;
	uint64_t v;

	(void)events;
	(void)!read(fd, &v, sizeof(v));
	pthread_mutex_lock(&w->mu);
	cmds = w->cmds;
	n = w->ncmds;
	w->cmds = NULL;
	w->ncmds = w->capcmds = 0;
	pthread_mutex_unlock(&w->mu);
	for (size_t i = 0; i < n; i++) {
		struct worker_cmd *c = &cmds[i];

		if (c->op != WORKER_RETIRE) {
			if (ev_add_io(loop, c->fd, EV_READ, c->cb, c->arg) < 0)
				log_warnx("worker %u: cannot watch socket %d", w->id, c->fd);
			continue;
		}
		/* Pending events of this iteration for fd are dropped by ev_del_io. */
		ev_del_io(loop, c->fd);
		close(c->fd);
		free(c->s);
	}
	free(cmds);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	ev_run(w->loop);
	return NULL;
}

struct worker *worker_pick(struct relay *r)
{
	struct worker *best = NULL;

	for (unsigned i = 0; i < r->n_workers; i++)
		if (!best || r->workers[i].nsessions < best->nsessions)
			best = &r->workers[i];
	return best;
}

int workers_start(struct relay *r, unsigned n)
{
	sigset_t all, old;
	int e = 0;

	r->workers = calloc(n, sizeof(*r->workers));
	if (!r->workers)
		return -ENOMEM;
	sigfillset(&all);
	/* Signals go to the control thread's loop; workers inherit a full mask. */
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (unsigned i = 0; i < n && !e; i++) {
		struct worker *w = &r->workers[i];

		w->r = r;
		w->id = i;
		pthread_mutex_init(&w->mu, NULL);
		w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (w->wake_fd < 0 || ev_new(&w->loop) < 0 || !(w->io = direct_io_new())) {
			e = -ENOMEM;
			break;
		}
		ev_set_busy_poll(w->loop, r->cfg.busy_poll_us);
		if (ev_add_io(w->loop, w->wake_fd, EV_READ, worker_wake, w) < 0 ||
		    (e = -pthread_create(&w->thread, NULL, worker_main, w)) != 0) {
			e = e ? e : -ENOMEM;
			break;
		}
		/* Counted once running, so relay_lock() only locks when someone else can run. */
		r->n_workers = i + 1;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return e;
}
