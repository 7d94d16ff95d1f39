/* Unit tests: common/descriptor.c */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "buf.h"
#include "descriptor.h"
#include "identity.h"
#include "key.h"

#define ONION "vww6ybal4bd7szmgncyruucpgfkqahzddi37ktceo3ah7ngmcopnpyyd.onion"
#define T0    1700000000u

static struct identity id, other;

static int setup(void **state)
{
	uint8_t seed[32];

	(void)state;
	if (sodium_init() < 0)
		return -1;
	memset(seed, 1, sizeof(seed));
	identity_from_seed(&id, seed);
	memset(seed, 2, sizeof(seed));
	identity_from_seed(&other, seed);
	return 0;
}

static void set_addr(struct desc_endpoint *e, uint8_t transport, const char *a)
{
	memset(e, 0, sizeof(*e));
	e->transport = transport;
	assert_int_equal(addr_parse(&e->addr, a, 0), 0);
}

static void set_named(struct desc_endpoint *e, uint8_t transport, const char *host, uint16_t port,
                      const char *path)
{
	memset(e, 0, sizeof(*e));
	e->transport = transport;
	strcpy(e->host, host);
	e->port = port;
	strcpy(e->path, path);
}

/* A valid descriptor with every field in use: UDP v4, WSS, onion, TCP v6 endpoints. */
static void make_desc(struct descriptor *d)
{
	memset(d, 0, sizeof(*d));
	memcpy(d->identity, id.pk, 32);
	memset(d->noise, 0x42, 32);
	d->seq = 7;
	d->issued_at = T0;
	d->expires_at = T0 + 86400;
	d->modes = DESC_MODE_DIRECT | DESC_MODE_SEALED;
	d->auth = DESC_AUTH_KEYS;
	d->max_circuits = 1000;
	d->bandwidth_kbps = 100000;
	d->load_permille = 250;
	d->uptime_s = 3600;
	strcpy(d->version, "wgrelayd 1.2.3");
	strcpy(d->country, "DE");
	d->has_location = true;
	d->lat_e6 = 52520008;
	d->lon_e6 = -13404954;
	strcpy(d->family, "example-ops");
	d->n_endpoints = 4;
	set_addr(&d->endpoints[0], DESC_T_UDP, "198.51.100.7:51821");
	set_named(&d->endpoints[1], DESC_T_WSS, "relay.example.org", 443, "/wgrelay");
	set_named(&d->endpoints[2], DESC_T_ONION, ONION, 443, "");
	set_addr(&d->endpoints[3], DESC_T_TCP, "[2001:db8::7]:443");
}

/* Where make_desc's fields start in its encoding (docs/PROTOCOL.md §9 table). */
enum {
	O_VERSION = 4,
	O_FLAGS = 5,
	O_IDENTITY = 6,
	O_NOISE = 38,
	O_SEQ = 70,
	O_EXPIRES = 86,
	O_MODES = 94,
	O_AUTH = 95,
	O_LOAD = 104,
	O_VSTR = 110,
};
struct offs {
	size_t country, lat, lon, family, n, ep[4];
};

static struct offs offsets(const struct descriptor *d)
{
	struct offs o;

	o.country = O_VSTR + 1 + strlen(d->version);
	o.lat = o.country + 2;
	o.lon = o.lat + 4;
	o.family = o.lon + 4;
	o.n = o.family + 1 + strlen(d->family);
	o.ep[0] = o.n + 1;
	o.ep[1] = o.ep[0] + 8;
	o.ep[2] =
	    o.ep[1] + 1 + 1 + strlen(d->endpoints[1].host) + 2 + 1 + strlen(d->endpoints[1].path);
	o.ep[3] = o.ep[2] + 1 + 1 + strlen(ONION) + 2;
	return o;
}

/* Sign bytes again after a change, as a relay with this identity could. */
static void resign(uint8_t *p, size_t len)
{
	uint8_t msg[64 + DESC_MAX_LEN];
	size_t dl = strlen(DESC_SIG_DOMAIN), body = len - DESC_SIG_LEN;

	memcpy(msg, DESC_SIG_DOMAIN, dl);
	memcpy(msg + dl, p, body);
	crypto_sign_detached(p + body, NULL, msg, dl + body, id.sk);
}

