/* netrelay.c: several wgrelayd processes with their own config files, for the network tests. */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "identity.h"
#include "key.h"
#include "netrelay.h"

void nrelay_dir(struct nrelay *x)
{
	strcpy(x->dir, "/tmp/wgr-net-XXXXXX");
	assert_non_null(mkdtemp(x->dir));
	snprintf(x->conf, sizeof(x->conf), "%s/wgrelayd.conf", x->dir);
	snprintf(x->log, sizeof(x->log), "%s/relayd.log", x->dir);
}

void nrelay_exec(struct nrelay *x)
{
	const char *bin_dir = getenv("WGR_BINARY_DIR");
	char bin[512];

	assert_non_null(bin_dir);
	snprintf(bin, sizeof(bin), "%s/relayd/wgrelayd", bin_dir);
	x->pid = fork();
	assert_true(x->pid >= 0);
	if (x->pid == 0) {
		int lfd = open(x->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

		if (!getenv("WGR_TEST_VERBOSE") && lfd >= 0)
			dup2(lfd, 2);
		execl(bin, bin, "-c", x->conf, (char *)NULL);
		_exit(127);
	}
}

bool nrelay_pinged(const struct nrelay *x)
{
	uint8_t ping[PROTO_PING_LEN], pong[PROTO_PONG_LEN];
	int fd = tclient_udp();
	bool got = false;

	frame_encode_ping(ping, 1);
	for (int i = 0; i < 10000 / NRELAY_POLL_MS && !got; i++) {
		tclient_sendto(fd, ping, sizeof(ping), &x->a);
		got = tclient_recvfrom(fd, pong, sizeof(pong), NULL, NRELAY_POLL_MS) ==
		      PROTO_PONG_LEN;
		if (!got)
			assert_int_equal(waitpid(x->pid, NULL, WNOHANG), 0);
	}
	close(fd);
	return got;
}

void nrelay_start(struct nrelay *x, uint16_t port, int slot, int nports, const char *network)
{
	char key[96], text[2048], idpath[96];
	uint8_t priv[32];
	struct identity id;
	bool created;
	/* Session ports apart from the other relays' and from other tests' running at once. */
	int lo = 20000 + (int)(getpid() % 150) * 100 + slot * nports;

	nrelay_dir(x);
	snprintf(key, sizeof(key), "%s/key", x->dir);
	assert_int_equal(key_load_or_create(priv, key, &created), 0);
	key_public_from_private(x->pub, priv);
	snprintf(x->addr, sizeof(x->addr), "127.0.0.1:%u", port);
	snprintf(x->maddr, sizeof(x->maddr), "127.0.0.1:%u", free_port());
	snprintf(text, sizeof(text),
	         "[Relay]\nListen = %s\nKeyFile = %s\nMetrics = %s\nAllowLoopback = yes\n"
	         "PortRange = %d-%d\nWorkers = 0\n"
	         "[Network]\nReconnectInterval = 1\n%s",
	         x->addr, key, x->maddr, lo, lo + nports - 1, network);
	write_file(x->conf, text);
	nrelay_exec(x);
	assert_int_equal(addr_parse(&x->a, x->addr, 0), 0);
	if (!nrelay_pinged(x))
		fail_msg("the relay at %s did not answer a PING", x->addr);
	/* Outside a relay network there is no identity. */
	memset(x->id, 0, sizeof(x->id));
	if (strstr(network, "Network = off"))
		return;
	/* The relay created its identity beside its key at the first start. */
	snprintf(idpath, sizeof(idpath), "%s/identity", x->dir);
	assert_int_equal(identity_load(&id, idpath, text, sizeof(text)), 0);
	memcpy(x->id, id.pk, 32);
	identity_wipe(&id);
}

int nrelay_halt(struct nrelay *x)
{
	int status = 0, clean = 1;

	if (x->pid > 0) {
		pid_t w = 0;

		kill(x->pid, SIGTERM);
		for (int i = 0; i < 250 && (w = waitpid(x->pid, &status, WNOHANG)) == 0; i++)
			usleep(20000);
		if (w == 0) {
			kill(x->pid, SIGKILL);
			waitpid(x->pid, NULL, 0);
		}
		clean = w == x->pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
		x->pid = 0;
	}
	return clean ? 0 : -1;
}

int nrelay_stop(struct nrelay *x)
{
	char cmd[128];
	int clean = nrelay_halt(x) == 0;

	if (x->dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", x->dir);
		if (system(cmd) != 0)
			clean = 0;
	}
	return clean ? 0 : -1;
}

long long nrelay_metric(const struct nrelay *x, const char *name)
{
	static char text[65536];

	if (http_get(x->maddr, "/metrics", text, sizeof(text)) <= 0)
		return -1;
	return metric(text, name);
}

long long nrelay_wait_metric(const struct nrelay *x, const char *name, long long want, int times)
{
	long long v = -1;

	for (int i = 0; i < times && (v = nrelay_metric(x, name)) < want; i++)
		usleep(NRELAY_POLL_MS * 1000);
	return v;
}

size_t nrelay_log(const struct nrelay *x, char *out, size_t cap)
{
	FILE *f = fopen(x->log, "re");
	size_t n;

	assert_non_null(f);
	n = fread(out, 1, cap - 1, f);
	fclose(f);
	out[n] = '\0';
	return n;
}

void nrelay_start_extra(struct nrelay *x, uint16_t port, int slot, int nports, const char *network,
                        const char *extra)
{
	char text[1536];
	int n = snprintf(text, sizeof(text), "%s\n%s", network, extra);

	assert_true(n > 0 && (size_t)n < sizeof(text));
	nrelay_start(x, port, slot, nports, text);
}
