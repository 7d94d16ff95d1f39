/*
 * carrier.h: what carries each relay link of `wgrelay watch` (PROTOCOL.md §12): UDP, or one of
 * the relay's stream URLs (TCP, TLS, WebSocket), optionally through the [Relay] Proxy. The
 * decisions are fallback.c's; this file applies them: stream sockets in the ev loop with the
 * interest tconn_events() asks for (kept up to date in the loop's before-sleep hook, which it
 * takes), host names looked up in the background (cli_resolve), one info line per move.
 */
#ifndef WGR_CARRIER_H
#define WGR_CARRIER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cache_relay;
struct carrier_set;
struct ev_loop;
struct link;
struct portset;
struct turl_proxy;

/*
 * Carriers for up to `slots` relay links registering with loop (whose before-sleep hook they
 * take); ports: the sealed ports registered in the same loop (portset_release before a stream
 * socket is added); proxy: [Relay] Proxy, NULL or kind NONE for none. 0 or -errno.
 */
int carrier_set_new(struct carrier_set **out, struct ev_loop *loop, struct portset *ports,
                    const struct turl_proxy *proxy, size_t slots);
/* Detaches nothing: every link must have been detached. NULL ok. */
void carrier_set_free(struct carrier_set *cs);
/* Link l of relay r (its UDP socket in the loop already) starts on UDP in slot. */
void carrier_attach(struct carrier_set *cs, size_t slot, struct link *l,
                    const struct cache_relay *r, int64_t now_ms);
/* Relay r's URLs as read again (a reload): taken when they changed. */
void carrier_update(struct carrier_set *cs, size_t slot, const struct cache_relay *r);
/*
 * The link of slot leaves: its stream socket leaves the loop. stop: the stream is closed too
 * (the link stays, on UDP); else it stays for link_free or link_close to close.
 */
void carrier_detach(struct carrier_set *cs, size_t slot, bool stop, int64_t now_ms);
/* Every tick (after link_tick): each attached link's fallback step, and its move. */
void carrier_tick(struct carrier_set *cs, int64_t now_ms);
/*
 * The carrier of slot for status: "udp", or the URL, with " via " and the proxy when there is
 * one ("tls://relay.example:443 via socks5://127.0.0.1:9050"). out gets "" when detached.
 */
void carrier_describe(const struct carrier_set *cs, size_t slot, char *out, size_t cap);

#endif
