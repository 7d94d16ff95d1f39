/*
 * config_transport.c: the [Transport] section of wgrelayd.conf (wgrelayd.conf(5)
 * "TRANSPORT"): stream listeners, their limits, and the stream endpoints the relay's
 * descriptor names (PROTOCOL.md §9.1, §12). Parsing only; relayd/streams.c opens the sockets.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "config.h"
#include "turl.h"

static int ctrans_err(char *err, size_t errlen, const struct conf *f, const struct conf_entry *e,
                      const char *what)
{
	snprintf(err, errlen, "%s:%u: %s '%s' for %s", f->name, e->line, what, e->value, e->key);
	return -EINVAL;
}

/* True when s ends in ".onion" (as the descriptor spells it: lower case). */
static bool ctrans_onion(const char *s)
{
	size_t n = strlen(s);

	return n > 6 && !strcmp(s + n - 6, ".onion");
}

/*
 * One Advertise URL as a descriptor endpoint: tcp:// and tls:// name an address literal (a
 * descriptor carries no name for them), tcp:// may also name a .onion service, wss:// a name
 * or a literal with its path. ws:// is left out: a client reaching a relay over the internet
 * without TLS gains nothing over tcp://. 0 or an error naming the line.
 */
static int ctrans_endpoint(struct desc_endpoint *ep, const struct conf *f,
                           const struct conf_entry *e, char *err, size_t errlen)
{
	struct turl u;
	struct addr a;
	bool literal;

	if (turl_parse(&u, e->value) < 0)
		return ctrans_err(
		    err, errlen, f, e,
		    "bad URL (tcp://IP:PORT, tls://IP:PORT or wss://HOST[:PORT][/PATH])");
	if (u.kind != TURL_TCP && u.kind != TURL_TLS && u.kind != TURL_WSS)
		return ctrans_err(err, errlen, f, e, "not a stream endpoint (tcp, tls or wss)");
	literal = turl_host_addr(&u, &a);
	if (literal && (addr_classify(&a) & (ADDR_UNSPECIFIED | ADDR_MULTICAST | ADDR_BROADCAST)))
		return ctrans_err(err, errlen, f, e, "not a specific address");
	memset(ep, 0, sizeof(*ep));
	if (u.kind == TURL_WSS) {
		/* The descriptor keeps an IPv6 literal bracketed, as a URL writes it. */
		int n = literal && addr_family(&a) == AF_INET6 && u.host[0] != '['
		            ? snprintf(ep->host, sizeof(ep->host), "[%s]", u.host)
		            : snprintf(ep->host, sizeof(ep->host), "%s", u.host);

		if (n < 0 || (size_t)n >= sizeof(ep->host))
			return ctrans_err(err, errlen, f, e, "host too long for a descriptor");
		if ((size_t)snprintf(ep->path, sizeof(ep->path), "%s", u.path) >= sizeof(ep->path))
			return ctrans_err(err, errlen, f, e, "path too long for a descriptor");
		ep->transport = DESC_T_WSS;
		ep->port = u.port;
		return 0;
	}
	if (literal) {
		ep->transport = u.kind == TURL_TCP ? DESC_T_TCP : DESC_T_TLS;
		ep->addr = a;
		return 0;
	}
	if (u.kind == TURL_TCP && ctrans_onion(u.host)) {
		if ((size_t)snprintf(ep->host, sizeof(ep->host), "%s", u.host) >= sizeof(ep->host))
			return ctrans_err(err, errlen, f, e, "host too long for a descriptor");
		ep->transport = DESC_T_ONION;
		ep->port = u.port;
		return 0;
	}
	return ctrans_err(err, errlen, f, e,
	                  "needs an IP address (names only in wss://, or tcp:// to a .onion)");
}