static size_t encode_valid(uint8_t *p, struct descriptor *d)
{
	struct descriptor back;
	int n;

	make_desc(d);
	n = desc_sign(d, id.sk, p, DESC_MAX_LEN);
	assert_true(n > 0);
	assert_int_equal(desc_decode(p, (size_t)n, &back), 0); /* the positive control */
	return (size_t)n;
}

static void assert_same(const struct descriptor *a, const struct descriptor *b)
{
	assert_memory_equal(a->identity, b->identity, 32);
	assert_memory_equal(a->noise, b->noise, 32);
	assert_true(a->seq == b->seq && a->issued_at == b->issued_at);
	assert_true(a->expires_at == b->expires_at);
	assert_true(a->modes == b->modes && a->auth == b->auth);
	assert_true(a->max_circuits == b->max_circuits && a->bandwidth_kbps == b->bandwidth_kbps);
	assert_true(a->load_permille == b->load_permille && a->uptime_s == b->uptime_s);
	assert_string_equal(a->version, b->version);
	assert_string_equal(a->country, b->country);
	assert_int_equal(a->has_location, b->has_location);
	assert_true(a->lat_e6 == b->lat_e6 && a->lon_e6 == b->lon_e6);
	assert_string_equal(a->family, b->family);
	assert_int_equal(a->n_endpoints, b->n_endpoints);
	for (int i = 0; i < a->n_endpoints; i++) {
		const struct desc_endpoint *x = &a->endpoints[i], *y = &b->endpoints[i];

		assert_int_equal(x->transport, y->transport);
		assert_true(x->transport > DESC_T_TLS || addr_equal(&x->addr, &y->addr));
		assert_string_equal(x->host, y->host);
		assert_string_equal(x->path, y->path);
		assert_int_equal(x->port, y->port);
	}
	assert_memory_equal(a->sig, b->sig, DESC_SIG_LEN);
}

/* Every field and eight endpoints of every transport survive; re-encoding gives the bytes. */
static void test_roundtrip(void **state)
{
	uint8_t p[DESC_MAX_LEN], again[DESC_MAX_LEN];
	struct descriptor d, back;
	int n;

	(void)state;
	make_desc(&d);
	d.n_endpoints = 8;
	set_addr(&d.endpoints[4], DESC_T_TLS, "203.0.113.9:8443");
	set_addr(&d.endpoints[5], DESC_T_UDP, "[2001:db8::8]:51821");
	set_addr(&d.endpoints[6], DESC_T_TLS, "[2001:db8::9]:443");
	set_named(&d.endpoints[7], DESC_T_WSS, "[2001:db8::a]", 8443, "/");
	n = desc_sign(&d, id.sk, p, sizeof(p));
	assert_true(n > 0 && n <= DESC_MAX_LEN);
	assert_memory_equal(p, DESC_MAGIC, 4);
	assert_int_equal(desc_decode(p, (size_t)n, &back), 0);
	assert_same(&d, &back);
	assert_int_equal(desc_encode(&back, again, sizeof(again)), n);
	assert_memory_equal(p, again, (size_t)n);
	/* Without location, country or family: the flag clears and the fields shrink. */
	d.has_location = false;
	d.country[0] = d.family[0] = '\0';
	d.lat_e6 = d.lon_e6 = 0;
	assert_int_equal(desc_sign(&d, id.sk, again, sizeof(again)), n - 8 - strlen("example-ops"));
	assert_int_equal(again[O_FLAGS], 0);
	assert_int_equal(desc_decode(again, (size_t)n - 8 - strlen("example-ops"), &back), 0);
	assert_same(&d, &back);
}

