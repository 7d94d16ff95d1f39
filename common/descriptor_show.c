/* descriptor_show.c: a descriptor as JSON and as text, for wgrelayd and the CLI (descriptor.h). */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "descriptor.h"

/* Output into a caller's buffer: writes stop at the first that does not fit. */
struct desc_out {
	char *p;
	size_t cap, n;
	bool full;
};

__attribute__((format(printf, 2, 3))) static void desc_printf(struct desc_out *o, const char *fmt,
                                                              ...)
{
	va_list ap;
	int k;

	if (o->full)
		return;
	va_start(ap, fmt);
	k = vsnprintf(o->p + o->n, o->cap - o->n, fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= o->cap - o->n)
		o->full = true;
	else
		o->n += (size_t)k;
}

static int desc_out_init(struct desc_out *o, char *p, size_t cap)
{
	*o = (struct desc_out){.p = p, .cap = cap};
	if (cap == 0)
		return -ENOBUFS;
	p[0] = '\0';
	return 0;
}

static int desc_out_end(const struct desc_out *o)
{
	return o->full || o->n > INT_MAX ? -ENOBUFS : (int)o->n;
}

/* A string of at most max bytes: JSON-escaped in quotes, or with '?' for the unprintable. */
static void desc_put_text(struct desc_out *o, const char *s, size_t max, bool json)
{
	size_t n = strnlen(s, max);

	if (json)
		desc_printf(o, "\"");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (json && (c == '"' || c == '\\'))
			desc_printf(o, "\\%c", c);
		else if (c >= 0x20 && c <= 0x7e)
			desc_printf(o, "%c", c);
		else if (json)
			desc_printf(o, "\\u%04x", c);
		else
			desc_printf(o, "?");
	}
	if (json)
		desc_printf(o, "\"");
}

static void desc_put_json_opt(struct desc_out *o, const char *name, const char *s, size_t max)
{
	desc_printf(o, ",\"%s\":", name);
	if (s[0])
		desc_put_text(o, s, max, true);
	else
		desc_printf(o, "null");
}

/* UDP, TCP and TLS endpoints are an address; WSS and onion ones a host name. */
static bool desc_show_has_addr(uint8_t t)
{
	return t >= DESC_T_UDP && t <= DESC_T_TLS;
}

static const char *desc_transport_name(uint8_t t)
{
	static const char *const names[] = {"?", "udp", "tcp", "tls", "wss", "onion"};

	return t >= DESC_T_UDP && t <= DESC_T_ONION ? names[t] : "unknown";
}

static const char *desc_auth_name(uint8_t a)
{
	static const char *const names[] = {"open", "keys", "token"};

	return a <= DESC_AUTH_TOKEN ? names[a] : "unknown";
}

/* Microdegrees as decimal degrees, "-0.500000": a valid JSON number too. */
static void desc_put_degrees(struct desc_out *o, int32_t e6)
{
	uint32_t m = e6 < 0 ? 0u - (uint32_t)e6 : (uint32_t)e6;

	desc_printf(o, "%s%u.%06u", e6 < 0 ? "-" : "", m / 1000000, m % 1000000);
}

static void desc_put_b64(struct desc_out *o, const uint8_t *p, size_t n)
{
	char b64[sodium_base64_ENCODED_LEN(DESC_SIG_LEN, sodium_base64_VARIANT_ORIGINAL)];

	sodium_bin2base64(b64, sizeof(b64), p, n, sodium_base64_VARIANT_ORIGINAL);
	desc_printf(o, "%s", b64);
}

/* The mode names of bits, in bit order: "direct, sealed" or, for JSON, "\"direct\",\"sealed\"". */
static void desc_put_modes(struct desc_out *o, uint8_t bits, bool json)
{
	static const struct {
		uint8_t bit;
		const char *name;
	} names[] = {{DESC_MODE_DIRECT, "direct"},
	             {DESC_MODE_SEALED, "sealed"},
	             {DESC_MODE_CIRCUITS, "circuits"}};
	bool first = true;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (bits & names[i].bit) {
			desc_printf(o, json ? "%s\"%s\"" : "%s%s",
			            first  ? ""
			            : json ? ","
			                   : ", ",
			            names[i].name);
			first = false;
		}
}

