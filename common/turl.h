/*
 * turl.h: transport URLs (PROTOCOL.md §12.5): how to reach a relay (udp, tcp, tls, ws, wss)
 * and which proxy to go through (socks5, http). Parsing and canonical text only; no DNS.
 */
#ifndef WGR_TURL_H
#define WGR_TURL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

enum turl_kind { TURL_UDP = 1, TURL_TCP, TURL_TLS, TURL_WS, TURL_WSS };
enum turl_proxy_kind { TURL_PROXY_NONE = 0, TURL_PROXY_SOCKS5, TURL_PROXY_HTTP };
#define TURL_MAX_HOST 255
#define TURL_MAX_PATH 64  /* as DESC_MAX_STR: a descriptor can carry it */
#define TURL_STRLEN   400 /* the longest canonical URL plus '\0' */
struct turl {
	uint8_t kind;
	char host[TURL_MAX_HOST + 1];
	uint16_t port;
	char path[TURL_MAX_PATH];
};
struct turl_proxy {
	uint8_t kind;
	char host[TURL_MAX_HOST + 1];
	uint16_t port;
	char user[256], pass[256];
};
/* Parse a transport URL (§12.5). 0, -EINVAL (syntax, unknown scheme), -ERANGE (port). */
int turl_parse(struct turl *u, const char *s);
/* Canonical text (default ws/wss port and path omitted); length or -ENOSPC. */
int turl_format(const struct turl *u, char *out, size_t cap);
/* Parse a proxy URL (§12.5): 0, -EINVAL (syntax, unknown scheme), -ERANGE (port). */
int turl_proxy_parse(struct turl_proxy *p, const char *s);
/* Canonical text without the password (it never reaches logs); length or -ENOSPC. */
int turl_proxy_format(const struct turl_proxy *p, char *out, size_t cap);
const char *turl_kind_name(uint8_t kind); /* "udp", "tcp", "tls", "ws", "wss"; "?" */
/* True, with *a set (port included), when the host is an IP literal. */
bool turl_host_addr(const struct turl *u, struct addr *a);

#endif
