/*
 * ev.c: epoll loop with an fd-indexed handler table, a min-heap of embedded timers, and
 * signals turned into flags plus a self-pipe byte (see ev.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "ev.h"

#define EV_MAX_EVENTS 64
#define EV_NSIG       65

struct ev_io {
	ev_io_cb cb;
	void *arg;
	unsigned events; /* 0 = slot unused */
};

struct ev_sig {
	ev_signal_cb cb;
	void *arg;
};

struct ev_loop {
	int epfd;
	int sigpipe[2];
	struct ev_io *io;
	size_t nio;
	struct ev_timer **heap;
	size_t nheap, capheap;
	struct ev_sig sig[EV_NSIG];
	ev_hook_cb before_sleep, after_wake;
	void *before_sleep_arg, *after_wake_arg;
	uint64_t now_ms;
	int stop;
	uint64_t busy_ns, last_io_ns; /* busy polling window, time of the last I/O event */
};

/* The handler may only touch these; one loop per process receives signals. */
static volatile sig_atomic_t ev_sig_flag[EV_NSIG];
static int ev_sig_wfd = -1;

static uint64_t ev_clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void ev_set_busy_poll(struct ev_loop *loop, unsigned us)
{
	loop->busy_ns = (uint64_t)us * 1000;
}

uint64_t ev_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t ev_now_ms(const struct ev_loop *loop)
{
	return loop->now_ms;
}

static void ev_signal_read(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	char drain[64];

	(void)events;
	(void)arg;
	while (read(fd, drain, sizeof(drain)) > 0)
		;
	for (int s = 1; s < EV_NSIG; s++) {
		if (!ev_sig_flag[s])
			continue;
		ev_sig_flag[s] = 0;
		if (loop->sig[s].cb)
			loop->sig[s].cb(loop, s, loop->sig[s].arg);
	}
}

int ev_new(struct ev_loop **out)
{
	struct ev_loop *loop = calloc(1, sizeof(*loop));
	int r;

	if (!loop)
		return -ENOMEM;
	loop->sigpipe[0] = loop->sigpipe[1] = -1;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		r = -errno;
		goto fail;
	}
	if (pipe2(loop->sigpipe, O_NONBLOCK | O_CLOEXEC) < 0) {
		r = -errno;
		goto fail;
	}
	loop->now_ms = ev_clock_ms();
	r = ev_add_io(loop, loop->sigpipe[0], EV_READ, ev_signal_read, NULL);
	if (r < 0)
		goto fail;
	*out = loop;
	return 0;
fail:
	ev_free(loop);
	return r;
}

void ev_free(struct ev_loop *loop)
{
	if (!loop)
		return;
	for (int s = 1; s < EV_NSIG; s++)
		if (loop->sig[s].cb)
			signal(s, SIG_DFL);
	if (ev_sig_wfd == loop->sigpipe[1])
		ev_sig_wfd = -1;
	if (loop->epfd >= 0)
		close(loop->epfd);
	if (loop->sigpipe[0] >= 0)
		close(loop->sigpipe[0]);
	if (loop->sigpipe[1] >= 0)
		close(loop->sigpipe[1]);
	free(loop->io);
	free(loop->heap);
	free(loop);
}

static uint32_t ev_epoll_mask(unsigned events)
{
	return (events & EV_READ ? EPOLLIN : 0) | (events & EV_WRITE ? EPOLLOUT : 0);
}

int ev_add_io(struct ev_loop *loop, int fd, unsigned events, ev_io_cb cb, void *arg)
{
	struct epoll_event ee = {.events = ev_epoll_mask(events), .data.fd = fd};

	if (fd < 0 || !cb || !events)
		return -EINVAL;
	if ((size_t)fd >= loop->nio) {
		size_t n = loop->nio ? loop->nio : 64;
		struct ev_io *io;

		while (n <= (size_t)fd)
			n *= 2;
		io = realloc(loop->io, n * sizeof(*io));
		if (!io)
			return -ENOMEM;
		memset(io + loop->nio, 0, (n - loop->nio) * sizeof(*io));
		loop->io = io;
		loop->nio = n;
	}
	if (loop->io[fd].events)
		return -EEXIST;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ee) < 0)
		return -errno;
	loop->io[fd] = (struct ev_io){cb, arg, events};
	return 0;
}

