/*
 * relay_fixture.c: the hand-built relay shared by the session-level unit tests (one copy of
 * the setup, so a new table in struct relay is added here once).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "relay_fixture.h"

struct relay *relay_fixture_new(void)
{
	struct relay *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	config_defaults(&r->cfg);
	assert_int_equal(ev_new(&r->loop), 0);
	assert_int_equal(table_init(&r->links, 8), 0);
	assert_int_equal(table_init(&r->sessions, 8), 0);
	assert_int_equal(table_init(&r->handles, 8), 0);
	assert_int_equal(table_init(&r->ports, 8), 0);
	assert_int_equal(table_init(&r->clients, 8), 0);
	assert_int_equal(table_init(&r->quotas, 8), 0);
	return r;
}

void relay_fixture_close_sessions(struct relay *r)
{
	struct session *s;
	size_t pos = 0;

	while ((s = table_next(&r->sessions, &pos)))
		session_close(r, s, "test end");
}

size_t relay_fixture_free(struct relay *r)
{
	size_t pos = 0, left;

	relay_fixture_close_sessions(r);
	table_free(&r->links);
	table_free(&r->sessions);
	table_free(&r->handles);
	table_free(&r->ports);
	table_free(&r->clients);
	/* Quotas still charged belong to links the test never closed: they go with the relay. */
	left = r->quotas.n;
	for (struct quota *q; (q = table_next(&r->quotas, &pos));)
		free(q);
	table_free(&r->quotas);
	free(r->io);
	ev_free(r->loop);
	free(r);
	return left;
}

void relay_fixture_link_init(struct relay *r, struct link *l, uint8_t keybyte, const char *ip)
{
	memset(l, 0, sizeof(*l));
	l->fd = -1;
	memset(l->client_pub, keybyte, 32);
	assert_int_equal(addr_parse(&l->addr, ip, 0), 0);
	assert_non_null(l->qkey = quota_key(r, l->client_pub));
	assert_non_null(l->qsrc = quota_source(r, &l->addr));
	l->qkey->links++;
	l->qsrc->links++;
}

void relay_fixture_link_gone(struct relay *r, struct link *l)
{
	session_link_gone(r, l);
	l->qkey->links--;
	l->qsrc->links--;
	quota_release(r, l->qkey);
	quota_release(r, l->qsrc);
	l->qkey = l->qsrc = NULL;
}
