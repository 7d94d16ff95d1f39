/*
 * socks5.h: the client side of a SOCKS5 CONNECT (RFC 1928) with optional username/password
 * authentication (RFC 1929), sans-I/O (PROTOCOL.md §12.6). Names go unresolved (ATYP 3) so a
 * proxy such as Tor resolves them, .onion included.
 */
#ifndef WGR_SOCKS5_H
#define WGR_SOCKS5_H

#include <stddef.h>
#include <stdint.h>

enum { SOCKS5_MORE = 0, SOCKS5_DONE = 1 };

struct socks5 {
	uint8_t state;
	uint8_t rep; /* the proxy's reply code once it refused (RFC 1928 §6) */
	char host[256];
	uint16_t port;
	char user[256], pass[256];
};

/*
 * Begin a CONNECT to host:port (an IP literal goes as ATYP 1/4, a name as ATYP 3, unresolved,
 * so .onion names reach Tor). Writes the method greeting to out: its length, -EINVAL, -ENOSPC.
 */
int socks5_start(struct socks5 *s, const char *host, uint16_t port, const char *user,
                 const char *pass, uint8_t *out, size_t cap);
/*
 * The proxy's bytes p..n: *used consumed, out and *outlen what to send next (may be nothing).
 * SOCKS5_MORE, SOCKS5_DONE (tunnel open; bytes after *used are the relay's), or -EPROTO
 * (malformed), -EACCES (no acceptable method, auth refused), -ECONNREFUSED (reply code in rep).
 */
int socks5_input(struct socks5 *s, const uint8_t *p, size_t n, size_t *used, uint8_t *out,
                 size_t cap, size_t *outlen);
/* RFC 1928 §6 words for a reply code; "unknown reply" for others. */
const char *socks5_rep_name(uint8_t rep);

#endif
