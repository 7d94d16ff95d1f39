/*
 * tls.h: TLS 1.3 over memory buffers (OpenSSL 3, memory BIOs): the layer never touches a
 * socket. Ciphertext from the peer goes in with tls_feed_cipher, ciphertext to send comes out
 * of tls_take_cipher; plaintext goes through tls_read / tls_write. PROTOCOL.md §12.4: the
 * certificate is camouflage, never trusted; the Noise handshake authenticates the relay.
 */
#ifndef WGR_TLS_H
#define WGR_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tls_ctx;
struct tls;

/* Server context: cert and key PEM files, or both NULL for a self-signed P-256 one. */
int tls_ctx_server(struct tls_ctx **out, const char *cert, const char *key, char *err,
                   size_t errlen);
/* Client context: TLS 1.3 only, no verification (§12.4). 0 or -ENOMEM. */
int tls_ctx_client(struct tls_ctx **out);
/* NULL ok. Connections made from it keep their own reference. */
void tls_ctx_free(struct tls_ctx *c);

/*
 * A connection over memory buffers. Client side (ctx from tls_ctx_client): sni is sent when
 * not NULL (a name, never an IP literal), alpn ("http/1.1") offered when not NULL. Server side:
 * both NULL. 0 or -ENOMEM.
 */
int tls_new(struct tls **out, struct tls_ctx *ctx, const char *sni, const char *alpn);
void tls_free(struct tls *t);
/* Ciphertext received from the peer; all n bytes are taken (-ENOMEM only on allocation). */
int tls_feed_cipher(struct tls *t, const uint8_t *p, size_t n);
/* How many ciphertext bytes wait to be sent. */
size_t tls_pending_cipher(const struct tls *t);
/* Move up to cap bytes of ciphertext to send into out; their count. */
size_t tls_take_cipher(struct tls *t, uint8_t *out, size_t cap);
/*
 * Advance the handshake: 1 done, 0 needs more ciphertext from the peer (send what
 * tls_pending_cipher shows first), -EPROTO failed (tls_error says why).
 */
int tls_handshake(struct tls *t);
/*
 * Plaintext received: count (>0), 0 nothing more for now, -ECONNRESET on a close_notify,
 * -EPROTO on a TLS error.
 */
int tls_read(struct tls *t, uint8_t *out, size_t cap);
/* Encrypt n bytes of plaintext (all of them, after the handshake): 0, -EPROTO, -ENOTCONN. */
int tls_write(struct tls *t, const uint8_t *p, size_t n);
/* Queue a close_notify alert. */
void tls_shutdown(struct tls *t);
/* The last failure in a few words ("" when none). */
const char *tls_error(const struct tls *t);

#endif
