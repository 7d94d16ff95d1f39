/*
 * Fuzz target: the bencode decoder and the KRPC parser, then a whole DHT node. Canonical
 * bencoding must re-encode from its tokens to the same bytes; whatever KRPC parses must
 * survive an encode/parse round trip; every datagram the node sends must parse.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dht_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Re-encode token i (and its children); returns the index after it. */
static uint32_t reencode(const struct ben_doc *doc, uint32_t i, struct wbuf *w)
{
	const struct ben_tok *t = &doc->tok[i];
	uint32_t c;

	switch (t->type) {
	case BEN_INT:
		ben_put_int(w, t->v.i);
		return i + 1;
	case BEN_STR:
		ben_put_str(w, doc->p + t->v.s.off, t->v.s.len);
		return i + 1;
	default:
		ben_put_open(w, t->type == BEN_LIST ? 'l' : 'd');
		for (c = i + 1; c < t->next;)
			c = reencode(doc, c, w);
		ben_put_close(w);
		return t->next;
	}
}

static void fuzz_rand(void *ctx, void *buf, size_t len)
{
	(void)ctx;
	memset(buf, 0x5a, len); /* deterministic: a crash must replay */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ben_tok tok[DHT_MAX_TOK], tok2[DHT_MAX_TOK];
	static uint8_t out[DHT_MAX_PKT * 2];
	static struct dht *d;
	static uint64_t now = 1000;
	struct ben_doc doc;
	struct krpc m, m2;
	struct addr from, to;
	struct wbuf w;
	size_t len;

	if (!d) {
		struct dht_config cfg;
		uint8_t id[DHT_ID_LEN] = {7};

		dht_config_default(&cfg);
		cfg.rand = fuzz_rand;
		cfg.query_rate = 0;
		d = dht_new(id, &cfg);
		if (!d)
			abort();
	}
	if (ben_decode(&doc, data, size, tok, DHT_MAX_TOK) == 0) {
		wbuf_init(&w, out, sizeof(out));
		reencode(&doc, 0, &w);
		if (w.pos != size || memcmp(out, data, size))
			abort();
	}
	if (size <= DHT_MAX_PKT && dht_msg_parse(&m, data, size, tok, DHT_MAX_TOK) == 0 &&
	    m.q != KRPC_UNKNOWN) {
		wbuf_init(&w, out, sizeof(out));
		if (dht_msg_encode(&w, &m) < 0 ||
		    dht_msg_parse(&m2, out, w.pos, tok2, DHT_MAX_TOK) < 0 || m2.y != m.y ||
		    m2.q != m.q || m2.nvalues != m.nvalues)
			abort();
	}
	addr_parse(&from, size & 1 ? "127.0.0.2:6881" : "10.1.2.3:51000", 0);
	dht_input(d, data, size, &from, now);
	now += 500;
	dht_tick(d, now);
	while ((len = dht_next_output(d, out, sizeof(out), &to)))
		if (dht_msg_parse(&m, out, len, tok, DHT_MAX_TOK) < 0)
			abort();
	return 0;
}
