/*
 * urls.h: a relay's stream URLs (PROTOCOL.md §12.5) as the cache keeps them: canonical text,
 * blank-separated, from its bootstrap or config line and from its descriptor's TCP, TLS and
 * WSS endpoints.
 */
#ifndef WGR_URLS_H
#define WGR_URLS_H

#include <stddef.h>

#include "cache.h"
#include "turl.h"

#define URLS_MAX 4 /* stream URLs a relay is tried over (fallback.h) */

struct descriptor;

/* urls[0..n) as canonical text, blank-separated, into out: its length, or -ENOSPC. */
int urls_format(const struct turl *urls, size_t n, char *out, size_t cap);
/* The URLs of text s (blank-separated; words that do not parse are skipped): up to cap. */
size_t urls_parse(const char *s, struct turl *out, size_t cap);
/*
 * A descriptor's stream endpoints as URLs: TCP and TLS as tcp:// and tls:// of their address,
 * WSS as wss://host:port/path, ONION as tcp:// of the .onion name (reached through a proxy).
 * Up to URLS_MAX, in the descriptor's order, into out (cap bytes; "" none): their count.
 */
size_t urls_from_desc(const struct descriptor *d, char *out, size_t cap);
/*
 * The URLs to try for relay r, in order: its line's, then its descriptor's not already there;
 * up to cap (at most URLS_MAX).
 */
size_t urls_of_relay(const struct cache_relay *r, struct turl *out, size_t cap);

#endif