/* Listen and Advertise lines: given ones replace the defaults (none), like [Relay] Listen. */
static int ctrans_lists(struct transport_config *t, const struct conf *f, char *err, size_t errlen)
{
	const struct conf_entry *e = NULL;
	int r;

	if (conf_last(f, "Transport", "Listen"))
		t->n_listen = 0;
	while ((e = conf_next(f, "Transport", "Listen", e))) {
		struct addr *a = &t->listen[t->n_listen];

		if (t->n_listen == CONFIG_MAX_STREAM_LISTEN)
			return ctrans_err(err, errlen, f, e, "too many addresses (4) at");
		if (addr_parse(a, e->value, 0) < 0)
			return ctrans_err(err, errlen, f, e, "bad address (ADDR:PORT)");
		if (addr_classify(a) & (ADDR_MULTICAST | ADDR_BROADCAST))
			return ctrans_err(err, errlen, f, e, "not a unicast address");
		t->n_listen++;
	}
	e = NULL;
	if (conf_last(f, "Transport", "Advertise"))
		t->n_advertise = 0;
	while ((e = conf_next(f, "Transport", "Advertise", e))) {
		if (t->n_advertise == CONFIG_MAX_STREAM_ADVERTISE)
			return ctrans_err(err, errlen, f, e, "too many endpoints (4) at");
		if ((r = ctrans_endpoint(&t->advertise[t->n_advertise], f, e, err, errlen)) < 0)
			return r;
		t->n_advertise++;
	}
	return 0;
}

/* WebSocketPath: what a descriptor and an HTTP request line can carry unescaped. */
static int ctrans_path(struct transport_config *t, const struct conf *f, char *err, size_t errlen)
{
	const struct conf_entry *e = conf_last(f, "Transport", "WebSocketPath");

	if (!e)
		return 0;
	if (e->value[0] != '/')
		return ctrans_err(err, errlen, f, e, "path not starting with '/'");
	for (const char *p = e->value; *p; p++)
		if (*p <= 0x20 || *p > 0x7e || *p == '?')
			return ctrans_err(err, errlen, f, e, "path with a blank, '?' or non-ASCII");
	if (strlen(e->value) >= sizeof(t->ws_path))
		return ctrans_err(err, errlen, f, e, "path too long (63 characters)");
	strcpy(t->ws_path, e->value);
	return 0;
}

/* TlsCertificate and TlsKey: both (PEM files) or neither (self-signed, made at start). */
static int ctrans_tls(struct transport_config *t, const struct conf *f, char *err, size_t errlen)
{
	const struct conf_entry *c = conf_last(f, "Transport", "TlsCertificate"),
	                        *k = conf_last(f, "Transport", "TlsKey");

	if (c && !k)
		return ctrans_err(err, errlen, f, c, "no TlsKey given with the certificate");
	if (k && !c)
		return ctrans_err(err, errlen, f, k, "no TlsCertificate given with the key");
	if (!c)
		return 0;
	if (!*c->value || strlen(c->value) >= sizeof(t->tls_cert))
		return ctrans_err(err, errlen, f, c, "bad file name");
	if (!*k->value || strlen(k->value) >= sizeof(t->tls_key))
		return ctrans_err(err, errlen, f, k, "bad file name");
	strcpy(t->tls_cert, c->value);
	strcpy(t->tls_key, k->value);
	return 0;
}

int config_transport(struct transport_config *t, const struct conf *f, char *err, size_t errlen)
{
	int r;

	if ((r = ctrans_lists(t, f, err, errlen)) < 0 || (r = ctrans_path(t, f, err, errlen)) < 0 ||
	    (r = ctrans_tls(t, f, err, errlen)) < 0)
		return r;
	r = conf_get_u64(f, "Transport", "MaxConnections", 1, 1000000, &t->max_connections, err,
	                 errlen);
	if (r < 0 && r != -ENOENT)
		return r;
	r = conf_get_u64(f, "Transport", "MaxConnectionsPerSource", 1, 1000000, &t->max_per_source,
	                 err, errlen);
	if (r < 0 && r != -ENOENT)
		return r;
	r = conf_get_duration(f, "Transport", "HandshakeTimeout", 1, 300, &t->handshake_timeout_s,
	                      err, errlen);
	if (r < 0 && r != -ENOENT)
		return r;
	/* At least two largest records, so a control frame always fits beside queued DATA. */
	r = conf_get_size(f, "Transport", "QueueBytes", 16 * 1024, 16 * 1024 * 1024,
	                  &t->queue_bytes, err, errlen);
	return r == -ENOENT ? 0 : r;
}
