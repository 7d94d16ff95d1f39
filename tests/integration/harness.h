/*
 * harness.h: the integration tests' wgrelayd: the real binary started by PID on loopback with
 * the flags a test needs, stopped (and its directory removed) in the test's teardown.
 */
#ifndef WGR_TEST_HARNESS_H
#define WGR_TEST_HARNESS_H

#include <stdint.h>
#include <sys/types.h>

#include "tclient.h"

#define T_MS 2000

struct trelay {
	pid_t pid;
	char dir[64], addr[32];
	uint8_t pub[32];
	struct addr a;
	/* the command line, kept for relay_restart */
	char bin[512], key[128], range[32], empty[128], extra[16][256];
	char *argv[32];
};

extern struct trelay R;

uint16_t free_port(void);
void write_file(const char *path, const char *text);
/* Run R.argv; waits until it answers a PING. */
void relay_spawn(void);
/* Start wgrelayd with extra flags (NULL-terminated); waits until it answers a PING. */
void relay_start(const char *first, ...);
/* SIGTERM (the relay saves its direct sessions), then the same command line again. */
void relay_restart(void);
/* cmocka teardown: SIGTERM, a clean exit required, directory removed. */
int relay_stop(void **state);
/* GET path from the metrics address into out (NUL-terminated); returns the length or -1. */
int http_get(const char *maddr, const char *path, char *out, size_t cap);
/* The value of an exact metric line "name{labels} VALUE", or -1 when absent. */
long long metric(const char *text, const char *name);
/* What the relay has logged so far (NUL-terminated, at most cap - 1 bytes); its length. */
size_t relay_log(char *out, size_t cap);
/* How many times needle occurs in text. */
int count_lines(const char *text, const char *needle);
/* A tclient with a fresh key, handshaken with R. */
void client(struct tclient *c);

/*
 * The initiator (wb, whose initiation carried sender 0x2222) sends its first transport
 * message, a keepalive naming the responder's index 0x1112, as WireGuard does after a
 * response: this proves its address to the relay (PROTOCOL.md §5.5), and it reaches wa.
 */
void direct_confirm(int wa, int wb, const struct addr *port);

#endif