/* Signing checks its key and room; the output is deterministic (Ed25519). */
static void test_sign(void **state)
{
	uint8_t p[DESC_MAX_LEN], q[DESC_MAX_LEN];
	struct descriptor d;
	int n;

	(void)state;
	make_desc(&d);
	assert_int_equal(desc_sign(&d, other.sk, p, sizeof(p)), -EINVAL);
	n = desc_sign(&d, id.sk, p, sizeof(p));
	assert_true(n > 0);
	assert_int_equal(desc_sign(&d, id.sk, q, (size_t)n - 1), -ENOBUFS);
	assert_int_equal(desc_sign(&d, id.sk, q, (size_t)n), n);
	assert_memory_equal(p, q, (size_t)n);
	assert_int_equal(desc_encode(&d, q, (size_t)n - 1), -ENOBUFS);
}

/*
 * Eight WSS endpoints with the longest names cannot fit DESC_MAX_LEN: encoding refuses with
 * DESC_E_LONG. Trimmed one byte at a time, the first that fits is exactly DESC_MAX_LEN long,
 * decodes, and its JSON (strings of quotes, escaped twice over) fits in 4096 bytes.
 */
static void test_max_size(void **state)
{
	uint8_t p[DESC_MAX_LEN + 64];
	char json[4096];
	struct descriptor d, back;
	int n = 0, i, steps = 0;

	(void)state;
	make_desc(&d);
	memset(d.version, '"', DESC_MAX_STR - 1);
	memset(d.family, '\\', DESC_MAX_STR - 1);
	d.n_endpoints = DESC_MAX_ENDPOINTS;
	for (i = 1; i < DESC_MAX_ENDPOINTS; i++) {
		set_named(&d.endpoints[i], DESC_T_WSS, "", 65535, "/");
		memset(d.endpoints[i].host, 'h', DESC_MAX_STR - 1);
		memset(d.endpoints[i].path + 1, '"', DESC_MAX_STR - 2);
	}
	assert_int_equal(desc_sign(&d, id.sk, p, sizeof(p)), -DESC_E_LONG);
	for (i = 1; steps < 2000; steps++, i = i % (DESC_MAX_ENDPOINTS - 1) + 1) {
		char *s = steps % 2 ? d.endpoints[i].host : d.endpoints[i].path;

		s[strlen(s) - 1] = '\0';
		n = desc_sign(&d, id.sk, p, sizeof(p));
		if (n != -DESC_E_LONG)
			break;
	}
	assert_int_equal(n, DESC_MAX_LEN);
	assert_int_equal(desc_decode(p, (size_t)n, &back), 0);
	assert_int_equal(strlen(back.version), DESC_MAX_STR - 1);
	n = desc_to_json(&back, json, sizeof(json));
	assert_true(n > 0 && (size_t)n < sizeof(json));
	/* One byte more is refused, by the encoder and by the decoder. */
	strcat(d.endpoints[1].path, "x");
	assert_int_equal(desc_sign(&d, id.sk, p, sizeof(p)), -DESC_E_LONG);
	assert_int_equal(desc_decode(p, DESC_MAX_LEN + 1, &back), -DESC_E_LONG);
}

struct brk {
	const char *what;
	size_t at;      /* offset into make_desc's encoding */
	size_t n;       /* bytes replaced */
	const char *by; /* their new value */
	int err;
};

/*
 * One malformation at a time, re-signed so the signature is not what fails: each gives its
 * own error, the unbroken bytes decode (encode_valid), and what the encoder can be asked to
 * produce it refuses the same way (test_encode_refuses).
 */
