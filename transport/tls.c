/*
 * tls.c: TLS 1.3 over OpenSSL memory BIOs. The certificate is camouflage (PROTOCOL.md §12.4):
 * clients verify nothing, and a relay with no certificate configured makes a self-signed one.
 */
#include "tls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

struct tls_ctx {
	SSL_CTX *ssl;
	bool server;
};

struct tls {
	SSL *ssl;
	BIO *rbio, *wbio; /* owned by ssl */
	char err[128];
};

/* The reason of OpenSSL's newest queued error, or fallback; clears the queue. */
static void tls_reason(char *out, size_t cap, const char *fallback)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	snprintf(out, cap, "%s", r ? r : fallback);
	ERR_clear_error();
}

static SSL_CTX *tls_ctx_base(const SSL_METHOD *m)
{
	SSL_CTX *s = SSL_CTX_new(m);

	if (!s)
		return NULL;
	if (!SSL_CTX_set_min_proto_version(s, TLS1_3_VERSION) ||
	    !SSL_CTX_set_max_proto_version(s, TLS1_3_VERSION)) {
		SSL_CTX_free(s);
		return NULL;
	}
	/* No resumption: every connection is a fresh handshake, nothing cached per client. */
	SSL_CTX_set_session_cache_mode(s, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(s, SSL_OP_NO_TICKET);
	return s;
}

/* Answer ALPN "http/1.1" when offered, as a web server in front of a WebSocket would. */
static int tls_alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char want[] = "\x08http/1.1";
	unsigned char *sel;

	(void)ssl;
	(void)arg;
	if (SSL_select_next_proto(&sel, outlen, want, sizeof(want) - 1, in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

/* A self-signed ECDSA P-256 certificate, CN "wgrelay", valid from a year ago for ten years. */
static int tls_self_signed(SSL_CTX *s)
{
	EVP_PKEY *pk = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *nm;
	uint64_t serial;
	int ok = 0;

	if (!pk || !x)
		goto out;
	if (RAND_bytes((unsigned char *)&serial, sizeof(serial)) != 1)
		goto out;
	serial >>= 1; /* positive */
	ok = X509_set_version(x, X509_VERSION_3) &&
	     ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial) &&
	     X509_time_adj_ex(X509_getm_notBefore(x), -365, 0, NULL) &&
	     X509_time_adj_ex(X509_getm_notAfter(x), 3650, 0, NULL) && X509_set_pubkey(x, pk);
	if (!ok)
		goto out;
	nm = X509_get_subject_name(x);
	ok = X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)"wgrelay",
	                                -1, -1, 0) &&
	     X509_set_issuer_name(x, nm) && X509_sign(x, pk, EVP_sha256()) &&
	     SSL_CTX_use_certificate(s, x) == 1 && SSL_CTX_use_PrivateKey(s, pk) == 1;
out:
	X509_free(x);
	EVP_PKEY_free(pk);
	return ok ? 0 : -ENOMEM;
}

int tls_ctx_server(struct tls_ctx **out, const char *cert, const char *key, char *err,
                   size_t errlen)
{
	struct tls_ctx *c = NULL;
	SSL_CTX *s = NULL;
	char why[96];

	*out = NULL;
	if (errlen)
		err[0] = '\0';
	if (!cert != !key) {
		snprintf(err, errlen, "TlsCertificate and TlsKey go together");
		return -EINVAL;
	}
	ERR_clear_error();
	s = tls_ctx_base(TLS_server_method());
	c = calloc(1, sizeof(*c));
	if (!s || !c) {
		snprintf(err, errlen, "out of memory");
		goto fail_nomem;
	}
	if (!cert) {
		if (tls_self_signed(s) < 0) {
			tls_reason(why, sizeof(why), "key generation failed");
			snprintf(err, errlen, "self-signed certificate: %s", why);
			goto fail_nomem;
		}
	} else if (SSL_CTX_use_certificate_chain_file(s, cert) != 1) {
		tls_reason(why, sizeof(why), "unreadable");
		snprintf(err, errlen, "certificate %s: %s", cert, why);
		goto fail_inval;
	} else if (SSL_CTX_use_PrivateKey_file(s, key, SSL_FILETYPE_PEM) != 1) {
		tls_reason(why, sizeof(why), "unreadable");
		snprintf(err, errlen, "key %s: %s", key, why);
		goto fail_inval;
	} else if (SSL_CTX_check_private_key(s) != 1) {
		tls_reason(why, sizeof(why), "does not match");
		snprintf(err, errlen, "key %s does not match certificate %s", key, cert);
		goto fail_inval;
	}
	SSL_CTX_set_num_tickets(s, 0);
	SSL_CTX_set_alpn_select_cb(s, tls_alpn_cb, NULL);
	c->ssl = s;
	c->server = true;
	*out = c;
	return 0;
fail_inval:
	SSL_CTX_free(s);
	free(c);
	return -EINVAL;
fail_nomem:
	SSL_CTX_free(s);
	free(c);
	return -ENOMEM;
}