int ev_mod_io(struct ev_loop *loop, int fd, unsigned events)
{
	struct epoll_event ee = {.events = ev_epoll_mask(events), .data.fd = fd};

	if (fd < 0 || (size_t)fd >= loop->nio || !loop->io[fd].events || !events)
		return -ENOENT;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ee) < 0)
		return -errno;
	loop->io[fd].events = events;
	return 0;
}

int ev_del_io(struct ev_loop *loop, int fd)
{
	if (fd < 0 || (size_t)fd >= loop->nio || !loop->io[fd].events)
		return -ENOENT;
	loop->io[fd].events = 0;
	loop->io[fd].cb = NULL;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL) < 0)
		return -errno;
	return 0;
}

/* Min-heap on when_ms; each timer knows its index so stop and restart are O(log n). */
static void ev_heap_swap(struct ev_loop *loop, size_t a, size_t b)
{
	struct ev_timer *t = loop->heap[a];

	loop->heap[a] = loop->heap[b];
	loop->heap[b] = t;
	loop->heap[a]->heap_idx = a;
	loop->heap[b]->heap_idx = b;
}

static void ev_heap_up(struct ev_loop *loop, size_t i)
{
	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (loop->heap[parent]->when_ms <= loop->heap[i]->when_ms)
			break;
		ev_heap_swap(loop, i, parent);
		i = parent;
	}
}

static void ev_heap_down(struct ev_loop *loop, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < loop->nheap && loop->heap[l]->when_ms < loop->heap[m]->when_ms)
			m = l;
		if (r < loop->nheap && loop->heap[r]->when_ms < loop->heap[m]->when_ms)
			m = r;
		if (m == i)
			return;
		ev_heap_swap(loop, i, m);
		i = m;
	}
}

void ev_timer_init(struct ev_timer *t, ev_timer_cb cb, void *arg)
{
	t->when_ms = 0;
	t->heap_idx = SIZE_MAX;
	t->cb = cb;
	t->arg = arg;
}

bool ev_timer_active(const struct ev_timer *t)
{
	return t->heap_idx != SIZE_MAX;
}

void ev_timer_stop(struct ev_loop *loop, struct ev_timer *t)
{
	size_t i = t->heap_idx;

	if (i == SIZE_MAX || i >= loop->nheap || loop->heap[i] != t)
		return;
	loop->nheap--;
	if (i != loop->nheap) {
		loop->heap[i] = loop->heap[loop->nheap];
		loop->heap[i]->heap_idx = i;
		ev_heap_down(loop, i);
		ev_heap_up(loop, i);
	}
	t->heap_idx = SIZE_MAX;
}

void ev_timer_start(struct ev_loop *loop, struct ev_timer *t, uint64_t after_ms)
{
	ev_timer_stop(loop, t);
	if (loop->nheap == loop->capheap) {
		size_t n = loop->capheap ? loop->capheap * 2 : 16;
		struct ev_timer **h = realloc(loop->heap, n * sizeof(*h));

		/* Out of memory: the timer stays stopped rather than corrupting the heap. */
		if (!h)
			return;
		loop->heap = h;
		loop->capheap = n;
	}
	t->when_ms = ev_clock_ms() + after_ms;
	t->heap_idx = loop->nheap;
	loop->heap[loop->nheap++] = t;
	ev_heap_up(loop, t->heap_idx);
}

static void ev_signal_handler(int signo)
{
	int saved = errno;
	char c = 0;

	if (signo > 0 && signo < EV_NSIG)
		ev_sig_flag[signo] = 1;
	if (ev_sig_wfd >= 0 && write(ev_sig_wfd, &c, 1) < 0) {
		/* The pipe is full: a wake-up is already pending. */
	}
	errno = saved;
}

