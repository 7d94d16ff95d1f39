/* handshake.c: link establishment over Noise IK (see handshake.h, PROTOCOL.md §4). */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "buf.h"
#include "frame.h"
#include "handshake.h"
#include "seal.h"

/* Offsets inside HS_INIT and HS_RESP (PROTOCOL.md §4.1, §4.2). */
#define INIT_NOISE_OFF 8
#define INIT_NOISE_LEN NOISE_MSG1_LEN(PROTO_TAI64N_LEN)
#define RESP_NOISE_OFF 12
#define RESP_NOISE_LEN NOISE_MSG2_LEN(PROTO_ADDR_LEN)

_Static_assert(INIT_NOISE_OFF + INIT_NOISE_LEN + 2 * PROTO_MAC_LEN == PROTO_HS_INIT_LEN,
               "HS_INIT layout");
_Static_assert(RESP_NOISE_OFF + RESP_NOISE_LEN + 2 * PROTO_MAC_LEN == PROTO_HS_RESP_LEN,
               "HS_RESP layout");

void link_keys_clear(struct link_keys *k)
{
	sodium_memzero(k, sizeof(*k));
}

void hs_tai64n_now(uint8_t out[PROTO_TAI64N_LEN])
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	buf_store_be64(out, 0x400000000000000aULL + (uint64_t)ts.tv_sec);
	buf_store_be32(out + 8, (uint32_t)ts.tv_nsec);
}

static void hs_link_keys(struct link_keys *k, const uint8_t send[32], const uint8_t recv[32])
{
	memcpy(k->ctrl_send, send, 32);
	memcpy(k->ctrl_recv, recv, 32);
	seal_derive_data_key(k->data_send, send);
	seal_derive_data_key(k->data_recv, recv);
	k->ctrl_send_counter = 0;
	replay_init(&k->ctrl_replay);
}

void hs_client_init(struct hs_client *c, const uint8_t client_priv[32], const uint8_t relay_pub[32])
{
	memset(c, 0, sizeof(*c));
	memcpy(c->priv, client_priv, 32);
	memcpy(c->relay_pub, relay_pub, 32);
	cookie_maker_init(&c->cookies, relay_pub);
}

void hs_client_build_init(struct hs_client *c, uint8_t out[PROTO_HS_INIT_LEN], uint64_t now_ms)
{
	uint8_t ts[PROTO_TAI64N_LEN];

	noise_hs_init(&c->hs, NOISE_INITIATOR, (const uint8_t *)PROTO_PROLOGUE,
	              sizeof(PROTO_PROLOGUE) - 1, c->priv, c->relay_pub);
	randombytes_buf(&c->local_index, sizeof(c->local_index));
	frame_put_header(out, PROTO_HS_INIT);
	buf_store_be32(out + 4, c->local_index);
	hs_tai64n_now(ts);
	noise_write_msg1(&c->hs, ts, sizeof(ts), out + INIT_NOISE_OFF, INIT_NOISE_LEN);
	cookie_add_macs(&c->cookies, out, PROTO_HS_INIT_LEN, now_ms);
	c->pending = true;
}

int hs_client_consume_resp(struct hs_client *c, const uint8_t *frame, size_t len,
                           struct link_keys *keys, struct addr *observed)
{
	uint8_t payload[PROTO_ADDR_LEN], pub[32], i2r[32], r2i[32];
	struct cookie_checker self;
	struct noise_hs hs;
	int r = frame_check(frame, len);

	if (r < 0)
		return r;
	if (r != PROTO_HS_RESP)
		return FRAME_ETYPE;
	if (!c->pending || buf_load_be32(frame + 8) != c->local_index)
		return FRAME_EFIELD;
	/* Relays never send mac2 in a response (PROTOCOL.md §4.2): it must be zero. */
	if (!sodium_is_zero(frame + PROTO_HS_RESP_LEN - PROTO_MAC_LEN, PROTO_MAC_LEN))
		return FRAME_ERESERVED;
	crypto_scalarmult_base(pub, c->priv);
	cookie_checker_init(&self, pub);
	if (!cookie_check_mac1(&self, frame, len))
		return FRAME_EAUTH;
	/* Work on a copy so a forged response cannot spoil the pending handshake. */
	hs = c->hs;
	r = noise_read_msg2(&hs, frame + RESP_NOISE_OFF, RESP_NOISE_LEN, payload, sizeof(payload));
	if (r != PROTO_ADDR_LEN) {
		noise_hs_clear(&hs);
		return FRAME_EAUTH;
	}
	r = frame_get_addr(payload, observed);
	if (r < 0) {
		noise_hs_clear(&hs);
		return r;
	}
	noise_split(&hs, i2r, r2i);
	hs_link_keys(keys, i2r, r2i);
	keys->local_index = c->local_index;
	keys->remote_index = buf_load_be32(frame + 4);
	memcpy(keys->peer_static, c->relay_pub, 32);
	noise_hs_clear(&hs);
	noise_hs_clear(&c->hs);
	sodium_memzero(i2r, sizeof(i2r));
	sodium_memzero(r2i, sizeof(r2i));
	c->pending = false;
	return 0;
}

