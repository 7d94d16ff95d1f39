/* Unit tests: common/ev.c */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "ev.h"

struct rec {
	int order[16];
	int n;
	int reads;
	int signals;
	int hooks;
	struct ev_timer *stop_me;
};

static void timer_cb(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct rec *r = arg;

	(void)t;
	r->order[r->n] = r->n;
	r->n++;
	if (r->stop_me) {
		ev_timer_stop(loop, r->stop_me);
		r->stop_me = NULL;
	}
}

struct tagged {
	struct ev_timer t;
	int tag;
	struct rec *r;
};

static void tagged_cb(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct tagged *x = arg;

	(void)t;
	x->r->order[x->r->n++] = x->tag;
	if (x->r->n == 4)
		ev_stop(loop);
}

static void test_timers_fire_in_order(void **state)
{
	struct ev_loop *loop;
	struct rec r = {0};
	struct tagged t[5];
	static const uint64_t after[5] = {30, 10, 20, 0, 1000000};

	(void)state;
	assert_int_equal(ev_new(&loop), 0);
	for (int i = 0; i < 5; i++) {
		t[i].tag = i;
		t[i].r = &r;
		ev_timer_init(&t[i].t, tagged_cb, &t[i]);
		ev_timer_start(loop, &t[i].t, after[i]);
		assert_true(ev_timer_active(&t[i].t));
	}
	/* Restarting moves a timer; stopping removes it. */
	ev_timer_start(loop, &t[2].t, 5);
	ev_timer_stop(loop, &t[4].t);
	assert_false(ev_timer_active(&t[4].t));
	assert_int_equal(ev_run(loop), 0);
	assert_int_equal(r.n, 4);
	assert_int_equal(r.order[0], 3);
	assert_int_equal(r.order[1], 2);
	assert_int_equal(r.order[2], 1);
	assert_int_equal(r.order[3], 0);
	ev_free(loop);
}

static void test_stop_other_timer_in_callback(void **state)
{
	struct ev_loop *loop;
	struct rec r = {0};
	struct ev_timer a, b;

	(void)state;
	assert_int_equal(ev_new(&loop), 0);
	ev_timer_init(&a, timer_cb, &r);
	ev_timer_init(&b, timer_cb, &r);
	ev_timer_start(loop, &a, 0);
	ev_timer_start(loop, &b, 0);
	r.stop_me = &b;
	for (int i = 0; i < 5; i++)
		assert_int_equal(ev_run_once(loop, 0), 0);
	/* Whichever fired first stopped the other (or itself, already stopped). */
	assert_true(r.n == 1 || r.n == 2);
	assert_false(ev_timer_active(&a));
	assert_false(ev_timer_active(&b));
	ev_free(loop);
}

static void read_cb(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct rec *r = arg;
	char buf[16];

	assert_true(events & EV_READ);
	if (read(fd, buf, sizeof(buf)) > 0)
		r->reads++;
	/* Removing yourself from inside the callback is allowed. */
	assert_int_equal(ev_del_io(loop, fd), 0);
}

static void hook_cb(struct ev_loop *loop, void *arg)
{
	(void)loop;
	((struct rec *)arg)->hooks++;
}

static void test_io_and_hook(void **state)
{
	struct ev_loop *loop;
	struct rec r = {0};
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(ev_new(&loop), 0);
	ev_set_before_sleep(loop, hook_cb, &r);
	assert_int_equal(ev_add_io(loop, p[0], EV_READ, read_cb, &r), 0);
	assert_int_equal(ev_add_io(loop, p[0], EV_READ, read_cb, &r), -EEXIST);
	assert_int_equal(ev_mod_io(loop, 12345, EV_READ), -ENOENT);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(ev_run_once(loop, 1000), 0);
	assert_int_equal(r.reads, 1);
	assert_true(r.hooks >= 1);
	/* Removed: more data is not delivered. */
	assert_int_equal(write(p[1], "y", 1), 1);
	assert_int_equal(ev_run_once(loop, 0), 0);
	assert_int_equal(r.reads, 1);
	assert_int_equal(ev_del_io(loop, p[0]), -ENOENT);
	ev_free(loop);
	close(p[0]);
	close(p[1]);
}

/* The hooks bracket the wait: sleep, wake, then handlers (a lock held except while waiting). */
struct bracket {
	char seq[16];
	int n;
};

static void bracket_sleep(struct ev_loop *loop, void *arg)
{
	struct bracket *b = arg;

	(void)loop;
	if (b->n < 15)
		b->seq[b->n++] = 's';
}

static void bracket_wake(struct ev_loop *loop, void *arg)
{
	struct bracket *b = arg;

	(void)loop;
	if (b->n < 15)
		b->seq[b->n++] = 'w';
}

static void bracket_read(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct bracket *b = arg;
	char c;

	(void)loop;
	(void)events;
	assert_int_equal(read(fd, &c, 1), 1);
	if (b->n < 15)
		b->seq[b->n++] = 'r';
}