static void test_each_error(void **state)
{
	uint8_t p[DESC_MAX_LEN + 1], q[DESC_MAX_LEN + 1], small_order[32] = {1};
	struct descriptor d, back;
	size_t len, i;
	struct offs o;

	(void)state;
	len = encode_valid(p, &d);
	o = offsets(&d);
	const struct brk brks[] = {
	    {"magic", 0, 1, "X", DESC_E_MAGIC},
	    {"version", O_VERSION, 1, "\x02", DESC_E_VERSION},
	    {"flags", O_FLAGS, 1, "\x03", DESC_E_FLAGS},
	    {"identity zero", O_IDENTITY, 32, (const char *)(uint8_t[32]){0}, DESC_E_KEY},
	    {"identity small order", O_IDENTITY, 32, (const char *)small_order, DESC_E_KEY},
	    {"noise zero", O_NOISE, 32, (const char *)(uint8_t[32]){0}, DESC_E_KEY},
	    {"expires = issued", O_EXPIRES, 8, "\0\0\0\0\x65\x53\xf1\x00", DESC_E_TIMES},
	    {"lifetime too long", O_EXPIRES, 8, "\0\0\0\0\x65\x5d\x2b\x81", DESC_E_TIMES},
	    {"no mode", O_MODES, 1, "\0", DESC_E_MODES},
	    {"circuits without a data mode", O_MODES, 1, "\x08", DESC_E_MODES},
	    {"unknown mode", O_MODES, 1, "\x12", DESC_E_MODES},
	    {"auth", O_AUTH, 1, "\x03", DESC_E_AUTH},
	    {"load", O_LOAD, 2, "\x03\xe9", DESC_E_LOAD},
	    {"version too long", O_VSTR, 1, "\x40", DESC_E_STRING},
	    {"version control char", O_VSTR + 1, 1, "\n", DESC_E_STRING},
	    {"version DEL", O_VSTR + 1, 1, "\x7f", DESC_E_STRING},
	    {"country lower case", o.country, 2, "de", DESC_E_COUNTRY},
	    {"country half", o.country, 2, "D\0", DESC_E_COUNTRY},
	    {"latitude", o.lat, 4, "\x05\x5d\x4a\x81", DESC_E_LOCATION},
	    {"longitude", o.lon, 4, "\xf5\x45\x6a\xff", DESC_E_LOCATION},
	    {"family high byte", o.family + 1, 1, "\x80", DESC_E_STRING},
	    {"no endpoint", o.n, 1, "\0", DESC_E_ENDPOINTS},
	    {"nine endpoints", o.n, 1, "\x09", DESC_E_ENDPOINTS},
	    {"first not UDP", o.ep[0], 1, "\x02", DESC_E_ENDPOINTS},
	    {"unknown transport", o.ep[1], 1, "\x06", DESC_E_TRANSPORT},
	    {"transport zero", o.ep[3], 1, "\0", DESC_E_TRANSPORT},
	    {"address family", o.ep[0] + 1, 1, "\x05", DESC_E_ADDR},
	    {"unspecified", o.ep[0] + 2, 4, "\0\0\0\0", DESC_E_ADDR},
	    {"multicast", o.ep[0] + 2, 4, "\xe0\0\0\x01", DESC_E_ADDR},
	    {"broadcast", o.ep[0] + 2, 4, "\xff\xff\xff\xff", DESC_E_ADDR},
	    {"port zero", o.ep[0] + 6, 2, "\0\0", DESC_E_ADDR},
	    {"v4-mapped", o.ep[3] + 2, 12, "\0\0\0\0\0\0\0\0\0\0\xff\xff", DESC_E_ADDR},
	    {"wss host", o.ep[1] + 2, 1, "_", DESC_E_ADDR},
	    {"wss port zero", o.ep[1] + 2 + 17, 2, "\0\0", DESC_E_ADDR},
	    {"wss path", o.ep[1] + 2 + 17 + 3, 1, "w", DESC_E_ADDR},
	    {"wss path space", o.ep[1] + 2 + 17 + 4, 1, " ", DESC_E_ADDR},
	    {"onion suffix", o.ep[2] + 2 + strlen(ONION) - 1, 1, "m", DESC_E_ADDR},
	    {"v6 endpoint family 4", o.ep[3] + 1, 1, "\x04", DESC_E_ADDR},
	    /* Two breaks: the earlier field wins. */
	    {"modes before load", O_MODES, 11, "\0\0\0\0\0\0\0\0\0\0\x09", DESC_E_MODES},
	};

	for (i = 0; i < sizeof(brks) / sizeof(brks[0]); i++) {
		memcpy(q, p, len);
		memcpy(q + brks[i].at, brks[i].by, brks[i].n);
		resign(q, len);
		if (desc_decode(q, len, &back) != -brks[i].err)
			fail_msg(
			    "%s: %d (%s), expected %s", brks[i].what, desc_decode(q, len, &back),
			    desc_err_name(desc_decode(q, len, &back)), desc_err_name(brks[i].err));
	}
	/* Not re-signed: any changed byte, or another identity's key, fails the signature. */
	memcpy(q, p, len);
	q[O_SEQ + 7] ^= 1;
	assert_int_equal(desc_decode(q, len, &back), -DESC_E_SIG);
	memcpy(q, p, len);
	memcpy(q + O_IDENTITY, other.pk, 32);
	assert_int_equal(desc_decode(q, len, &back), -DESC_E_SIG);
	memcpy(q, p, len);
	q[len - 1] ^= 0x80;
	assert_int_equal(desc_decode(q, len, &back), -DESC_E_SIG);
	/* A short one and a long one. */
	assert_int_equal(desc_decode(p, len - 1, &back), -DESC_E_SHORT);
	memcpy(q, p, len);
	q[len] = 0;
	assert_int_equal(desc_decode(q, len + 1, &back), -DESC_E_LONG);
	/* A descriptor another identity signed over the same claimed identity. */
	memcpy(d.identity, other.pk, 32);
	assert_true(desc_sign(&d, other.sk, q, sizeof(q)) > 0);
	memcpy(q + O_IDENTITY, id.pk, 32);
	assert_int_equal(desc_decode(q, len, &back), -DESC_E_SIG);
}

