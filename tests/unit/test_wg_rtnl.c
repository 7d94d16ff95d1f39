/*
 * Unit tests: wg-integration/wg_rtnl.c, wg_dev.c and wg_uapiio.c without root: rtnetlink link
 * messages (kind, UAPI socket, truncation), listing, and the UAPI backend end to end (reads,
 * updates, re-adding a peer) against a child process serving canned replies on a socket in a
 * temporary WG_UAPI_DIR.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
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

#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include "wg.h"
#include "wg_rtnl.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/wgi-unit-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	return setenv("WG_UAPI_DIR", dir, 1);
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int bind_sock(const char *name, bool listening)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s.sock", dir, name);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	if (listening)
		assert_int_equal(listen(fd, 4), 0);
	return fd;
}

static struct nlmsghdr *link_msg(uint8_t *buf, uint16_t type, const char *name, const char *kind)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = type;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_index = 42;
	ifi->ifi_flags = IFF_UP;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	mnl_attr_put_u32(nlh, IFLA_MTU, 1420);
	if (kind) {
		struct nlattr *li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);

		mnl_attr_put_strz(nlh, IFLA_INFO_KIND, kind);
		mnl_attr_nest_end(nlh, li);
	}
	return nlh;
}

static void test_parse_link(void **state)
{
	uint8_t buf[512];
	struct wg_rtnl_link l;
	struct nlmsghdr *nlh;
	int fd;

	(void)state;
	nlh = link_msg(buf, RTM_NEWLINK, "wg0", "wireguard");
	assert_int_equal(wg_rtnl_parse_link(nlh, &l), 0);
	assert_string_equal(l.name, "wg0");
	assert_int_equal(l.ifindex, 42);
	assert_true(l.up);
	assert_int_equal(l.mtu, 1420);
	assert_true(l.is_wireguard);

	/* A tun device is WireGuard only while its UAPI socket exists. */
	nlh = link_msg(buf, RTM_NEWLINK, "wgtun0", "tun");
	assert_int_equal(wg_rtnl_parse_link(nlh, &l), 0);
	assert_false(l.is_wireguard);
	fd = bind_sock("wgtun0", false);
	assert_int_equal(wg_rtnl_parse_link(nlh, &l), 0);
	assert_true(l.is_wireguard);
	close(fd);

	nlh = link_msg(buf, RTM_DELLINK, "eth0", "veth");
	assert_int_equal(wg_rtnl_parse_link(nlh, &l), 0);
	assert_false(l.is_wireguard);

	/* Truncated: the message claims less than its last attribute needs. */
	nlh = link_msg(buf, RTM_NEWLINK, "wg0", "wireguard");
	nlh->nlmsg_len -= 6;
	assert_int_equal(wg_rtnl_parse_link(nlh, &l), -EBADMSG);
	nlh = link_msg(buf, RTM_GETLINK, "wg0", NULL);
	assert_int_equal(wg_rtnl_parse_link(nlh, &l), -EINVAL);
}

static void test_list_devices(void **state)
{
	char **names, path[128];
	size_t n;
	bool a = false, b = false;
	FILE *f;
	int fd;

	(void)state;
	fd = bind_sock("wgfake0", true);
	snprintf(path, sizeof(path), "%s/notasocket.sock", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(wg_list_devices(&names, &n), 0);
	for (size_t i = 0; i < n; i++) {
		a |= !strcmp(names[i], "wgfake0");
		b |= !strcmp(names[i], "notasocket");
	}
	assert_null(names[n]);
	assert_true(a);
	assert_false(b);
	wg_free_names(names);
	close(fd);
}

static const char reply[] =
    "private_key=e84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027a\n"
    "listen_port=51820\n"
    "public_key=b85996fecc9c7f1fc6d2572a76eda11d59bcd20be8e543b15ce4bd85a8e75a33\n"
    "endpoint=192.0.2.1:51820\n"
    "allowed_ip=10.0.0.2/32\n"
    "errno=0\n\n";

/* Serve n connections: read a request up to its blank line, append it to log, answer. */
static pid_t serve(int lfd, int n, const char *const answers[], const char *log)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid)
		return pid;
	alarm(10); /* never outlive a broken test */
	for (int i = 0; i < n; i++) {
		char req[1024];
		size_t len = 0;
		int c = accept(lfd, NULL, NULL);
		FILE *f;

		if (c < 0)
			_exit(1);
		while (len < sizeof(req) - 1) {
			ssize_t r = read(c, req + len, sizeof(req) - 1 - len);

			if (r <= 0)
				break;
			len += (size_t)r;
			req[len] = '\0';
			if (strstr(req, "\n\n"))
				break;
		}
		f = fopen(log, "a");
		if (f) {
			fwrite(req, 1, len, f);
			fclose(f);
		}
		/* Answer in two writes so the reader must reassemble. */
		size_t al = strlen(answers[i]);
		if (write(c, answers[i], al / 2) < 0 ||
		    write(c, answers[i] + al / 2, al - al / 2) < 0)
			_exit(1);
		close(c);
	}
	_exit(0);
}

