/* circmsg.c: the messages of circuits (see circmsg.h). */
#include <string.h>

#include "buf.h"
#include "circmsg.h"

static bool circmsg_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

size_t circmsg_data_max(size_t room)
{
	size_t max = room > CIRCMSG_DATA_HDR ? room - CIRCMSG_DATA_HDR : 0;

	return max > UINT16_MAX ? UINT16_MAX : max;
}

/* The bytes a message of type t takes (DATA: with len bytes of data); 0: no such type. */
static size_t circmsg_len(uint8_t t, size_t len)
{
	switch (t) {
	case CIRCMSG_EXTEND:
		return CIRCMSG_EXTEND_LEN;
	case CIRCMSG_EXTENDED:
		return 1 + CIRCHS_MSG2_LEN;
	case CIRCMSG_RENDEZVOUS:
		return 1 + CIRCMSG_COOKIE_LEN;
	case CIRCMSG_SPLICED:
	case CIRCMSG_PADDING:
		return 1;
	case CIRCMSG_DATA:
		return CIRCMSG_DATA_HDR + len;
	default:
		return 0;
	}
}

int circmsg_encode(const struct circmsg *m, uint8_t *out, size_t room)
{
	size_t need = circmsg_len(m->type, m->data_len);

	if (!need)
		return CIRCMSG_ETYPE;
	if (m->type == CIRCMSG_DATA && (!m->data_len || m->data_len > UINT16_MAX))
		return CIRCMSG_ELEN;
	if (need > room)
		return CIRCMSG_ESHORT;
	/* DATA may already sit in out, after its header: move it before anything is written. */
	if (m->type == CIRCMSG_DATA)
		memmove(out + CIRCMSG_DATA_HDR, m->data, m->data_len);
	memset(out + need, 0, room - need);
	out[0] = m->type;
	switch (m->type) {
	case CIRCMSG_EXTEND:
		memcpy(out + 1, m->identity, 32);
		memcpy(out + 33, m->noise_pub, 32);
		memcpy(out + 65, m->hs, CIRCHS_MSG1_LEN);
		break;
	case CIRCMSG_EXTENDED:
		memcpy(out + 1, m->hs, CIRCHS_MSG2_LEN);
		break;
	case CIRCMSG_RENDEZVOUS:
		memcpy(out + 1, m->cookie, CIRCMSG_COOKIE_LEN);
		break;
	case CIRCMSG_DATA:
		buf_store_be16(out + 1, (uint16_t)m->data_len);
		break;
	}
	return 0;
}

int circmsg_decode(const uint8_t *in, size_t room, struct circmsg *m)
{
	size_t need, len = 0;

	memset(m, 0, sizeof(*m));
	if (room < 1)
		return CIRCMSG_ESHORT;
	m->type = in[0];
	if (m->type == CIRCMSG_DATA) {
		if (room < CIRCMSG_DATA_HDR)
			return CIRCMSG_ESHORT;
		len = buf_load_be16(in + 1);
		if (!len || len > room - CIRCMSG_DATA_HDR)
			return CIRCMSG_ELEN;
	}
	need = circmsg_len(m->type, len);
	if (!need)
		return CIRCMSG_ETYPE;
	if (need > room)
		return CIRCMSG_ESHORT;
	if (!circmsg_zero(in + need, room - need))
		return CIRCMSG_EPAD;
	switch (m->type) {
	case CIRCMSG_EXTEND:
		memcpy(m->identity, in + 1, 32);
		memcpy(m->noise_pub, in + 33, 32);
		memcpy(m->hs, in + 65, CIRCHS_MSG1_LEN);
		break;
	case CIRCMSG_EXTENDED:
		memcpy(m->hs, in + 1, CIRCHS_MSG2_LEN);
		break;
	case CIRCMSG_RENDEZVOUS:
		memcpy(m->cookie, in + 1, CIRCMSG_COOKIE_LEN);
		break;
	case CIRCMSG_DATA:
		m->data = in + CIRCMSG_DATA_HDR;
		m->data_len = len;
		break;
	}
	return 0;
}

/* A fixed-size field at the front of a body, zeros after it. */
static void circmsg_put_fixed(uint8_t *body, size_t body_len, const uint8_t *p, size_t n)
{
	memcpy(body, p, n);
	memset(body + n, 0, body_len - n);
}

static int circmsg_get_fixed(const uint8_t *body, size_t body_len, uint8_t *p, size_t n)
{
	if (body_len < n || !circmsg_zero(body + n, body_len - n))
		return CIRCMSG_EPAD;
	memcpy(p, body, n);
	return 0;
}

void circmsg_put_create(uint8_t *body, size_t body_len, const uint8_t msg1[CIRCHS_MSG1_LEN])
{
	circmsg_put_fixed(body, body_len, msg1, CIRCHS_MSG1_LEN);
}

int circmsg_get_create(const uint8_t *body, size_t body_len, uint8_t msg1[CIRCHS_MSG1_LEN])
{
	return circmsg_get_fixed(body, body_len, msg1, CIRCHS_MSG1_LEN);
}

void circmsg_put_created(uint8_t *body, size_t body_len, const uint8_t msg2[CIRCHS_MSG2_LEN])
{
	circmsg_put_fixed(body, body_len, msg2, CIRCHS_MSG2_LEN);
}

int circmsg_get_created(const uint8_t *body, size_t body_len, uint8_t msg2[CIRCHS_MSG2_LEN])
{
	return circmsg_get_fixed(body, body_len, msg2, CIRCHS_MSG2_LEN);
}

void circmsg_put_destroy(uint8_t *body, size_t body_len, uint8_t reason)
{
	circmsg_put_fixed(body, body_len, &reason, 1);
}

int circmsg_get_destroy(const uint8_t *body, size_t body_len, uint8_t *reason)
{
	return circmsg_get_fixed(body, body_len, reason, 1);
}