/* The encoder refuses what the decoder would, with the same error. */
static void test_encode_refuses(void **state)
{
	uint8_t p[DESC_MAX_LEN];
	struct descriptor d;

	(void)state;
#define REFUSES(change, err)                                                                       \
	do {                                                                                       \
		make_desc(&d);                                                                     \
		assert_true(desc_sign(&d, id.sk, p, sizeof(p)) > 0);                               \
		change;                                                                            \
		assert_int_equal(desc_sign(&d, id.sk, p, sizeof(p)), -(err));                      \
	} while (0)
	REFUSES(d.expires_at = d.issued_at, DESC_E_TIMES);
	REFUSES(d.expires_at = d.issued_at + DESC_MAX_LIFETIME_S + 1, DESC_E_TIMES);
	REFUSES(d.modes = 0, DESC_E_MODES);
	REFUSES(d.modes = DESC_MODE_CIRCUITS, DESC_E_MODES);
	REFUSES(d.auth = 9, DESC_E_AUTH);
	REFUSES(d.load_permille = 1001, DESC_E_LOAD);
	REFUSES(memset(d.version, 'v', sizeof(d.version)), DESC_E_STRING);
	REFUSES(strcpy(d.family, "tab\there"), DESC_E_STRING);
	REFUSES(strcpy(d.country, "DEU"), DESC_E_COUNTRY);
	REFUSES(strcpy(d.country, "D"), DESC_E_COUNTRY);
	REFUSES(d.lat_e6 = -90000001, DESC_E_LOCATION);
	REFUSES(d.lon_e6 = 180000001, DESC_E_LOCATION);
	REFUSES(d.n_endpoints = 0, DESC_E_ENDPOINTS);
	REFUSES(d.n_endpoints = DESC_MAX_ENDPOINTS + 1, DESC_E_ENDPOINTS);
	REFUSES(d.endpoints[0] = d.endpoints[3], DESC_E_ENDPOINTS);
	REFUSES(d.endpoints[1].transport = 0, DESC_E_TRANSPORT);
	REFUSES(memset(&d.endpoints[0].addr, 0, sizeof(struct addr)), DESC_E_ADDR);
	REFUSES(d.endpoints[1].port = 0, DESC_E_ADDR);
	REFUSES(strcpy(d.endpoints[2].host, "example.org"), DESC_E_ADDR);
	REFUSES(memset(d.noise, 0, 32), DESC_E_KEY);
#undef REFUSES
	/* Bounds at their limits are accepted. */
	make_desc(&d);
	d.expires_at = d.issued_at + DESC_MAX_LIFETIME_S;
	d.load_permille = 1000;
	d.lat_e6 = -90000000;
	d.lon_e6 = 180000000;
	d.modes = DESC_MODE_SEALED | DESC_MODE_CIRCUITS;
	d.auth = DESC_AUTH_TOKEN;
	assert_true(desc_sign(&d, id.sk, p, sizeof(p)) > 0);
}