static void test_uapi_backend(void **state)
{
	const char *const answers[] = {reply, reply, "errno=0\n\n", reply};
	char log[128], got[2048];
	struct wg_device *d;
	struct addr ep;
	uint8_t pub[32], unknown[32];
	size_t len;
	FILE *f;
	int status, lfd, fd;
	pid_t pid;

	(void)state;
	snprintf(log, sizeof(log), "%s/requests", dir);
	for (int i = 0; i < 32; i++)
		sscanf(&"b85996fecc9c7f1fc6d2572a76eda11d59bcd20be8e543b15ce4bd85a8e75a33"[2 * i],
		       "%2hhx", &pub[i]);
	memset(unknown, 7, sizeof(unknown));
	lfd = bind_sock("wgfake1", true);
	pid = serve(lfd, 4, answers, log);

	assert_int_equal(wg_get_device("wgfake1", &d), 0);
	assert_int_equal(d->backend, WG_BACKEND_UAPI);
	assert_string_equal(d->name, "wgfake1");
	assert_int_equal(d->listen_port, 51820);
	assert_int_equal(d->n_peers, 1);
	assert_non_null(wg_device_find_peer(d, pub));
	wg_free_device(d);

	assert_int_equal(addr_parse(&ep, "198.51.100.7:3478", 0), 0);
	assert_int_equal(wg_set_peer_endpoint("wgfake1", pub, &ep), 0);
	/* Unknown peer: found missing by the read, nothing is sent. */
	assert_int_equal(wg_set_peer_keepalive("wgfake1", unknown, 25), -ENOENT);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	close(lfd);

	f = fopen(log, "r");
	assert_non_null(f);
	len = fread(got, 1, sizeof(got) - 1, f);
	got[len] = '\0';
	fclose(f);
	assert_string_equal(
	    got,
	    "get=1\n\nget=1\n\n"
	    "set=1\npublic_key=b85996fecc9c7f1fc6d2572a76eda11d59bcd20be8e543b15ce4bd85a8e75a33\n"
	    "update_only=true\nendpoint=198.51.100.7:3478\n\nget=1\n\n");

	/* A socket nobody listens on any more, or none at all: the device is gone. */
	fd = bind_sock("wgstale0", false);
	assert_int_equal(wg_get_device("wgstale0", &d), -ENODEV);
	assert_null(d);
	close(fd);
	assert_int_equal(wg_get_device("nosuchwg9", &d), -ENODEV);
	assert_int_equal(wg_get_device("../etc", &d), -ENODEV);
	assert_int_equal(wg_set_mtu("nosuchwg9", 1400), -ENODEV);
	{
		unsigned mtu = 7;

		assert_int_equal(wg_get_mtu("nosuchwg9", &mtu), -ENODEV);
		assert_int_equal(mtu, 7);
	}
	wg_free_device(NULL);
}

#define PUBHEX "b85996fecc9c7f1fc6d2572a76eda11d59bcd20be8e543b15ce4bd85a8e75a33"
#define READD_ADD                                                                                  \
	"public_key=" PUBHEX "\nendpoint=192.0.2.1:51820\npersistent_keepalive_interval=25\n"      \
	"replace_allowed_ips=true\nallowed_ip=10.0.0.2/32\nallowed_ip=2001:db8::/64\n\n"

