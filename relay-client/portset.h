/*
 * portset.h: sealed mode's local ports (sealed.h) in an ev loop. steer.c opens and closes the
 * ports inside the helper's tick; after it, portset_sync makes the loop's registrations match
 * the ports that exist. A closed port's fd number may already be a new port's, so a
 * registration counts only when both fd and port match.
 */
#ifndef WGR_PORTSET_H
#define WGR_PORTSET_H

#include <stddef.h>

struct ev_loop;
struct portset;
struct sealed_port;

/* An empty set registering with loop; it owns the scratch buffer of sealed_port_readable. */
int portset_new(struct portset **out, struct ev_loop *loop);
/* Remove every registration (the ports themselves are steer.c's). NULL ok. */
void portset_free(struct portset *ps);
/*
 * Register ports[0..n) not registered yet, and remove every registration whose port is not
 * among them. No handler may run between closing a port and this call.
 */
void portset_sync(struct portset *ps, struct sealed_port *const *ports, size_t n);
/*
 * Before another socket is registered on fd: a registration left there by a port closed
 * since the last sync goes.
 */
void portset_release(struct portset *ps, int fd);
/* The port registered on fd, NULL none. */
struct sealed_port *portset_port(const struct portset *ps, int fd);

#endif
