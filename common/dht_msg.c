/*
 * dht_msg.c: the KRPC codec of BEP 5 and BEP 44. Parsing keeps what any message may carry in
 * one flat struct (the argument names of queries and responses do not collide); checking
 * what a given query needs is the caller's job, so it can answer with the right error code.
 */
#include <errno.h>
#include <string.h>

#include "dht_int.h"

static const struct {
	const char *name;
	enum krpc_method q;
} dht_msg_methods[] = {
    {"ping", KRPC_PING},
    {"find_node", KRPC_FIND_NODE},
    {"get_peers", KRPC_GET_PEERS},
    {"announce_peer", KRPC_ANNOUNCE},
    {"get", KRPC_GET},
    {"put", KRPC_PUT},
};

void dht_msg_compact_put(uint8_t out[6], const struct addr *a)
{
	memcpy(out, &a->in.sin_addr, 4);
	memcpy(out + 4, &a->in.sin_port, 2);
}

void dht_msg_compact_get(struct addr *a, const uint8_t in[6])
{
	memset(a, 0, sizeof(*a));
	a->in.sin_family = AF_INET;
	memcpy(&a->in.sin_addr, in, 4);
	memcpy(&a->in.sin_port, in + 4, 2);
	a->len = sizeof(a->in);
}

/* A string argument: absent is fine, another type makes the message unusable. */
static int dht_msg_str(const struct ben_doc *doc, int dict, const char *key, struct krpc_str *out)
{
	int i = ben_dict_get(doc, dict, key);

	if (i < 0)
		return 0;
	return ben_str(doc, i, &out->p, &out->len) < 0 ? -EPROTO : 0;
}

static int dht_msg_int(const struct ben_doc *doc, int dict, const char *key, bool *has,
                       int64_t *out)
{
	int i = ben_dict_get(doc, dict, key);

	if (i < 0)
		return 0;
	*has = true;
	return ben_int(doc, i, out) < 0 ? -EPROTO : 0;
}

/* The arguments of a query or the values of a response (same names, one dictionary). */
static int dht_msg_args(struct krpc *m, const struct ben_doc *doc, int a)
{
	bool has_implied = false;
	int64_t implied = 0;
	int r = 0, vals, v;

	if (a < 0 || doc->tok[a].type != BEN_DICT)
		return -EPROTO;
	r |= dht_msg_str(doc, a, "id", &m->id);
	r |= dht_msg_str(doc, a, "target", &m->target);
	r |= dht_msg_str(doc, a, "info_hash", &m->info_hash);
	r |= dht_msg_str(doc, a, "token", &m->token);
	r |= dht_msg_str(doc, a, "nodes", &m->nodes);
	r |= dht_msg_str(doc, a, "k", &m->k);
	r |= dht_msg_str(doc, a, "salt", &m->salt);
	r |= dht_msg_str(doc, a, "sig", &m->sig);
	r |= dht_msg_int(doc, a, "port", &m->has_port, &m->port);
	r |= dht_msg_int(doc, a, "implied_port", &has_implied, &implied);
	r |= dht_msg_int(doc, a, "seq", &m->has_seq, &m->seq);
	r |= dht_msg_int(doc, a, "cas", &m->has_cas, &m->cas);
	if (r)
		return -EPROTO;
	m->implied_port = implied != 0;
	/* v is any bencoded value: kept as its encoding, which is what BEP 44 signs */
	if ((v = ben_dict_get(doc, a, "v")) >= 0) {
		m->v.p = doc->p + doc->tok[v].off;
		m->v.len = doc->tok[v].len;
	}
	if ((vals = ben_dict_get(doc, a, "values")) >= 0) {
		if (doc->tok[vals].type != BEN_LIST)
			return -EPROTO;
		for (uint32_t i = (uint32_t)vals + 1; i < doc->tok[vals].next;
		     i = doc->tok[i].next) {
			const uint8_t *p;
			size_t len;

			/* IPv6 peers (18 bytes) and anything odd are skipped, not fatal */
			if (ben_str(doc, (int)i, &p, &len) == 0 && len == 6 &&
			    m->nvalues < DHT_MAX_VALUES)
				m->values[m->nvalues++] = p;
		}
	}
	if (m->id.p && m->id.len != DHT_ID_LEN)
		return -EPROTO;
	return 0;
}

