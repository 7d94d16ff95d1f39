/*
 * netrelay.h: the relay-network tests' wgrelayd processes, several at once: each with its own
 * directory, key, config file (a [Network] section of the test's choice) and metrics address,
 * started by PID on loopback and stopped with a clean exit required.
 */
#ifndef WGR_TEST_NETRELAY_H
#define WGR_TEST_NETRELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "harness.h"

/* Conditions on a relay are polled this often (ms). */
#define NRELAY_POLL_MS 100

struct nrelay {
	pid_t pid;
	char dir[64], conf[96], log[96], addr[32], maddr[32], dht[32];
	struct addr a;
	uint8_t pub[32], id[32];
};

/* A fresh directory for x; x->conf and x->log name its config file and its log there. */
void nrelay_dir(struct nrelay *x);
/* Run wgrelayd -c x->conf (its stderr appended to x->log unless WGR_TEST_VERBOSE); sets x->pid. */
void nrelay_exec(struct nrelay *x);
/* Whether x answers a PING at x->a within 10 s; fails the test if x exits meanwhile. */
bool nrelay_pinged(const struct nrelay *x);
/*
 * Start x listening on 127.0.0.1:port with a key of its own, session ports slot * nports
 * above this process's base, ReconnectInterval 1 and the lines network in [Network]; returns
 * once it answers a PING, with x->pub and x->id (the identity it created; zero when network
 * holds "Network = off") filled in.
 */
void nrelay_start(struct nrelay *x, uint16_t port, int slot, int nports, const char *network);
/*
 * nrelay_start with more configuration after the [Network] lines: extra holds whole sections
 * of its own ("[Relay]\nCircuits = on\n[Limits]\n..."; a section may appear twice, conf.h).
 */
void nrelay_start_extra(struct nrelay *x, uint16_t port, int slot, int nports, const char *network,
                        const char *extra);
/* SIGTERM (SIGKILL after 5 s); the directory stays (nrelay_exec starts it again). 0 after a
 * clean exit, else -1. */
int nrelay_halt(struct nrelay *x);
/* SIGTERM (SIGKILL after 5 s), then its directory removed: 0 after a clean exit, else -1. */
int nrelay_stop(struct nrelay *x);
/* A metric of x's, -1 when absent or the scrape failed. */
long long nrelay_metric(const struct nrelay *x, const char *name);
/* Poll x's metric until it reaches want, at most times times: its last value. */
long long nrelay_wait_metric(const struct nrelay *x, const char *name, long long want, int times);
/* What x has logged so far (NUL-terminated, at most cap - 1 bytes); its length. */
size_t nrelay_log(const struct nrelay *x, char *out, size_t cap);

#endif
