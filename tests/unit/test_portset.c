/*
 * test_portset.c: sealed ports in a real ev loop over real loopback sockets. Datagrams reach
 * the port registered on their socket (its drop counter moves: a positive control); a port
 * closed and a new one on the same fd number is the new one that gets them; closed ports
 * leave the loop; another socket can take a closed port's fd number.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "ev.h"
#include "portset.h"
#include "sealed.h"

static int sender = -1;

/* One datagram to sp from a socket that is not WireGuard's: sp counts it dropped. */
static void poke(struct ev_loop *loop, const struct sealed_port *sp)
{
	assert_int_equal(sendto(sender, "x", 1, 0, &sp->local.sa, sp->local.len), 1);
	for (int i = 0; i < 20 && !sp->drop_source; i++)
		assert_int_equal(ev_run_once(loop, 50), 0);
}

static void dummy(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	(void)loop;
	(void)fd;
	(void)events;
	(void)arg;
}

static void test_sync_follows_ports(void **state)
{
	(void)state;
	struct ev_loop *loop;
	struct portset *ps;
	struct sealed_port *p1, *p2, *p3;

	assert_int_equal(ev_new(&loop), 0);
	assert_int_equal(portset_new(&ps, loop), 0);
	sender = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(sender >= 0);
	assert_int_equal(sealed_port_new(&p1), 0);
	assert_int_equal(sealed_port_new(&p2), 0);

	struct sealed_port *both[] = {p1, p2};
	portset_sync(ps, both, 2);
	assert_ptr_equal(portset_port(ps, p1->fd), p1);
	assert_ptr_equal(portset_port(ps, p2->fd), p2);
	poke(loop, p1);
	assert_int_equal(p1->drop_source, 1);
	assert_int_equal(p2->drop_source, 0);
	portset_sync(ps, both, 2); /* again: nothing changes */
	poke(loop, p2);
	assert_int_equal(p2->drop_source, 1);

	/* p1 closes and p3 opens on its fd number (the lowest free one) before the next sync. */
	int fd1 = p1->fd;
	sealed_port_free(p1);
	assert_int_equal(sealed_port_new(&p3), 0);
	assert_int_equal(p3->fd, fd1);
	struct sealed_port *now[] = {p2, p3};
	portset_sync(ps, now, 2);
	assert_ptr_equal(portset_port(ps, fd1), p3);
	poke(loop, p3);
	assert_int_equal(p3->drop_source, 1);

	/* p2 closes: it leaves the loop. */
	int fd2 = p2->fd;
	sealed_port_free(p2);
	struct sealed_port *last[] = {p3};
	portset_sync(ps, last, 1);
	assert_null(portset_port(ps, fd2));
	assert_ptr_equal(portset_port(ps, fd1), p3);

	/* p3 closes and a link's socket takes its fd number before any sync. */
	sealed_port_free(p3);
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_int_equal(s, fd1);
	assert_int_equal(ev_add_io(loop, s, EV_READ, dummy, NULL), -EEXIST);
	portset_release(ps, s);
	assert_null(portset_port(ps, s));
	assert_int_equal(ev_add_io(loop, s, EV_READ, dummy, NULL), 0);
	portset_sync(ps, NULL, 0); /* s is no port of ours: left alone */
	assert_int_equal(ev_add_io(loop, s, EV_READ, dummy, NULL), -EEXIST);
	assert_int_equal(ev_del_io(loop, s), 0);
	close(s);

	portset_free(ps);
	ev_free(loop);
	close(sender);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sync_follows_ports),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
