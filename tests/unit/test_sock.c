/*
 * Unit tests: common/sock.c. The kernel's drop counter of a socket (sock_drops) starts at
 * zero, counts the datagrams a full receive buffer turned away, and only grows; reading it
 * takes nothing off the queue. Everything runs on loopback.
 */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "sock.h"

/* A receiver with a small buffer on 127.0.0.1 and a sender connected to it. */
static void pair(int *rx, int *tx)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int small = 4096;

	*rx = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	*tx = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(*rx >= 0 && *tx >= 0);
	assert_int_equal(setsockopt(*rx, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
	assert_int_equal(bind(*rx, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(*rx, (struct sockaddr *)&a, &len), 0);
	assert_int_equal(connect(*tx, (struct sockaddr *)&a, sizeof(a)), 0);
}

/* Send n datagrams of 1000 bytes: far more than the receiver's buffer holds. */
static void flood(int tx, int n)
{
	char junk[1000] = {0};

	for (int i = 0; i < n; i++)
		assert_int_equal(send(tx, junk, sizeof(junk), MSG_DONTWAIT), (ssize_t)sizeof(junk));
}

/* Datagrams waiting on rx, read and counted. */
static int drain(int rx)
{
	char buf[2048];
	int n = 0;

	while (recv(rx, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		n++;
	return n;
}

static void test_drops_counted(void **state)
{
	uint32_t first = 1, second = 0, again = 0;
	int rx, tx, kept;

	(void)state;
	pair(&rx, &tx);
	assert_int_equal(sock_drops(rx, &first), 0);
	assert_int_equal(first, 0);

	flood(tx, 200);
	assert_int_equal(sock_drops(rx, &first), 0);
	kept = drain(rx);
	print_message("200 sent: %d queued, %u dropped\n", kept, first);
	assert_true(first > 0);
	assert_true(kept > 0);
	/* Each datagram was either queued or dropped: loopback loses nothing else. */
	assert_int_equal((uint32_t)kept + first, 200);

	/* Reading the counter, or the queue, changes neither. */
	assert_int_equal(sock_drops(rx, &again), 0);
	assert_int_equal(again, first);

	flood(tx, 200);
	assert_int_equal(sock_drops(rx, &second), 0);
	kept = drain(rx);
	print_message("200 more: %d queued, %u dropped in all\n", kept, second);
	assert_true(second > first);
	assert_int_equal((uint32_t)kept + (second - first), 200);
	close(rx);
	close(tx);
}

static void test_drops_not_a_socket(void **state)
{
	uint32_t count = 7;
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(sock_drops(p[0], &count), -ENOTSOCK);
	assert_int_equal(sock_drops(-1, &count), -EBADF);
	assert_int_equal(count, 7);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_drops_counted),
	    cmocka_unit_test(test_drops_not_a_socket),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
