/*
 * netdns.c: the names in stream endpoints of relay links (tls://relay.example.org:443,
 * wss://NAME/path), resolved off the relay's loop with getaddrinfo_a: a dial of a name not yet
 * known starts a lookup and is tried again a second later, when the answer is there. A few
 * lookups at once, answers kept a minute. Through [Network] Proxy nothing is resolved here: the
 * proxy gets the name.
 */
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "network.h"

#define NETDNS_TTL_MS 60000
/* At shutdown a lookup still running is waited for this long, then left to finish alone. */
#define NETDNS_DRAIN_MS 2000

enum { NETDNS_FREE, NETDNS_BUSY, NETDNS_OK, NETDNS_FAILED };

struct netdns {
	struct gaicb cb; /* the resolver thread writes here until gai_error says done */
	struct addrinfo hints;
	char host[TURL_MAX_HOST + 1];
	uint8_t state;
	struct addr a;    /* NETDNS_OK: the first address, port 0 */
	uint64_t done_ms; /* when it was answered */
};

/* A finished lookup's answer into d (state OK or FAILED). */
static void netdns_finish(struct netdns *d, int e, uint64_t now_ms)
{
	d->state = NETDNS_FAILED;
	d->done_ms = now_ms;
	if (e == 0 && d->cb.ar_result) {
		addr_from_sockaddr(&d->a, d->cb.ar_result->ai_addr, d->cb.ar_result->ai_addrlen);
		addr_unmap(&d->a);
		d->state = NETDNS_OK;
	}
	if (d->cb.ar_result)
		freeaddrinfo(d->cb.ar_result);
	d->cb.ar_result = NULL;
}

/* A slot for a new lookup: a free one, else the oldest answer; NULL when all are running. */
static struct netdns *netdns_slot(struct network *n)
{
	struct netdns *old = NULL;

	for (int i = 0; i < NET_DNS_SLOTS; i++) {
		struct netdns *d = n->dns[i];

		if (!d)
			return (n->dns[i] = calloc(1, sizeof(*d)));
		if (d->state == NETDNS_FREE)
			return d;
		if (d->state != NETDNS_BUSY && (!old || d->done_ms < old->done_ms))
			old = d;
	}
	return old;
}

int netdns_lookup(struct network *n, const char *host, struct addr *out)
{
	uint64_t now = ev_now_ms(n->r->loop);
	struct gaicb *list[1];
	struct netdns *d = NULL;
	int e;

	for (int i = 0; i < NET_DNS_SLOTS && !d; i++)
		if (n->dns[i] && n->dns[i]->state != NETDNS_FREE && !strcmp(n->dns[i]->host, host))
			d = n->dns[i];
	if (d && d->state == NETDNS_BUSY) {
		if ((e = gai_error(&d->cb)) == EAI_INPROGRESS)
			return -EINPROGRESS;
		netdns_finish(d, e, now);
	}
	if (d && now - d->done_ms < NETDNS_TTL_MS) {
		if (d->state != NETDNS_OK)
			return -EHOSTUNREACH;
		*out = d->a;
		return 0;
	}
	if (!d && !(d = netdns_slot(n)))
		return -EAGAIN;
	memset(d, 0, sizeof(*d));
	if (strlen(host) >= sizeof(d->host))
		return -EHOSTUNREACH;
	strcpy(d->host, host);
	d->hints.ai_socktype = SOCK_STREAM;
	d->hints.ai_flags = AI_ADDRCONFIG;
	d->cb.ar_name = d->host;
	d->cb.ar_request = &d->hints;
	list[0] = &d->cb;
	if (getaddrinfo_a(GAI_NOWAIT, list, 1, NULL) != 0) {
		d->state = NETDNS_FREE;
		return -EAGAIN;
	}
	d->state = NETDNS_BUSY;
	log_debug("network: resolving %s for a relay link", host);
	return -EINPROGRESS;
}

void netdns_free(struct network *n)
{
	struct timespec wait = {.tv_sec = 0, .tv_nsec = 100 * 1000000};

	for (int i = 0; i < NET_DNS_SLOTS; i++) {
		struct netdns *d = n->dns[i];
		const struct gaicb *list[1];

		if (!d)
			continue;
		if (d->state == NETDNS_BUSY && gai_cancel(&d->cb) == EAI_NOTCANCELED) {
			list[0] = &d->cb;
			for (int k = 0;
			     k < NETDNS_DRAIN_MS / 100 && gai_error(&d->cb) == EAI_INPROGRESS; k++)
				gai_suspend(list, 1, &wait);
			if (gai_error(&d->cb) == EAI_INPROGRESS) {
				n->dns[i] = NULL; /* still written to: left, not freed */
				continue;
			}
		}
		if (d->state == NETDNS_BUSY && d->cb.ar_result)
			freeaddrinfo(d->cb.ar_result);
		free(d);
		n->dns[i] = NULL;
	}
}