int hs_client_consume_cookie(struct hs_client *c, const uint8_t *frame, size_t len, uint64_t now_ms)
{
	int t = frame_check(frame, len);

	if (t < 0)
		return t;
	if (t != PROTO_COOKIE)
		return FRAME_ETYPE;
	if (!c->pending || len != PROTO_COOKIE_LEN || buf_load_be32(frame + 4) != c->local_index)
		return FRAME_EFIELD;
	return cookie_consume_reply(&c->cookies, frame, len, now_ms) < 0 ? FRAME_EAUTH : 0;
}

void hs_relay_init(struct hs_relay *r, const uint8_t relay_priv[32])
{
	memcpy(r->priv, relay_priv, 32);
	crypto_scalarmult_base(r->pub, relay_priv);
	cookie_checker_init(&r->cookies, r->pub);
}

int hs_relay_open_init(struct hs_relay *r, const uint8_t *frame, size_t len, const struct addr *src,
                       bool under_load, uint64_t now_ms, struct hs_pending *p,
                       uint8_t cookie_out[PROTO_COOKIE_LEN])
{
	int t = frame_check(frame, len);

	if (t < 0)
		return t;
	if (t != PROTO_HS_INIT)
		return FRAME_ETYPE;
	if (!cookie_check_mac1(&r->cookies, frame, len))
		return FRAME_EMAC;
	if (under_load && !cookie_check_mac2(&r->cookies, frame, len, src, now_ms)) {
		cookie_make_reply(&r->cookies, cookie_out, buf_load_be32(frame + 4), frame, len,
		                  src, now_ms);
		return HS_COOKIE;
	}
	noise_hs_init(&p->hs, NOISE_RESPONDER, (const uint8_t *)PROTO_PROLOGUE,
	              sizeof(PROTO_PROLOGUE) - 1, r->priv, NULL);
	if (noise_read_msg1(&p->hs, frame + INIT_NOISE_OFF, INIT_NOISE_LEN, p->tai64n,
	                    sizeof(p->tai64n)) != PROTO_TAI64N_LEN) {
		noise_hs_clear(&p->hs);
		return FRAME_EAUTH;
	}
	p->sender_index = buf_load_be32(frame + 4);
	memcpy(p->client_pub, p->hs.rs, 32);
	return HS_ACCEPT;
}

void hs_relay_finish(struct hs_pending *p, uint32_t local_index, const struct addr *observed,
                     uint8_t out[PROTO_HS_RESP_LEN], struct link_keys *keys)
{
	uint8_t payload[PROTO_ADDR_LEN], i2r[32], r2i[32];
	struct cookie_maker to_client;

	frame_put_header(out, PROTO_HS_RESP);
	buf_store_be32(out + 4, local_index);
	buf_store_be32(out + 8, p->sender_index);
	frame_put_addr(payload, observed);
	noise_write_msg2(&p->hs, payload, sizeof(payload), out + RESP_NOISE_OFF, RESP_NOISE_LEN);
	/* mac1 keyed by the client's public key: the client drops forged responses cheaply. */
	cookie_maker_init(&to_client, p->client_pub);
	cookie_add_macs(&to_client, out, PROTO_HS_RESP_LEN, 0);
	noise_split(&p->hs, i2r, r2i);
	hs_link_keys(keys, r2i, i2r);
	keys->local_index = local_index;
	keys->remote_index = p->sender_index;
	memcpy(keys->peer_static, p->client_pub, 32);
	noise_hs_clear(&p->hs);
	sodium_memzero(i2r, sizeof(i2r));
	sodium_memzero(r2i, sizeof(r2i));
}