int ev_on_signal(struct ev_loop *loop, int signo, ev_signal_cb cb, void *arg)
{
	struct sigaction sa;

	if (signo <= 0 || signo >= EV_NSIG || !cb)
		return -EINVAL;
	loop->sig[signo].cb = cb;
	loop->sig[signo].arg = arg;
	ev_sig_wfd = loop->sigpipe[1];
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = ev_signal_handler;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	if (sigaction(signo, &sa, NULL) < 0)
		return -errno;
	return 0;
}

void ev_set_before_sleep(struct ev_loop *loop, ev_hook_cb cb, void *arg)
{
	loop->before_sleep = cb;
	loop->before_sleep_arg = arg;
}

void ev_set_after_wake(struct ev_loop *loop, ev_hook_cb cb, void *arg)
{
	loop->after_wake = cb;
	loop->after_wake_arg = arg;
}

static void ev_run_timers(struct ev_loop *loop)
{
	/* Bounded so a timer that re-arms itself with 0 ms cannot starve I/O. */
	for (size_t n = loop->nheap; n > 0 && loop->nheap; n--) {
		struct ev_timer *t = loop->heap[0];

		if (t->when_ms > loop->now_ms)
			break;
		ev_timer_stop(loop, t);
		t->cb(loop, t, t->arg);
	}
}

int ev_run_once(struct ev_loop *loop, int timeout_ms)
{
	struct epoll_event ev[EV_MAX_EVENTS];
	int n, wait = timeout_ms;

	loop->now_ms = ev_clock_ms();
	ev_run_timers(loop);
	if (loop->before_sleep)
		loop->before_sleep(loop, loop->before_sleep_arg);
	if (loop->nheap) {
		uint64_t now = ev_clock_ms(), when = loop->heap[0]->when_ms;
		int until = when > now ? (int)(when - now > 86400000 ? 86400000 : when - now) : 0;

		if (wait < 0 || until < wait)
			wait = until;
	}
	if (loop->stop)
		wait = 0;
	n = 0;
	if (loop->busy_ns && wait != 0) {
		/* Spin while the last event is recent, as long as no timer falls due meanwhile. */
		uint64_t t = ev_clock_ns(), t0 = t;

		while (n == 0 && t - loop->last_io_ns < loop->busy_ns &&
		       (wait < 0 || t - t0 < (uint64_t)wait * 1000000)) {
			n = epoll_wait(loop->epfd, ev, EV_MAX_EVENTS, 0);
			t = ev_clock_ns();
		}
		/* What is left of the wait, rounded up so a timer never fires early. */
		if (wait > 0)
			wait -= (int)((t - t0) / 1000000) < wait ? (int)((t - t0) / 1000000) : wait;
	}
	if (n == 0)
		n = epoll_wait(loop->epfd, ev, EV_MAX_EVENTS, wait);
	if (n > 0 && loop->busy_ns)
		loop->last_io_ns = ev_clock_ns();
	if (loop->after_wake)
		loop->after_wake(loop, loop->after_wake_arg);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	loop->now_ms = ev_clock_ms();
	for (int i = 0; i < n; i++) {
		int fd = ev[i].data.fd;
		unsigned events = 0;
		struct ev_io *io;

		/* A handler earlier in this batch may have removed this fd. */
		if (fd < 0 || (size_t)fd >= loop->nio || !loop->io[fd].events)
			continue;
		io = &loop->io[fd];
		if (ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
			events |= EV_READ;
		if (ev[i].events & EPOLLOUT)
			events |= EV_WRITE;
		events &= io->events | (ev[i].events & (EPOLLERR | EPOLLHUP) ? EV_READ : 0);
		if (events)
			io->cb(loop, fd, events, io->arg);
	}
	ev_run_timers(loop);
	return 0;
}

int ev_run(struct ev_loop *loop)
{
	int r = 0;

	loop->stop = 0;
	while (!loop->stop) {
		r = ev_run_once(loop, -1);
		if (r < 0)
			break;
	}
	return r;
}

void ev_stop(struct ev_loop *loop)
{
	loop->stop = 1;
}