int tls_ctx_client(struct tls_ctx **out)
{
	struct tls_ctx *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (!c)
		return -ENOMEM;
	c->ssl = tls_ctx_base(TLS_client_method());
	if (!c->ssl) {
		free(c);
		return -ENOMEM;
	}
	/* §12.4: the Noise handshake authenticates the relay; the certificate proves nothing. */
	SSL_CTX_set_verify(c->ssl, SSL_VERIFY_NONE, NULL);
	*out = c;
	return 0;
}

void tls_ctx_free(struct tls_ctx *c)
{
	if (!c)
		return;
	SSL_CTX_free(c->ssl);
	free(c);
}

int tls_new(struct tls **out, struct tls_ctx *ctx, const char *sni, const char *alpn)
{
	struct tls *t = calloc(1, sizeof(*t));
	unsigned char protos[256];
	char name[256];
	size_t alen;

	*out = NULL;
	if (!t)
		return -ENOMEM;
	t->ssl = SSL_new(ctx->ssl);
	t->rbio = BIO_new(BIO_s_mem());
	t->wbio = BIO_new(BIO_s_mem());
	if (!t->ssl || !t->rbio || !t->wbio)
		goto fail;
	/* An empty read BIO means "wait for more", not end of stream. */
	BIO_set_mem_eof_return(t->rbio, -1);
	SSL_set_bio(t->ssl, t->rbio, t->wbio);
	if (ctx->server) {
		SSL_set_accept_state(t->ssl);
	} else {
		SSL_set_connect_state(t->ssl);
		/* OpenSSL's macro casts the name to void *: hand it a copy it may hold. */
		if (sni && snprintf(name, sizeof(name), "%s", sni) >= (int)sizeof(name))
			goto fail_owned;
		if (sni && SSL_set_tlsext_host_name(t->ssl, name) != 1)
			goto fail_owned;
		alen = alpn ? strlen(alpn) : 0;
		if (alen > 0 && alen < sizeof(protos)) {
			protos[0] = (unsigned char)alen;
			memcpy(protos + 1, alpn, alen);
			if (SSL_set_alpn_protos(t->ssl, protos, (unsigned)alen + 1) != 0)
				goto fail_owned;
		}
	}
	*out = t;
	return 0;
fail:
	BIO_free(t->rbio);
	BIO_free(t->wbio);
	SSL_free(t->ssl);
	free(t);
	return -ENOMEM;
fail_owned:
	SSL_free(t->ssl); /* frees the BIOs with it */
	free(t);
	return -ENOMEM;
}

void tls_free(struct tls *t)
{
	if (!t)
		return;
	SSL_free(t->ssl);
	free(t);
}

int tls_feed_cipher(struct tls *t, const uint8_t *p, size_t n)
{
	size_t done = 0, w;

	while (done < n) {
		if (BIO_write_ex(t->rbio, p + done, n - done, &w) != 1)
			return -ENOMEM;
		done += w;
	}
	return 0;
}

size_t tls_pending_cipher(const struct tls *t)
{
	return BIO_ctrl_pending(t->wbio);
}

size_t tls_take_cipher(struct tls *t, uint8_t *out, size_t cap)
{
	size_t n = 0;

	if (cap == 0 || BIO_read_ex(t->wbio, out, cap, &n) != 1)
		return 0;
	return n;
}

/* Classify a failed SSL call: 0 to wait for more input, else the error (reason recorded). */
static int tls_fail(struct tls *t, int ret)
{
	int e = SSL_get_error(t->ssl, ret);

	switch (e) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return 0;
	case SSL_ERROR_ZERO_RETURN:
		snprintf(t->err, sizeof(t->err), "close_notify");
		return -ECONNRESET;
	default:
		tls_reason(t->err, sizeof(t->err), "protocol error");
		return -EPROTO;
	}
}

int tls_handshake(struct tls *t)
{
	int r;

	ERR_clear_error();
	r = SSL_do_handshake(t->ssl);
	if (r == 1)
		return 1;
	r = tls_fail(t, r);
	return r == -ECONNRESET ? -EPROTO : r;
}

int tls_read(struct tls *t, uint8_t *out, size_t cap)
{
	size_t n = 0;

	ERR_clear_error();
	if (SSL_read_ex(t->ssl, out, cap, &n) == 1)
		return (int)n;
	return tls_fail(t, 0);
}

int tls_write(struct tls *t, const uint8_t *p, size_t n)
{
	size_t w = 0;

	if (!SSL_is_init_finished(t->ssl))
		return -ENOTCONN;
	ERR_clear_error();
	/* Memory BIOs take everything: without partial writes the whole buffer goes at once. */
	if (SSL_write_ex(t->ssl, p, n, &w) != 1 || w != n) {
		tls_reason(t->err, sizeof(t->err), "write failed");
		return -EPROTO;
	}
	return 0;
}

void tls_shutdown(struct tls *t)
{
	ERR_clear_error();
	if (SSL_is_init_finished(t->ssl))
		SSL_shutdown(t->ssl);
	ERR_clear_error();
}

const char *tls_error(const struct tls *t)
{
	return t->err;
}
