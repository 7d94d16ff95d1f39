/*
 * envelope.c: signed envelopes and reservation vouchers (envelope.h).
 */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "envelope.h"
#include "pb.h"

/* Our domains are short constants; a bound keeps the signed buffer on the stack. */
#define DOMAIN_MAX 64
#define SIG_LEN    crypto_sign_BYTES

/*
 * The bytes the signature covers (RFC 0002 "Signature Production / Verification") into out:
 * their length, or -EMSGSIZE. The three varints take at most 3 * PB_VARINT_MAX bytes.
 */
static int envelope_signed_bytes(const char *domain, const uint8_t *type, size_t tlen,
                                 const uint8_t *payload, size_t plen, uint8_t *out, size_t cap)
{
	size_t dlen = strnlen(domain, DOMAIN_MAX + 1);
	struct wbuf w;

	if (dlen > DOMAIN_MAX)
		return -EMSGSIZE;
	wbuf_init(&w, out, cap);
	if (pb_put_varint(&w, dlen) < 0 || buf_put_bytes(&w, domain, dlen) < 0 ||
	    pb_put_varint(&w, tlen) < 0 || (tlen && buf_put_bytes(&w, type, tlen) < 0) ||
	    pb_put_varint(&w, plen) < 0 || (plen && buf_put_bytes(&w, payload, plen) < 0))
		return -EMSGSIZE;
	return (int)w.pos;
}

int envelope_seal(const struct identity *id, const char *domain, const uint8_t *type, size_t tlen,
                  const uint8_t *payload, size_t plen, uint8_t *out, size_t cap)
{
	uint8_t msg[DOMAIN_MAX + ENVELOPE_MAX + 3 * PB_VARINT_MAX];
	uint8_t key[PUBKEY_ED25519_PB_LEN], sig[SIG_LEN];
	struct wbuf w;
	int n;

	/* Too big for any reader (envelope_open's bound) is not a matter of room. */
	if (tlen > ENVELOPE_MAX || plen > ENVELOPE_MAX ||
	    2 + sizeof(key) + 1 + pb_varint_len(tlen) + tlen + 1 + pb_varint_len(plen) + plen + 2 +
	            sizeof(sig) >
	        ENVELOPE_MAX)
		return -EMSGSIZE;
	n = envelope_signed_bytes(domain, type, tlen, payload, plen, msg, sizeof(msg));
	if (n < 0)
		return n;
	crypto_sign_detached(sig, NULL, msg, (unsigned long long)n, id->sk);
	peerid_pubkey_encode(id->pk, key, sizeof(key));
	wbuf_init(&w, out, cap);
	if (pb_put_bytes(&w, 1, key, sizeof(key)) < 0 || pb_put_bytes(&w, 2, type, tlen) < 0 ||
	    pb_put_bytes(&w, 3, payload, plen) < 0 || pb_put_bytes(&w, 5, sig, sizeof(sig)) < 0)
		return -ENOBUFS;
	return (int)w.pos;
}

int envelope_open(const uint8_t *env, size_t n, const char *domain, uint8_t pk[32],
                  const uint8_t **type, size_t *tlen, const uint8_t **payload, size_t *plen)
{
	uint8_t msg[DOMAIN_MAX + ENVELOPE_MAX + 3 * PB_VARINT_MAX];
	/* Field 1, 2, 3, 5 seen; absent bytes fields are empty (proto3). */
	const uint8_t *fp[6] = {NULL};
	size_t fl[6] = {0};
	struct pb_field f;
	struct rbuf r;
	int e, m;

	if (n > ENVELOPE_MAX)
		return -EBADMSG;
	rbuf_init(&r, env, n);
	while ((e = pb_next(&r, &f)) > 0) {
		if (f.num != 1 && f.num != 2 && f.num != 3 && f.num != 5)
			continue;
		/* A repeated field would let a reader and the signer disagree on which counts. */
		if (f.wire != PB_LEN || fp[f.num])
			return -EBADMSG;
		fp[f.num] = f.p;
		fl[f.num] = f.len;
	}
	if (e < 0 || !fp[1] || !fp[5] || fl[5] != SIG_LEN)
		return -EBADMSG;
	if ((e = peerid_pubkey_decode(fp[1], fl[1], pk)) < 0)
		return e;
	m = envelope_signed_bytes(domain, fp[2], fl[2], fp[3], fl[3], msg, sizeof(msg));
	if (m < 0)
		return -EPERM;
	if (crypto_sign_verify_detached(fp[5], msg, (unsigned long long)m, pk) != 0)
		return -EPERM;
	/* fp[2], fp[3] are NULL when absent: point at the envelope so callers get a valid pointer. */
	*type = fp[2] ? fp[2] : env;
	*tlen = fl[2];
	*payload = fp[3] ? fp[3] : env;
	*plen = fl[3];
	return 0;
}

int envelope_voucher(const struct identity *id, const struct peerid *peer, uint64_t expire_s,
                     uint8_t *out, size_t cap)
{
	uint8_t payload[2 * (2 + PEERID_MAX) + 1 + PB_VARINT_MAX];
	struct peerid relay;
	struct wbuf w;

	/* Canonical form (circuit-v2.md "Reservation Vouchers"): fields in order, all present. */
	peerid_from_ed25519(id->pk, &relay);
	wbuf_init(&w, payload, sizeof(payload));
	if (pb_put_bytes(&w, 1, relay.b, relay.len) < 0 ||
	    pb_put_bytes(&w, 2, peer->b, peer->len) < 0 || pb_put_uint(&w, 3, expire_s) < 0)
		return -ENOBUFS;
	return envelope_seal(id, VOUCHER_DOMAIN, (const uint8_t *)VOUCHER_TYPE, VOUCHER_TYPE_LEN,
	                     payload, w.pos, out, cap);
}

int envelope_voucher_decode(const uint8_t *p, size_t n, struct voucher *v)
{
	struct pb_field f;
	struct rbuf r;
	unsigned seen = 0;
	int e;

	memset(v, 0, sizeof(*v));
	rbuf_init(&r, p, n);
	while ((e = pb_next(&r, &f)) > 0) {
		if (f.num < 1 || f.num > 3)
			continue;
		if (seen & (1u << f.num))
			return -EBADMSG;
		seen |= 1u << f.num;
		if (f.num == 3) {
			if (f.wire != PB_VARINT)
				return -EBADMSG;
			v->expiration = f.v;
		} else if (f.wire != PB_LEN ||
		           peerid_from_bytes(f.num == 1 ? &v->relay : &v->peer, f.p, f.len) < 0) {
			return -EBADMSG;
		}
	}
	if (e < 0 || seen != 0xe)
		return -EBADMSG;
	return 0;
}