/* Every prefix is DESC_E_SHORT, every flipped bit an error: never a crash, never accepted. */
static void test_truncate_and_flip(void **state)
{
	uint8_t p[DESC_MAX_LEN], q[DESC_MAX_LEN];
	struct descriptor d, back;
	size_t len = encode_valid(p, &d);
	int r;

	(void)state;
	for (size_t n = 0; n < len; n++)
		assert_int_equal(desc_decode(p, n, &back), -DESC_E_SHORT);
	for (size_t i = 0; i < len * 8; i++) {
		memcpy(q, p, len);
		q[i / 8] ^= (uint8_t)(1u << (i % 8));
		r = desc_decode(q, len, &back);
		assert_true(r < 0 && r > -DESC_E_MAX);
		if (i / 8 >= len - DESC_SIG_LEN)
			assert_int_equal(r, -DESC_E_SIG);
	}
}

static void test_check_time(void **state)
{
	struct descriptor d;

	(void)state;
	make_desc(&d);
	assert_int_equal(desc_check_time(&d, T0), 0);
	assert_int_equal(desc_check_time(&d, T0 + 86399), 0);
	assert_int_equal(desc_check_time(&d, T0 + 86400), -DESC_E_EXPIRED);
	assert_int_equal(desc_check_time(&d, UINT64_MAX), -DESC_E_EXPIRED);
	assert_int_equal(desc_check_time(&d, T0 - DESC_MAX_SKEW_S), 0);
	assert_int_equal(desc_check_time(&d, T0 - DESC_MAX_SKEW_S - 1), -DESC_E_FUTURE);
	assert_int_equal(desc_check_time(&d, 0), -DESC_E_FUTURE);
}

static void test_err_names(void **state)
{
	(void)state;
	for (int e = 1; e < DESC_E_MAX; e++) {
		assert_string_not_equal(desc_err_name(e), "unknown");
		assert_string_equal(desc_err_name(-e), desc_err_name(e));
		for (int f = 1; f < e; f++)
			assert_string_not_equal(desc_err_name(e), desc_err_name(f));
	}
	assert_string_equal(desc_err_name(-DESC_E_SIG), "bad-signature");
	assert_string_equal(desc_err_name(0), "unknown");
	assert_string_equal(desc_err_name(DESC_E_MAX), "unknown");
	assert_string_equal(desc_err_name(-ENOBUFS), "unknown");
}

/* Braces and brackets balance outside strings, strings close, no raw control characters. */
static void assert_json_shape(const char *s)
{
	int depth = 0;
	bool in_str = false;

	assert_int_equal(s[0], '{');
	for (; *s; s++) {
		assert_true((unsigned char)*s >= 0x20 && (unsigned char)*s < 0x7f);
		if (in_str) {
			if (*s == '\\')
				s++;
			else if (*s == '"')
				in_str = false;
			continue;
		}
		if (*s == '"')
			in_str = true;
		else if (*s == '{' || *s == '[')
			depth++;
		else if (*s == '}' || *s == ']')
			assert_true(--depth >= 0);
		if (depth == 0)
			assert_int_equal(s[1], '\0');
	}
	assert_false(in_str);
	assert_int_equal(depth, 0);
}