/*
 * wg_peer_readd over UAPI: the peer is read first (a gone one is -ENOENT, nothing removed),
 * then one transaction removes and re-adds it; when that fails the add alone is sent once more
 * and its outcome returned. Refusals come before any request.
 */
static void test_uapi_readd(void **state)
{
	const char *const answers[] = {
	    reply, "errno=0\n\n",                        /* readd */
	    reply, "errno=22\n\n", "errno=0\n\n",        /* readd fails, the add succeeds */
	    reply, "errno=22\n\n", "errno=5\n\n", reply, /* both fail; then an unknown peer */
	};
	struct wg_allowedip aip[2] = {{.family = AF_INET, .cidr = 32},
	                              {.family = AF_INET6, .cidr = 64}};
	char log[128], got[4096];
	struct wg_peer p = {.flags = WG_PEER_HAS_PUBLIC_KEY | WG_PEER_HAS_KEEPALIVE,
	                    .persistent_keepalive_interval = 25,
	                    .allowedips = aip,
	                    .n_allowedips = 2};
	size_t len;
	FILE *f;
	int status, lfd;
	pid_t pid;

	(void)state;
	snprintf(log, sizeof(log), "%s/readd", dir);
	for (int i = 0; i < 32; i++)
		sscanf(&PUBHEX[2 * i], "%2hhx", &p.public_key[i]);
	assert_int_equal(addr_parse(&p.endpoint, "192.0.2.1:51820", 0), 0);
	inet_pton(AF_INET, "10.0.0.2", &aip[0].ip4);
	inet_pton(AF_INET6, "2001:db8::", &aip[1].ip6);
	lfd = bind_sock("wgfake2", true);
	pid = serve(lfd, 9, answers, log);

	assert_int_equal(wg_peer_readd("wgfake2", &p), 0);
	assert_int_equal(wg_peer_readd("wgfake2", &p), 0);
	assert_int_equal(wg_peer_readd("wgfake2", &p), -5);
	p.public_key[0] ^= 1;
	assert_int_equal(wg_peer_readd("wgfake2", &p), -ENOENT);
	p.public_key[0] ^= 1;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	close(lfd);

	f = fopen(log, "r");
	assert_non_null(f);
	len = fread(got, 1, sizeof(got) - 1, f);
	got[len] = '\0';
	fclose(f);
	assert_string_equal(got, "get=1\n\n"
	                         "set=1\npublic_key=" PUBHEX "\nremove=true\n" READD_ADD "get=1\n\n"
	                         "set=1\npublic_key=" PUBHEX "\nremove=true\n" READD_ADD
	                         "set=1\n" READD_ADD "get=1\n\n"
	                         "set=1\npublic_key=" PUBHEX "\nremove=true\n" READD_ADD
	                         "set=1\n" READD_ADD "get=1\n\n");

	/* Refused before anything is asked of any device, even a missing one. */
	p.n_allowedips = WG_READD_MAX_ALLOWEDIPS + 1;
	assert_int_equal(wg_peer_readd("wgfake2", &p), -E2BIG);
	assert_int_equal(wg_peer_readd("nosuchwg9", &p), -E2BIG);
	p.n_allowedips = 2;
	aip[0].cidr = 33;
	assert_int_equal(wg_peer_readd("wgfake2", &p), -EINVAL);
	aip[0].cidr = 32;
	assert_int_equal(wg_peer_readd("wgfake2", NULL), -EINVAL);
	assert_int_equal(wg_peer_readd("nosuchwg9", &p), -ENODEV);
	assert_int_equal(wg_peer_readd("../etc", &p), -ENODEV);
	p.flags = 0;
	assert_int_equal(wg_peer_readd("wgfake2", &p), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_link),
	    cmocka_unit_test(test_list_devices),
	    cmocka_unit_test(test_uapi_backend),
	    cmocka_unit_test(test_uapi_readd),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
