/*
 * Unit tests: transport/tls.c. Two memory-BIO endpoints, client and server, handed each
 * other's ciphertext: the TLS 1.3 handshake completes and bytes cross both ways; a server
 * refuses a client that cannot speak TLS 1.3; certificate files load or fail with a message.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "testutil.h"
#include "tls.h"

/* Move every pending ciphertext byte from a to b; how many. */
static size_t shuttle(struct tls *a, struct tls *b)
{
	uint8_t buf[4096];
	size_t n, total = 0;

	while ((n = tls_take_cipher(a, buf, sizeof(buf))) > 0) {
		assert_int_equal(tls_feed_cipher(b, buf, n), 0);
		total += n;
	}
	return total;
}

/* Run both handshakes to the end (bounded): 1 both done, else the failing side's code. */
static int handshake(struct tls *cl, struct tls *sv)
{
	int rc = 0, rs = 0;

	for (int i = 0; i < 10 && (rc != 1 || rs != 1); i++) {
		rc = tls_handshake(cl);
		if (rc < 0)
			return rc;
		shuttle(cl, sv);
		rs = tls_handshake(sv);
		if (rs < 0)
			return rs;
		shuttle(sv, cl);
	}
	return rc == 1 && rs == 1 ? 1 : 0;
}

static void pair(struct tls_ctx **cctx, struct tls_ctx **sctx, struct tls **cl, struct tls **sv)
{
	char err[256];

	assert_int_equal(tls_ctx_server(sctx, NULL, NULL, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(tls_ctx_client(cctx), 0);
	assert_int_equal(tls_new(cl, *cctx, "relay.example.org", "http/1.1"), 0);
	assert_int_equal(tls_new(sv, *sctx, NULL, NULL), 0);
}

static void test_handshake_and_bytes(void **state)
{
	struct tls_ctx *cctx, *sctx;
	struct tls *cl, *sv;
	uint8_t buf[32768], big[20000];
	size_t got = 0;
	int r;

	(void)state;
	pair(&cctx, &sctx, &cl, &sv);
	/* Before the handshake nothing can be written. */
	assert_int_equal(tls_write(cl, (const uint8_t *)"x", 1), -ENOTCONN);
	assert_int_equal(handshake(cl, sv), 1);

	assert_int_equal(tls_write(cl, (const uint8_t *)"hello", 5), 0);
	assert_true(tls_pending_cipher(cl) > 5); /* encrypted, with framing */
	shuttle(cl, sv);
	assert_int_equal(tls_read(sv, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(tls_read(sv, buf, sizeof(buf)), 0); /* nothing more */

	/* More than one TLS record's worth, server to client. */
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	assert_int_equal(tls_write(sv, big, sizeof(big)), 0);
	shuttle(sv, cl);
	for (int i = 0; i < 10 && got < sizeof(big); i++) {
		r = tls_read(cl, buf + got, sizeof(buf) - got);
		assert_true(r >= 0);
		got += (size_t)r;
	}
	assert_int_equal(got, sizeof(big));
	assert_memory_equal(buf, big, sizeof(big));

	/* A close_notify reads as the end. */
	tls_shutdown(sv);
	shuttle(sv, cl);
	assert_int_equal(tls_read(cl, buf, sizeof(buf)), -ECONNRESET);

	tls_free(cl);
	tls_free(sv);
	tls_ctx_free(cctx);
	tls_ctx_free(sctx);
}

/* Ciphertext that is not TLS fails the server's handshake with a reason. */
static void test_garbage(void **state)
{
	struct tls_ctx *cctx, *sctx;
	struct tls *cl, *sv;
	uint8_t junk[64];

	(void)state;
	pair(&cctx, &sctx, &cl, &sv);
	memset(junk, 0x41, sizeof(junk));
	junk[0] = 0x16; /* looks like a handshake record, then is not */
	assert_int_equal(tls_feed_cipher(sv, junk, sizeof(junk)), 0);
	assert_int_equal(tls_handshake(sv), -EPROTO);
	assert_true(strlen(tls_error(sv)) > 0);
	tls_free(cl);
	tls_free(sv);
	tls_ctx_free(cctx);
	tls_ctx_free(sctx);
}

/* §12.4: TLS 1.3 only. A TLS 1.2 client (plain OpenSSL, memory BIOs) is refused. */
static void test_tls12_refused(void **state)
{
	struct tls_ctx *sctx;
	struct tls *sv;
	char err[256];
	SSL_CTX *c12 = SSL_CTX_new(TLS_client_method());
	SSL *s;
	BIO *rb, *wb;
	uint8_t buf[8192];
	int n, r = 0;

	(void)state;
	assert_non_null(c12);
	assert_int_equal(SSL_CTX_set_max_proto_version(c12, TLS1_2_VERSION), 1);
	s = SSL_new(c12);
	rb = BIO_new(BIO_s_mem());
	wb = BIO_new(BIO_s_mem());
	SSL_set_bio(s, rb, wb);
	SSL_set_connect_state(s);
	assert_int_equal(tls_ctx_server(&sctx, NULL, NULL, err, sizeof(err)), 0);
	assert_int_equal(tls_new(&sv, sctx, NULL, NULL), 0);
	assert_true(SSL_do_handshake(s) <= 0); /* wants the server's answer */
	while ((n = BIO_read(wb, buf, sizeof(buf))) > 0)
		assert_int_equal(tls_feed_cipher(sv, buf, (size_t)n), 0);
	r = tls_handshake(sv);
	assert_int_equal(r, -EPROTO);
	assert_true(strlen(tls_error(sv)) > 0);
	tls_free(sv);
	tls_ctx_free(sctx);
	SSL_free(s);
	SSL_CTX_free(c12);
}

/* Write a self-signed certificate and its key as PEM files (what an operator would give). */
static void write_pem_pair(const char *cert, const char *key)
{
	EVP_PKEY *pk = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	FILE *f;

	assert_non_null(pk);
	assert_non_null(x);
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, pk);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	                           (const unsigned char *)"test", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	assert_true(X509_sign(x, pk, EVP_sha256()) > 0);
	f = fopen(cert, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_X509(f, x), 1);
	fclose(f);
	f = fopen(key, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
	X509_free(x);
	EVP_PKEY_free(pk);
}

static void test_cert_files(void **state)
{
	struct tls_ctx *sctx, *cctx;
	struct tls *cl, *sv;
	char cert[256], key[256], missing[256], err[256];

	(void)state;
	testutil_path(cert, sizeof(cert), "cert.pem");
	testutil_path(key, sizeof(key), "key.pem");
	testutil_path(missing, sizeof(missing), "missing.pem");
	write_pem_pair(cert, key);

	/* A pair that exists loads and serves a handshake. */
	assert_int_equal(tls_ctx_server(&sctx, cert, key, err, sizeof(err)), 0);
	assert_int_equal(tls_ctx_client(&cctx), 0);
	assert_int_equal(tls_new(&cl, cctx, NULL, NULL), 0);
	assert_int_equal(tls_new(&sv, sctx, NULL, NULL), 0);
	assert_int_equal(handshake(cl, sv), 1);
	tls_free(cl);
	tls_free(sv);
	tls_ctx_free(cctx);
	tls_ctx_free(sctx);

	/* Files that do not exist: an error naming the file. */
	assert_int_equal(tls_ctx_server(&sctx, missing, missing, err, sizeof(err)), -EINVAL);
	assert_null(sctx);
	assert_non_null(strstr(err, "missing.pem"));
	/* A key that is not the certificate's. */
	assert_int_equal(tls_ctx_server(&sctx, cert, cert, err, sizeof(err)), -EINVAL);
	assert_true(strlen(err) > 0);
	/* One without the other. */
	assert_int_equal(tls_ctx_server(&sctx, cert, NULL, err, sizeof(err)), -EINVAL);
	assert_true(strlen(err) > 0);
	tls_ctx_free(NULL);
	tls_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_handshake_and_bytes),
	    cmocka_unit_test(test_garbage),
	    cmocka_unit_test(test_tls12_refused),
	    cmocka_unit_test(test_cert_files),
	};

	return cmocka_run_group_tests(tests, testutil_scratch_setup, testutil_scratch_teardown);
}
