/*
 * http.h: the few HTTP/1.1 heads a stream transport speaks (PROTOCOL.md §12.3, §12.6): the
 * WebSocket upgrade (RFC 6455 §4) on both sides and the client side of an HTTP CONNECT proxy
 * (RFC 9110 §9.3.6). Sans-I/O: callers hand in the bytes received so far and send what is
 * written to out. Heads are bounded (HTTP_MAX_HEAD bytes, HTTP_MAX_HEADERS lines) so a peer
 * cannot make us buffer or scan without limit.
 */
#ifndef WGR_HTTP_H
#define WGR_HTTP_H

#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_HEAD      4096 /* PROTOCOL.md §12.3 */
#define HTTP_MAX_HEADERS   64   /* PROTOCOL.md §12.3 */
#define HTTP_WS_KEY_LEN    24   /* base64 of 16 bytes */
#define HTTP_WS_ACCEPT_LEN 28   /* base64 of a SHA-1 digest */

struct http_ws_req {
	char path[256];
	char host[256];
	char key[HTTP_WS_KEY_LEN + 1];
};

/*
 * Server: an upgrade request head. >0: the head's length (later bytes are WebSocket frames),
 * 0: incomplete (and n < HTTP_MAX_HEAD), <0 (-EINVAL, -EMSGSIZE, -E2BIG, -ENOTSUP): refused,
 * *status = the HTTP status to answer (400, 405, 426, 431; 414 for a target over 255 bytes,
 * 505 for an HTTP major version other than 1). The path is not checked here.
 */
int http_ws_parse_request(const uint8_t *p, size_t n, struct http_ws_req *req, int *status);
/* The 101 answering a request with this key; its length or -ENOSPC. */
int http_ws_accept_response(char *out, size_t cap, const char *key);
/* A refusal with the standard reason, "Connection: close", no body; length or -ENOSPC. */
int http_error_response(char *out, size_t cap, int status);
/* Client: the upgrade request, with a fresh random key copied to key_out; length or -errno. */
int http_ws_request(char *out, size_t cap, const char *host, const char *path,
                    char key_out[HTTP_WS_KEY_LEN + 1]);
/* >0 head length for a 101 with the right accept, 0 incomplete, <0 refused (*status seen, 0 none). */
int http_ws_parse_response(const uint8_t *p, size_t n, const char *key, int *status);
/* Sec-WebSocket-Accept for key: base64(SHA-1(key "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")). */
void http_ws_accept_key(const char *key, char out[HTTP_WS_ACCEPT_LEN + 1]);
/* CONNECT host:port (IPv6 bracketed), Proxy-Authorization Basic when user is non-empty. */
int http_connect_request(char *out, size_t cap, const char *host, uint16_t port, const char *user,
                         const char *pass);
/* >0 head length for a 2xx, 0 incomplete, <0 refused (*status). */
int http_connect_parse_response(const uint8_t *p, size_t n, int *status);

#endif
