/*
 * relay_fixture.h: a struct relay built by hand for the unit tests of the relay's session
 * logic (test_session, test_fastpath): its tables and loop, no sockets of its own, and links
 * charged to their quotas as control.c charges them. Test code: failures end the test.
 */
#ifndef WGR_RELAY_FIXTURE_H
#define WGR_RELAY_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "relay.h"

/* A relay with config_defaults, its loop and its empty tables. Free with relay_fixture_free. */
struct relay *relay_fixture_new(void);
/* Close every session still open ("test end"); the relay stays usable. */
void relay_fixture_close_sessions(struct relay *r);
/*
 * Close every session, then free r and all it holds. Returns how many quota entries were left
 * charged (links never gone), freed with it: 0 when every charge was given back.
 */
size_t relay_fixture_free(struct relay *r);
/* l as control.c makes a link (no socket, fd -1): client key keybyte x 32, from ip, charged. */
void relay_fixture_link_init(struct relay *r, struct link *l, uint8_t keybyte, const char *ip);
/* The link goes, as control_link_free does without the link table: its charges given back. */
void relay_fixture_link_gone(struct relay *r, struct link *l);

#endif