int dht_msg_parse(struct krpc *m, const uint8_t *p, size_t len, struct ben_tok *tok, size_t cap)
{
	struct ben_doc doc;
	const uint8_t *s;
	size_t slen;
	int e;

	memset(m, 0, sizeof(*m));
	if (ben_decode(&doc, p, len, tok, cap) < 0 || tok[0].type != BEN_DICT)
		return -EBADMSG;
	if (ben_str(&doc, ben_dict_get(&doc, 0, "t"), &m->t.p, &m->t.len) < 0 ||
	    ben_str(&doc, ben_dict_get(&doc, 0, "y"), &s, &slen) < 0 || slen != 1 ||
	    m->t.len > DHT_TID_MAX) {
		m->t.p = NULL;
		return -EPROTO;
	}
	m->y = (char)s[0];
	switch (m->y) {
	case 'q':
		if (ben_str(&doc, ben_dict_get(&doc, 0, "q"), &s, &slen) < 0)
			return -EPROTO;
		m->q = KRPC_UNKNOWN;
		for (size_t i = 0; i < sizeof(dht_msg_methods) / sizeof(dht_msg_methods[0]); i++)
			if (strlen(dht_msg_methods[i].name) == slen &&
			    memcmp(dht_msg_methods[i].name, s, slen) == 0)
				m->q = dht_msg_methods[i].q;
		if (dht_msg_args(m, &doc, ben_dict_get(&doc, 0, "a")) < 0 || !m->id.p)
			return -EPROTO;
		return 0;
	case 'r':
		if (dht_msg_args(m, &doc, ben_dict_get(&doc, 0, "r")) < 0 || !m->id.p)
			return -EPROTO;
		return 0;
	case 'e':
		/* [code, message]; a reply we only match to its query, so be lenient */
		e = ben_dict_get(&doc, 0, "e");
		if (e >= 0 && doc.tok[e].type == BEN_LIST && doc.tok[e].next > (uint32_t)e + 1) {
			ben_int(&doc, e + 1, &m->ecode);
			if (doc.tok[e + 1].next < doc.tok[e].next)
				ben_str(&doc, (int)doc.tok[e + 1].next, &m->emsg.p, &m->emsg.len);
		}
		return 0;
	default:
		return -EPROTO;
	}
}

static int dht_msg_put_s(struct wbuf *w, const char *key, const struct krpc_str *s)
{
	if (!s->p)
		return 0;
	return ben_put_key(w, key) | ben_put_str(w, s->p, s->len);
}

static int dht_msg_put_i(struct wbuf *w, const char *key, bool has, int64_t v)
{
	if (!has)
		return 0;
	return ben_put_key(w, key) | ben_put_int(w, v);
}

/* Keys in ascending order, as bencoding requires. */
static int dht_msg_put_args(struct wbuf *w, const struct krpc *m)
{
	int r = ben_put_open(w, 'd');

	r |= dht_msg_put_i(w, "cas", m->has_cas, m->cas);
	r |= dht_msg_put_s(w, "id", &m->id);
	r |= dht_msg_put_i(w, "implied_port", m->implied_port, 1);
	r |= dht_msg_put_s(w, "info_hash", &m->info_hash);
	r |= dht_msg_put_s(w, "k", &m->k);
	r |= dht_msg_put_s(w, "nodes", &m->nodes);
	r |= dht_msg_put_i(w, "port", m->has_port, m->port);
	r |= dht_msg_put_s(w, "salt", &m->salt);
	r |= dht_msg_put_i(w, "seq", m->has_seq, m->seq);
	r |= dht_msg_put_s(w, "sig", &m->sig);
	r |= dht_msg_put_s(w, "target", &m->target);
	r |= dht_msg_put_s(w, "token", &m->token);
	if (m->v.p)
		r |= ben_put_key(w, "v") | buf_put_bytes(w, m->v.p, m->v.len);
	if (m->nvalues) {
		r |= ben_put_key(w, "values") | ben_put_open(w, 'l');
		for (size_t i = 0; i < m->nvalues; i++)
			r |= ben_put_str(w, m->values[i], 6);
		r |= ben_put_close(w);
	}
	return r | ben_put_close(w);
}

int dht_msg_encode(struct wbuf *w, const struct krpc *m)
{
	static const char *const methods[] = {
	    [KRPC_PING] = "ping",
	    [KRPC_FIND_NODE] = "find_node",
	    [KRPC_GET_PEERS] = "get_peers",
	    [KRPC_ANNOUNCE] = "announce_peer",
	    [KRPC_GET] = "get",
	    [KRPC_PUT] = "put",
	};
	char y[2] = {m->y, 0};
	int r;

	if ((m->y != 'q' && m->y != 'r' && m->y != 'e') ||
	    (m->y == 'q' && (m->q < KRPC_PING || m->q > KRPC_PUT)))
		return -EINVAL;
	/* every failure is -ENOBUFS, so OR-ing the results keeps it */
	r = ben_put_open(w, 'd');
	if (m->y == 'q')
		r |= ben_put_key(w, "a") | dht_msg_put_args(w, m);
	if (m->y == 'e') {
		r |= ben_put_key(w, "e") | ben_put_open(w, 'l') | ben_put_int(w, m->ecode);
		r |= ben_put_str(w, m->emsg.p, m->emsg.len) | ben_put_close(w);
	}
	if (m->y == 'q')
		r |= ben_put_key(w, "q") | ben_put_key(w, methods[m->q]);
	if (m->y == 'r')
		r |= ben_put_key(w, "r") | dht_msg_put_args(w, m);
	r |= dht_msg_put_s(w, "t", &m->t);
	r |= ben_put_key(w, "y") | ben_put_key(w, y);
	return r | ben_put_close(w);
}