static void test_sleep_wake_hooks(void **state)
{
	struct ev_loop *loop;
	struct bracket b = {{0}, 0};
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(ev_new(&loop), 0);
	ev_set_before_sleep(loop, bracket_sleep, &b);
	ev_set_after_wake(loop, bracket_wake, &b);
	assert_int_equal(ev_add_io(loop, p[0], EV_READ, bracket_read, &b), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(ev_run_once(loop, 1000), 0);
	/* Nothing ready: the wait times out and the wake hook still runs. */
	assert_int_equal(ev_run_once(loop, 0), 0);
	assert_string_equal(b.seq, "swrsw");
	ev_free(loop);
	close(p[0]);
	close(p[1]);
}

/* A datagram that arrives later than the loop's last event, from another thread. */
static void *late_writer(void *arg)
{
	struct timespec ts = {0, 200000};

	nanosleep(&ts, NULL);
	if (write(*(int *)arg, "z", 1) != 1)
		abort();
	return NULL;
}

static void busy_timer_cb(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	(void)loop;
	(void)t;
	(*(int *)arg)++;
}

/*
 * Busy polling changes when the loop sleeps, not what it does: every event is delivered (in
 * the spin or after it), the hooks still bracket each wait, a wait with nothing to do ends,
 * and timers fire.
 */
static void test_busy_poll(void **state)
{
	struct ev_loop *loop;
	struct bracket b = {{0}, 0};
	struct ev_timer t;
	pthread_t th;
	int p[2], fired = 0;

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(ev_new(&loop), 0);
	ev_set_busy_poll(loop, 1000000); /* 1 s: every wait below starts inside the window */
	ev_set_before_sleep(loop, bracket_sleep, &b);
	ev_set_after_wake(loop, bracket_wake, &b);
	assert_int_equal(ev_add_io(loop, p[0], EV_READ, bracket_read, &b), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(ev_run_once(loop, 1000), 0);
	assert_int_equal(pthread_create(&th, NULL, late_writer, &p[1]), 0);
	for (int i = 0; i < 1000 && !strchr(b.seq + 3, 'r'); i++)
		assert_int_equal(ev_run_once(loop, 1000), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_string_equal(b.seq, "swrswr");
	/* Nothing to read: a bounded wait ends, spin or not. */
	assert_int_equal(ev_run_once(loop, 5), 0);
	assert_string_equal(b.seq, "swrswrsw");
	ev_timer_init(&t, busy_timer_cb, &fired);
	ev_timer_start(loop, &t, 3);
	for (int i = 0; i < 1000 && !fired; i++)
		assert_int_equal(ev_run_once(loop, -1), 0);
	assert_int_equal(fired, 1);
	ev_free(loop);
	close(p[0]);
	close(p[1]);
}

struct pair {
	int fds[2];
	int calls;
};

/* Whichever of the two ready fds runs first removes the other one. */
static void del_other_cb(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct pair *x = arg;

	(void)events;
	x->calls++;
	assert_int_equal(ev_del_io(loop, fd == x->fds[0] ? x->fds[1] : x->fds[0]), 0);
	assert_int_equal(ev_del_io(loop, fd), 0);
}

static void test_del_other_fd_in_batch(void **state)
{
	struct ev_loop *loop;
	struct pair x = {{-1, -1}, 0};
	int p[2], q[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(pipe(q), 0);
	/* A high fd number makes the handler table grow past its first size. */
	x.fds[0] = p[0];
	x.fds[1] = dup2(q[0], 700);
	assert_int_equal(x.fds[1], 700);
	assert_int_equal(ev_new(&loop), 0);
	assert_int_equal(ev_add_io(loop, x.fds[0], EV_READ, del_other_cb, &x), 0);
	assert_int_equal(ev_add_io(loop, x.fds[1], EV_READ, del_other_cb, &x), 0);
	assert_int_equal(write(p[1], "a", 1), 1);
	assert_int_equal(write(q[1], "b", 1), 1);
	/* Both are ready in the same epoll batch; only one callback may run. */
	assert_int_equal(ev_run_once(loop, 1000), 0);
	assert_int_equal(ev_run_once(loop, 0), 0);
	assert_int_equal(x.calls, 1);
	assert_int_equal(ev_mod_io(loop, 700, EV_READ), -ENOENT);
	ev_free(loop);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
	close(700);
}

static void sig_cb(struct ev_loop *loop, int signo, void *arg)
{
	assert_int_equal(signo, SIGUSR1);
	((struct rec *)arg)->signals++;
	ev_stop(loop);
}

static void test_signal_is_delivered_from_loop(void **state)
{
	struct ev_loop *loop;
	struct rec r = {0};

	(void)state;
	assert_int_equal(ev_new(&loop), 0);
	assert_int_equal(ev_on_signal(loop, SIGUSR1, sig_cb, &r), 0);
	assert_int_equal(ev_on_signal(loop, 0, sig_cb, &r), -EINVAL);
	raise(SIGUSR1);
	/* Not delivered until the loop runs. */
	assert_int_equal(r.signals, 0);
	/* Bounded wait: the self-pipe wakes the loop at once. */
	assert_int_equal(ev_run_once(loop, 2000), 0);
	assert_int_equal(r.signals, 1);
	ev_free(loop);
	signal(SIGUSR1, SIG_DFL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_timers_fire_in_order),
	    cmocka_unit_test(test_stop_other_timer_in_callback),
	    cmocka_unit_test(test_io_and_hook),
	    cmocka_unit_test(test_sleep_wake_hooks),
	    cmocka_unit_test(test_busy_poll),
	    cmocka_unit_test(test_del_other_fd_in_batch),
	    cmocka_unit_test(test_signal_is_delivered_from_loop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
