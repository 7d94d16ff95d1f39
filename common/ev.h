/*
 * ev.h: a thin epoll loop (redis ae style) with an fd-indexed handler table, timers in a
 * min-heap, signals delivered as flags, before-sleep and after-wake hooks. Single-threaded: one loop per
 * thread, no locking.
 */
#ifndef WGR_EV_H
#define WGR_EV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ev_loop;
struct ev_timer;

#define EV_READ  1u
#define EV_WRITE 2u

typedef void (*ev_io_cb)(struct ev_loop *loop, int fd, unsigned events, void *arg);
typedef void (*ev_timer_cb)(struct ev_loop *loop, struct ev_timer *t, void *arg);
typedef void (*ev_signal_cb)(struct ev_loop *loop, int signo, void *arg);
typedef void (*ev_hook_cb)(struct ev_loop *loop, void *arg);

/* Embedded in its owner; the loop never allocates for a timer. */
struct ev_timer {
	uint64_t when_ms;
	size_t heap_idx; /* SIZE_MAX when not scheduled */
	ev_timer_cb cb;
	void *arg;
};

int ev_new(struct ev_loop **out);
void ev_free(struct ev_loop *loop);

/*
 * Watch fd for EV_READ and/or EV_WRITE; one handler per fd. Returns 0 or -errno (-EEXIST when
 * fd already has a handler, -ENOENT from mod/del when it has none). Call ev_del_io before
 * close(fd); deleting any fd (or stopping any timer) from inside a callback is safe: its
 * pending events of the current iteration are dropped.
 */
int ev_add_io(struct ev_loop *loop, int fd, unsigned events, ev_io_cb cb, void *arg);
int ev_mod_io(struct ev_loop *loop, int fd, unsigned events);
int ev_del_io(struct ev_loop *loop, int fd);

void ev_timer_init(struct ev_timer *t, ev_timer_cb cb, void *arg);
/* (Re)schedule t to fire once, after_ms from now. */
void ev_timer_start(struct ev_loop *loop, struct ev_timer *t, uint64_t after_ms);
void ev_timer_stop(struct ev_loop *loop, struct ev_timer *t);
bool ev_timer_active(const struct ev_timer *t);

/*
 * Call cb from the loop (not from the handler) after signo arrives. The handler only sets a
 * flag and wakes the loop through a self-pipe.
 */
int ev_on_signal(struct ev_loop *loop, int signo, ev_signal_cb cb, void *arg);

/* Called each iteration just before the loop waits. */
void ev_set_before_sleep(struct ev_loop *loop, ev_hook_cb cb, void *arg);
/*
 * Called each iteration as soon as the wait returns, before any handler. With the before-sleep
 * hook, a loop can hold a lock everywhere except while it waits.
 */
void ev_set_after_wake(struct ev_loop *loop, ev_hook_cb cb, void *arg);

/*
 * Busy polling: for up to us microseconds after the last I/O event, poll without sleeping
 * before the loop blocks. A burst's next datagram then finds the thread awake instead of
 * waiting for it to be woken (tens of microseconds on a virtual machine), for the CPU time
 * of the spin. 0 (the default) turns it off.
 */
void ev_set_busy_poll(struct ev_loop *loop, unsigned us);

/* Monotonic milliseconds, cached at the start of each iteration. */
uint64_t ev_now_ms(const struct ev_loop *loop);
/* Monotonic milliseconds read now. */
uint64_t ev_clock_ms(void);
/*
 * Milliseconds from then to now, 0 when then is later. Each loop caches its own clock, so a
 * time another thread's loop stamped can be a little ahead of this one's now: without the
 * floor the difference would wrap to about 584 million years.
 */
static inline uint64_t ev_since(uint64_t now, uint64_t then)
{
	return now > then ? now - then : 0;
}

/* Run until ev_stop(); returns 0 or -errno from epoll. */
int ev_run(struct ev_loop *loop);
/* One iteration, waiting at most timeout_ms (-1: until an event or timer). */
int ev_run_once(struct ev_loop *loop, int timeout_ms);
void ev_stop(struct ev_loop *loop);

#endif