int desc_to_json(const struct descriptor *d, char *out, size_t cap)
{
	unsigned n = d->n_endpoints < DESC_MAX_ENDPOINTS ? d->n_endpoints : DESC_MAX_ENDPOINTS;
	char ip[ADDR_STRLEN];
	struct desc_out o;

	if (desc_out_init(&o, out, cap) < 0)
		return -ENOBUFS;
	desc_printf(&o, "{\"identity\":\"");
	desc_put_b64(&o, d->identity, 32);
	desc_printf(&o, "\",\"noise_key\":\"");
	desc_put_b64(&o, d->noise, 32);
	desc_printf(&o, "\",\"seq\":%llu,\"issued_at\":%llu,\"expires_at\":%llu,\"modes\":[",
	            (unsigned long long)d->seq, (unsigned long long)d->issued_at,
	            (unsigned long long)d->expires_at);
	desc_put_modes(&o, d->modes, true);
	desc_printf(&o, "]");
	desc_printf(&o, ",\"auth\":\"%s\",\"max_circuits\":%u,\"bandwidth_kbps\":%u",
	            desc_auth_name(d->auth), d->max_circuits, d->bandwidth_kbps);
	desc_printf(&o, ",\"load_permille\":%u,\"uptime_s\":%u,\"version\":", d->load_permille,
	            d->uptime_s);
	desc_put_text(&o, d->version, DESC_MAX_STR, true);
	desc_put_json_opt(&o, "country", d->country, 2);
	desc_printf(&o, ",\"location\":");
	if (d->has_location) {
		desc_printf(&o, "{\"lat\":");
		desc_put_degrees(&o, d->lat_e6);
		desc_printf(&o, ",\"lon\":");
		desc_put_degrees(&o, d->lon_e6);
		desc_printf(&o, "}");
	} else {
		desc_printf(&o, "null");
	}
	desc_put_json_opt(&o, "family", d->family, DESC_MAX_STR);
	desc_printf(&o, ",\"endpoints\":[");
	for (unsigned i = 0; i < n; i++) {
		const struct desc_endpoint *e = &d->endpoints[i];

		desc_printf(&o, "%s{\"transport\":\"%s\",\"host\":", i ? "," : "",
		            desc_transport_name(e->transport));
		if (desc_show_has_addr(e->transport)) {
			desc_printf(&o, "\"%s\",\"port\":%u",
			            addr_format_ip(&e->addr, ip, sizeof(ip)), addr_port(&e->addr));
		} else {
			desc_put_text(&o, e->host, DESC_MAX_STR, true);
			desc_printf(&o, ",\"port\":%u", e->port);
		}
		if (e->transport == DESC_T_WSS) {
			desc_printf(&o, ",\"path\":");
			desc_put_text(&o, e->path, DESC_MAX_STR, true);
		}
		desc_printf(&o, "}");
	}
	desc_printf(&o, "],\"signature\":\"");
	desc_put_b64(&o, d->sig, DESC_SIG_LEN);
	desc_printf(&o, "\"}");
	return desc_out_end(&o);
}

/* Unix seconds and, when the C library can say, the UTC date. */
static void desc_put_time(struct desc_out *o, const char *name, uint64_t t)
{
	char s[32] = "";
	struct tm tm;
	time_t tt = (time_t)t;

	if ((uint64_t)tt == t && gmtime_r(&tt, &tm))
		strftime(s, sizeof(s), " (%Y-%m-%d %H:%M:%SZ)", &tm);
	desc_printf(o, "%-10s %llu%s\n", name, (unsigned long long)t, s);
}

int desc_to_text(const struct descriptor *d, char *out, size_t cap)
{
	unsigned n = d->n_endpoints < DESC_MAX_ENDPOINTS ? d->n_endpoints : DESC_MAX_ENDPOINTS;
	char a[ADDR_STRLEN];
	struct desc_out o;

	if (desc_out_init(&o, out, cap) < 0)
		return -ENOBUFS;
	desc_printf(&o, "identity   ");
	desc_put_b64(&o, d->identity, 32);
	desc_printf(&o, "\nnoise key  ");
	desc_put_b64(&o, d->noise, 32);
	desc_printf(&o, "\nseq        %llu\n", (unsigned long long)d->seq);
	desc_put_time(&o, "issued", d->issued_at);
	desc_put_time(&o, "expires", d->expires_at);
	desc_printf(&o, "modes      ");
	desc_put_modes(&o, d->modes, false);
	desc_printf(&o, "\n");
	desc_printf(&o, "auth       %s\ncircuits   %u max, load %u.%u%%\n", desc_auth_name(d->auth),
	            d->max_circuits, d->load_permille / 10, d->load_permille % 10);
	if (d->bandwidth_kbps)
		desc_printf(&o, "bandwidth  %u kbit/s\n", d->bandwidth_kbps);
	desc_printf(&o, "uptime     %u s\nversion    ", d->uptime_s);
	desc_put_text(&o, d->version, DESC_MAX_STR, false);
	desc_printf(&o, "\ncountry    ");
	desc_put_text(&o, d->country[0] ? d->country : "-", 2, false);
	if (d->has_location) {
		desc_printf(&o, "\nlocation   ");
		desc_put_degrees(&o, d->lat_e6);
		desc_printf(&o, ", ");
		desc_put_degrees(&o, d->lon_e6);
	}
	desc_printf(&o, "\nfamily     ");
	desc_put_text(&o, d->family[0] ? d->family : "-", DESC_MAX_STR, false);
	desc_printf(&o, "\n");
	for (unsigned i = 0; i < n; i++) {
		const struct desc_endpoint *e = &d->endpoints[i];

		desc_printf(&o, "endpoint   %s ", desc_transport_name(e->transport));
		if (desc_show_has_addr(e->transport)) {
			desc_printf(&o, "%s", addr_format(&e->addr, a, sizeof(a)));
		} else {
			desc_printf(&o, "%s", e->transport == DESC_T_WSS ? "wss://" : "");
			desc_put_text(&o, e->host, DESC_MAX_STR, false);
			desc_printf(&o, ":%u", e->port);
			desc_put_text(&o, e->path, DESC_MAX_STR, false);
		}
		desc_printf(&o, "\n");
	}
	return desc_out_end(&o);
}
