/* cell.c: the link layer of circuit cells (see cell.h). */
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "cell.h"
#include "frame.h"

#define CELL_KEY_LABEL    "wgrelay cell v1"
#define CELL_NONCE_PREFIX "wgrelay cell v1"

void cell_derive_key(uint8_t out[32], const uint8_t data_key[32])
{
	crypto_generichash(out, 32, (const uint8_t *)CELL_KEY_LABEL, sizeof(CELL_KEY_LABEL) - 1,
	                   data_key, 32);
}

static bool cell_body_ok(size_t body_len)
{
	return body_len == CELL_BODY_1500 || body_len == CELL_BODY_1280;
}

static bool cell_cmd_ok(uint8_t cmd)
{
	return cmd >= CELL_CREATE && cmd <= CELL_PADDING;
}

/* 24-byte nonce: the 16-byte prefix (the label, zero padded), then the link counter. */
static void cell_nonce(uint8_t nonce[24], uint64_t counter)
{
	memset(nonce, 0, 16);
	memcpy(nonce, CELL_NONCE_PREFIX, sizeof(CELL_NONCE_PREFIX) - 1);
	buf_store_be64(nonce + 16, counter);
}

int cell_seal(uint8_t *out, size_t cap, uint32_t index, uint64_t counter, const uint8_t key[32],
              const struct cell *c)
{
	uint8_t nonce[24], *pt = out + PROTO_SEALED_HDR_LEN;
	size_t len;

	if (!cell_body_ok(c->body_len) || !cell_cmd_ok(c->cmd) || !c->circ_id)
		return FRAME_EFIELD;
	len = CELL_FRAME_LEN(c->body_len);
	if (cap < len)
		return FRAME_ELONG;
	/* The body first: it may already sit where it goes (or overlap it). */
	memmove(pt + CELL_INNER_HDR, c->body, c->body_len);
	buf_store_be32(pt, c->circ_id);
	pt[4] = c->cmd;
	buf_store_be64(pt + 5, c->k);
	out[0] = PROTO_MAGIC;
	out[1] = CELL_FRAME_TYPE;
	out[2] = out[3] = 0;
	buf_store_be32(out + 4, index);
	buf_store_be64(out + 8, counter);
	cell_nonce(nonce, counter);
	crypto_aead_xchacha20poly1305_ietf_encrypt(pt, NULL, pt, CELL_INNER_HDR + c->body_len, out,
	                                           PROTO_SEALED_HDR_LEN, NULL, nonce, key);
	return (int)len;
}

void cell_link_fields(const uint8_t *frame, uint32_t *index, uint64_t *counter)
{
	*index = buf_load_be32(frame + 4);
	*counter = buf_load_be64(frame + 8);
}

int cell_open(uint8_t *frame, size_t len, const uint8_t key[32], struct replay *rp, struct cell *c)
{
	uint8_t nonce[24], *pt = frame + PROTO_SEALED_HDR_LEN;
	uint32_t index;
	uint64_t counter;
	size_t body;

	if (len < PROTO_HDR_LEN)
		return FRAME_ESHORT;
	if (frame[0] != PROTO_MAGIC)
		return FRAME_EMAGIC;
	if (frame[1] != CELL_FRAME_TYPE)
		return FRAME_ETYPE;
	if (frame[2] || frame[3])
		return FRAME_ERESERVED;
	if (len < CELL_FRAME_LEN(CELL_BODY_1280))
		return FRAME_ESHORT;
	if (len > CELL_FRAME_LEN(CELL_BODY_1500))
		return FRAME_ELONG;
	body = len - CELL_FRAME_LEN(0);
	if (!cell_body_ok(body))
		return FRAME_EFIELD;
	cell_link_fields(frame, &index, &counter);
	if (rp && !replay_check(rp, counter))
		return FRAME_EREPLAY;
	cell_nonce(nonce, counter);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(pt, NULL, NULL, pt,
	                                               len - PROTO_SEALED_HDR_LEN, frame,
	                                               PROTO_SEALED_HDR_LEN, nonce, key) != 0)
		return FRAME_EAUTH;
	/* Authentic: the window moves even if the contents turn out to be unknown. */
	if (rp && !replay_accept(rp, counter))
		return FRAME_EREPLAY;
	c->circ_id = buf_load_be32(pt);
	c->cmd = pt[4];
	c->k = buf_load_be64(pt + 5);
	c->body = pt + CELL_INNER_HDR;
	c->body_len = body;
	if (!cell_cmd_ok(c->cmd) || !c->circ_id)
		return FRAME_EFIELD;
	return 0;
}