static void test_json_text(void **state)
{
	uint8_t p[DESC_MAX_LEN];
	char out[4096], modes[4096], b64[KEY_B64_STRLEN], want[128];
	struct descriptor d, back;
	size_t len;
	int n, m;

	(void)state;
	len = encode_valid(p, &d);
	assert_int_equal(desc_decode(p, len, &back), 0);
	n = desc_to_json(&back, out, sizeof(out));
	assert_true(n > 0 && (size_t)n == strlen(out));
	assert_json_shape(out);
	key_to_base64(b64, id.pk);
	snprintf(want, sizeof(want), "{\"identity\":\"%s\",\"noise_key\":\"", b64);
	assert_non_null(strstr(out, want));
	assert_non_null(strstr(out, "\"seq\":7,\"issued_at\":1700000000,"));
	assert_non_null(strstr(out, "\"modes\":[\"direct\",\"sealed\"],\"auth\":\"keys\""));
	assert_non_null(strstr(out, "\"location\":{\"lat\":52.520008,\"lon\":-13.404954}"));
	assert_non_null(
	    strstr(out, "{\"transport\":\"udp\",\"host\":\"198.51.100.7\",\"port\":51821}"));
	assert_non_null(strstr(out, "\"host\":\"2001:db8::7\",\"port\":443}"));
	assert_non_null(strstr(out, "\"transport\":\"wss\",\"host\":\"relay.example.org\",\"port\":"
	                            "443,\"path\":\"/wgrelay\"}"));
	assert_non_null(strstr(out, "\"signature\":\""));
	/* Strings escaped; absent ones null. A struct not from the decoder is escaped too. */
	strcpy(back.family, "a\"b\\c");
	back.version[0] = '\n';
	back.country[0] = '\0';
	back.has_location = false;
	n = desc_to_json(&back, out, sizeof(out));
	assert_true(n > 0);
	assert_json_shape(out);
	assert_non_null(strstr(out, "\"family\":\"a\\\"b\\\\c\""));
	assert_non_null(strstr(out, "\"version\":\"\\u000a"));
	assert_non_null(strstr(out, "\"country\":null,\"location\":null"));
	/* Short room: -ENOBUFS at every size below the need, the string still terminated. */
	for (m = 0; m <= n; m++) {
		memset(out, 'x', sizeof(out));
		assert_int_equal(desc_to_json(&back, out, (size_t)m), -ENOBUFS);
		if (m > 0)
			assert_true(strlen(out) < (size_t)m);
	}
	assert_int_equal(desc_to_json(&back, out, (size_t)n + 1), n);

	n = desc_to_text(&d, out, sizeof(out));
	assert_true(n > 0 && (size_t)n == strlen(out));
	assert_non_null(strstr(out, "identity   "));
	assert_non_null(strstr(out, b64));
	assert_non_null(strstr(out, "issued     1700000000 (2023-11-14 22:13:20Z)\n"));
	assert_non_null(strstr(out, "location   52.520008, -13.404954\n"));
	assert_non_null(strstr(out, "modes      direct, sealed\n"));
	/* The circuits bit is shown after the data modes, in both forms. */
	back = d;
	back.modes = DESC_MODE_SEALED | DESC_MODE_CIRCUITS;
	assert_true(desc_to_text(&back, modes, sizeof(modes)) > 0);
	assert_non_null(strstr(modes, "modes      sealed, circuits\n"));
	assert_true(desc_to_json(&back, modes, sizeof(modes)) > 0);
	assert_non_null(strstr(modes, "\"modes\":[\"sealed\",\"circuits\"],"));
	assert_non_null(strstr(out, "endpoint   wss wss://relay.example.org:443/wgrelay\n"));
	assert_non_null(strstr(out, "endpoint   onion " ONION ":443\n"));
	assert_non_null(strstr(out, "endpoint   tcp [2001:db8::7]:443\n"));
	assert_int_equal(desc_to_text(&d, out, (size_t)n), -ENOBUFS);
	strcpy(back.family, "bell\a");
	assert_true(desc_to_text(&back, out, sizeof(out)) > 0);
	assert_non_null(strstr(out, "family     bell?\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip),      cmocka_unit_test(test_sign),
	    cmocka_unit_test(test_max_size),       cmocka_unit_test(test_each_error),
	    cmocka_unit_test(test_encode_refuses), cmocka_unit_test(test_truncate_and_flip),
	    cmocka_unit_test(test_check_time),     cmocka_unit_test(test_err_names),
	    cmocka_unit_test(test_json_text),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
