/* harness.c: wgrelayd started by PID for integration tests, and small helpers around it. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "harness.h"
#include "key.h"

struct trelay R;

uint16_t free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	getsockname(fd, (struct sockaddr *)&sa, &sl);
	close(fd);
	return ntohs(sa.sin_port);
}

void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/*
 * Run R.argv; waits until the relay says READY=1 on its NOTIFY_SOCKET (sent just before its loop
 * starts: every socket bound, every signal handler in place). A PING would not do: a relay
 * without --allow-loopback never answers one here. A loaded machine can hold a new process
 * back for seconds, so the wait is up to 60 s, and a relay that never got ready fails the test
 * here rather than in whatever came next.
 */
void relay_spawn(void)
{
	static unsigned seq;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char name[64], msg[64];
	socklen_t sl;
	int fd, n = 0;

	/* An abstract name: nothing on disk, gone with the socket. */
	snprintf(name, sizeof(name), "@wgr-test-%d-%u", (int)getpid(), seq++);
	memcpy(sa.sun_path + 1, name + 1, strlen(name) - 1);
	sl = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(name));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sl), 0);
	R.pid = fork();
	assert_true(R.pid >= 0);
	if (R.pid == 0) {
		char log[128];
		int lfd;

		/* The relay's log, for tests that read it (relay_log). */
		snprintf(log, sizeof(log), "%s/relayd.log", R.dir);
		lfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (!getenv("WGR_TEST_VERBOSE") && lfd >= 0)
			dup2(lfd, 2);
		setenv("NOTIFY_SOCKET", name, 1);
		execv(R.bin, R.argv);
		_exit(127);
	}
	assert_int_equal(addr_parse(&R.a, R.addr, 0), 0);
	for (int i = 0; i < 600; i++) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};

		if (poll(&pfd, 1, 100) == 1 && (n = (int)recv(fd, msg, sizeof(msg) - 1, 0)) > 0) {
			msg[n] = '\0';
			if (strstr(msg, "READY=1"))
				break;
		}
		n = 0;
		assert_int_equal(waitpid(R.pid, NULL, WNOHANG), 0);
	}
	close(fd);
	if (!n)
		fprintf(stderr, "wgrelayd (pid %d) was not ready in 60 s\n", (int)R.pid);
	assert_true(n > 0);
}

/* Start wgrelayd with extra flags (NULL-terminated); waits until it answers a PING. */
void relay_start(const char *first, ...)
{
	const char *bin_dir = getenv("WGR_BINARY_DIR");
	int argc = 0, port_base;
	const char *a;
	va_list ap;

	assert_non_null(bin_dir);
	snprintf(R.bin, sizeof(R.bin), "%s/relayd/wgrelayd", bin_dir);
	strcpy(R.dir, "/tmp/wgr-relayd-XXXXXX");
	assert_non_null(mkdtemp(R.dir));
	snprintf(R.key, sizeof(R.key), "%s/key", R.dir);
	/* An empty config of our own, so a system-wide wgrelayd.conf never leaks in. */
	snprintf(R.empty, sizeof(R.empty), "%s/empty.conf", R.dir);
	write_file(R.empty, "");
	snprintf(R.addr, sizeof(R.addr), "127.0.0.1:%u", free_port());
	port_base = 20000 + (int)(getpid() % 200) * 100;
	snprintf(R.range, sizeof(R.range), "%d-%d", port_base, port_base + 99);
	R.argv[argc++] = R.bin;
	R.argv[argc++] = "--key-file";
	R.argv[argc++] = R.key;
	R.argv[argc++] = "--listen";
	R.argv[argc++] = R.addr;
	R.argv[argc++] = "--port-range";
	R.argv[argc++] = R.range;
	R.argv[argc++] = "-c";
	R.argv[argc++] = R.empty;
	R.argv[argc++] = "--metrics"; /* a test that wants metrics passes its own address later */
	R.argv[argc++] = "off";
	va_start(ap, first);
	for (a = first; a && argc < 30; a = va_arg(ap, const char *)) {
		int k = argc % 16;

		snprintf(R.extra[k], sizeof(R.extra[k]), "%s", a);
		R.argv[argc++] = R.extra[k];
	}
	va_end(ap);
	R.argv[argc] = NULL;
	relay_spawn();
	{
		uint8_t priv[32];

		assert_int_equal(key_load_file(priv, R.key), 0);
		key_public_from_private(R.pub, priv);
	}
}

/* SIGTERM (the relay saves its direct sessions), then the same command line again. */
void relay_restart(void)
{
	int status = 0;

	kill(R.pid, SIGTERM);
	assert_int_equal(waitpid(R.pid, &status, 0), R.pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	relay_spawn();
}

int relay_stop(void **state)
{
	char cmd[128];
	int status = 0;

	(void)state;
	int clean = 1;

	if (R.pid > 0) {
		pid_t w = 0;

		kill(R.pid, SIGTERM);
		/* Up to 30 s: a loaded machine can make the save and the exit slow. */
		for (int i = 0; i < 1500 && (w = waitpid(R.pid, &status, WNOHANG)) == 0; i++)
			usleep(20000);
		if (w == 0) {
			kill(R.pid, SIGKILL);
			waitpid(R.pid, NULL, 0);
		}
		/* A clean exit after SIGTERM, also under the sanitizers (which exit non-zero). */
		clean = w == R.pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
		if (!clean)
			fprintf(stderr, "wgrelayd did not exit cleanly (status 0x%x)\n", status);
		R.pid = 0;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", R.dir);
	return system(cmd) == 0 && clean ? 0 : -1;
}

/* GET path from the metrics address into out (NUL-terminated); returns the length or -1. */
int http_get(const char *maddr, const char *path, char *out, size_t cap)
{
	struct addr a;
	char req[128];
	size_t n = 0;
	ssize_t k;
	int fd, len;

	assert_int_equal(addr_parse(&a, maddr, 0), 0);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, &a.sa, a.len) < 0) {
		close(fd);
		return -1;
	}
	len = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\n\r\n", path);
	assert_int_equal(write(fd, req, (size_t)len), len);
	while (n + 1 < cap && (k = read(fd, out + n, cap - 1 - n)) > 0)
		n += (size_t)k;
	out[n] = '\0';
	close(fd);
	return (int)n;
}

/* The value of an exact metric line "name{labels} VALUE", or -1 when absent. */
long long metric(const char *text, const char *name)
{
	const char *p = text;
	size_t l = strlen(name);

	while ((p = strstr(p, name))) {
		if ((p == text || p[-1] == '\n') && p[l] == ' ')
			return atoll(p + l + 1);
		p += l;
	}
	return -1;
}

void client(struct tclient *c)
{
	assert_int_equal(tclient_open(c, R.addr, R.pub), 0);
	assert_int_equal(tclient_handshake(c, T_MS), 0);
}

void direct_confirm(int wa, int wb, const struct addr *port)
{
	uint8_t pkt[64], buf[256];

	tclient_sendto(wb, pkt, tclient_wg_data(pkt, 32, 0x1112, 0), port);
	assert_int_equal(tclient_recvfrom(wa, buf, sizeof(buf), NULL, T_MS), 32);
}

size_t relay_log(char *out, size_t cap)
{
	char path[128];
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/relayd.log", R.dir);
	f = fopen(path, "re");
	if (f) {
		n = fread(out, 1, cap - 1, f);
		fclose(f);
	}
	out[n] = '\0';
	return n;
}

int count_lines(const char *text, const char *needle)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}
