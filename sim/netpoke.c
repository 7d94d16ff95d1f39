/*
 * netpoke.c: wgr-netpoke, a would-be relay for the relay-network scenario
 * (tests/e2e/19_relay_network.sh). It makes a link with a relay as a relay does (Noise IK from
 * a socket of its own to the relay's control port, PROTOCOL.md §10.2), sends HELLO with a
 * descriptor it builds and signs (§9), and prints what the relay answered: its own HELLO (the
 * link is a relay link) or ERROR(bad-hello) with the reason. One fault at a time makes the
 * descriptor one the relay must refuse:
 *   --forged          the signature does not verify (one bit of it flipped)
 *   --expired         issued two hours ago, expired one hour ago (correctly signed)
 *   --older           a seq below the one this identity last published (--identity needed):
 *                     the HELLO verifies, so the link comes up, but the store keeps the newer
 *   --noise-mismatch  the descriptor names another Noise key than the handshake's
 * With --identity FILE the Ed25519 identity is kept in FILE (created if missing), its Noise
 * key in FILE.key and the last seq published in FILE.seq, so a later run can be "older".
 * Without it every run is a new relay. The link is closed with ERROR(shutdown) at the end.
 * Test tool only: built, never installed.
 *
 *   wgr-netpoke [--identity FILE] [--forged|--expired|--older|--noise-mismatch]
 *               [--lifetime SECONDS] [--timeout MS] RELAY:PORT RELAYPUB
 * Exit: 0 the relay answered (HELLO or ERROR), 1 no answer or a local failure, 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "addr.h"
#include "conf.h"
#include "descriptor.h"
#include "file.h"
#include "frame.h"
#include "handshake.h"
#include "identity.h"
#include "key.h"
#include "proto.h"

#define NETPOKE_HS_TRIES 3
#define NETPOKE_HS_MS    2000

enum netpoke_fault { NP_VALID, NP_FORGED, NP_EXPIRED, NP_OLDER, NP_NOISE };

struct netpoke {
	int fd;
	struct addr relay, self;
	uint8_t relay_pub[32], priv[32], pub[32];
	struct identity id;
	struct hs_client hs;
	struct link_keys keys;
	unsigned other; /* relay messages other than the answer (gossip, heartbeats) */
};

static uint64_t netpoke_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Milliseconds left until end (monotonic), 0 once it passed. */
static int netpoke_left(uint64_t end)
{
	uint64_t now = netpoke_ms();

	return now >= end ? 0 : (int)(end - now);
}

/* One datagram from the relay within ms; its length, 0 on timeout, -errno. */
static ssize_t netpoke_recv(struct netpoke *np, uint8_t *buf, size_t cap, int ms)
{
	struct pollfd p = {.fd = np->fd, .events = POLLIN};
	int k = poll(&p, 1, ms);

	if (k <= 0)
		return k < 0 ? -errno : 0;
	ssize_t n = recv(np->fd, buf, cap, 0);
	return n < 0 ? -errno : n;
}

/* The seq FILE.seq holds (0 when there is none); -errno when it is there but unreadable. */
static int netpoke_last_seq(const char *path, uint64_t *seq)
{
	char *text = NULL, err[256];
	size_t len = 0;
	int e = file_read_all(path, 0, 64, &text, &len, err, sizeof(err));

	*seq = 0;
	if (e == -ENOENT)
		return 0;
	if (e < 0)
		return e;
	while (len && (text[len - 1] == '\n' || text[len - 1] == ' '))
		text[--len] = '\0';
	e = conf_parse_u64(text, 1, UINT64_MAX, seq);
	free(text);
	return e;
}

static int netpoke_save_seq(const char *path, uint64_t seq)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	fprintf(f, "%llu\n", (unsigned long long)seq);
	return fclose(f) == 0 ? 0 : -errno;
}

/* The identity and Noise key: from --identity's files, or new for this run. */
static int netpoke_keys(struct netpoke *np, const char *idpath)
{
	char err[256], kpath[4200];
	uint8_t seed[IDENTITY_SEED_LEN];

	if (!idpath) {
		randombytes_buf(seed, sizeof(seed));
		identity_from_seed(&np->id, seed);
		sodium_memzero(seed, sizeof(seed));
		key_generate_private(np->priv);
	} else {
		snprintf(kpath, sizeof(kpath), "%s.key", idpath);
		if (identity_load_or_create(&np->id, idpath, NULL, err, sizeof(err)) < 0) {
			fprintf(stderr, "wgr-netpoke: %s\n", err);
			return -EINVAL;
		}
		if (key_load_or_create_err(np->priv, kpath, NULL, err, sizeof(err)) < 0) {
			fprintf(stderr, "wgr-netpoke: %s\n", err);
			return -EINVAL;
		}
	}
	key_public_from_private(np->pub, np->priv);
	return 0;
}

/*
 * Build and sign the descriptor with the fault asked for: its length, or -errno. *seq is the
 * seq it carries.
 */
static int netpoke_desc(struct netpoke *np, enum netpoke_fault fault, uint64_t last,
                        uint64_t lifetime, uint8_t *out, size_t cap, uint64_t *seq)
{
	struct descriptor d = {0};
	uint64_t now = (uint64_t)time(NULL);
	int len;

	memcpy(d.identity, np->id.pk, 32);
	memcpy(d.noise, np->pub, 32);
	if (fault == NP_NOISE)
		randombytes_buf(d.noise, 32);
	d.seq = now > last ? now : last + 1;
	if (fault == NP_OLDER)
		d.seq = last - 1;
	d.issued_at = now;
	d.expires_at = now + lifetime;
	if (fault == NP_EXPIRED) {
		d.issued_at = now - 7200;
		d.expires_at = now - 3600;
	}
	d.modes = DESC_MODE_DIRECT | DESC_MODE_SEALED;
	d.auth = DESC_AUTH_OPEN;
	d.max_circuits = 16;
	snprintf(d.version, sizeof(d.version), "netpoke");
	d.n_endpoints = 1;
	d.endpoints[0].transport = DESC_T_UDP;
	d.endpoints[0].addr = np->self;
	len = desc_sign(&d, np->id.sk, out, cap);
	if (len < 0)
		return len;
	if (fault == NP_FORGED)
		out[len - 1] ^= 0x01; /* the signature is the last 64 bytes */
	*seq = d.seq;
	return len;
}

/* Handshake with the relay (HS_INIT, resent; a COOKIE answered): 0 and np->keys, or -errno. */
static int netpoke_handshake(struct netpoke *np)
{
	uint8_t init[PROTO_HS_INIT_LEN], buf[2048];
	struct addr observed;

	hs_client_init(&np->hs, np->priv, np->relay_pub);
	for (int t = 0; t < NETPOKE_HS_TRIES; t++) {
		uint64_t end = netpoke_ms() + NETPOKE_HS_MS;

		hs_client_build_init(&np->hs, init, netpoke_ms());
		if (send(np->fd, init, sizeof(init), 0) < 0)
			return -errno;
		for (ssize_t n; (n = netpoke_recv(np, buf, sizeof(buf), netpoke_left(end))) > 0;) {
			int type = frame_check(buf, (size_t)n);

			if (type == PROTO_HS_RESP &&
			    hs_client_consume_resp(&np->hs, buf, (size_t)n, &np->keys, &observed) ==
			        0)
				return 0;
			if (type == PROTO_COOKIE &&
			    hs_client_consume_cookie(&np->hs, buf, (size_t)n, netpoke_ms()) == 0)
				break; /* the next initiation carries mac2 */
		}
	}
	return -ETIMEDOUT;
}

/* Seal one control message on the link's keys and send it: 0 or -errno. */
static int netpoke_send(struct netpoke *np, const uint8_t *pt, size_t len)
{
	uint8_t fr[PROTO_MAX_CTRL_PLAIN + PROTO_SEALED_OVERHEAD];
	int f = frame_seal_ctrl(fr, sizeof(fr), np->keys.remote_index, np->keys.ctrl_send_counter++,
	                        np->keys.ctrl_send, pt, len);

	if (f < 0)
		return f;
	return send(np->fd, fr, (size_t)f, 0) < 0 ? -errno : 0;
}

/*
 * Wait for the relay's answer to the HELLO and print it: 1 for its HELLO (accepted), 2 for an
 * ERROR (refused), 0 for nothing within ms.
 */
static int netpoke_answer(struct netpoke *np, int ms)
{
	uint8_t buf[2048], pt[PROTO_MAX_CTRL_PLAIN];
	uint64_t end = netpoke_ms() + (uint64_t)ms;
	char b64[KEY_B64_STRLEN];

	for (ssize_t n; (n = netpoke_recv(np, buf, sizeof(buf), netpoke_left(end))) > 0;) {
		const uint8_t *dp;
		struct descriptor d;
		struct ctrl_msg m;
		size_t dl;
		int k;

		if (frame_check(buf, (size_t)n) != PROTO_CTRL ||
		    (k = frame_open_ctrl(buf, (size_t)n, np->keys.ctrl_recv, &np->keys.ctrl_replay,
		                         pt, sizeof(pt))) <= 0) {
			np->other++;
			continue;
		}
		if (pt[0] == CTRL_HELLO) {
			if (ctrl_decode_desc_msg(CTRL_HELLO, pt, (size_t)k, &dp, &dl) == 0 &&
			    desc_decode(dp, dl, &d) == 0) {
				key_to_base64(b64, d.identity);
				printf("answer: HELLO identity %s seq %llu\n", b64,
				       (unsigned long long)d.seq);
			} else {
				printf("answer: HELLO (its descriptor does not decode)\n");
			}
			return 1;
		}
		if (pt[0] == CTRL_ERROR && ctrl_decode(pt, (size_t)k, &m) == 0) {
			printf("answer: ERROR %s: %s\n", proto_error_name(m.code), m.text);
			return 2;
		}
		np->other++;
	}
	printf("answer: none\n");
	return 0;
}

static int netpoke_usage(void)
{
	fprintf(stderr, "usage: wgr-netpoke [--identity FILE] "
	                "[--forged|--expired|--older|--noise-mismatch] [--lifetime SECONDS] "
	                "[--timeout MS] RELAY:PORT RELAYPUB\n");
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"identity", required_argument, NULL, 'i'}, {"forged", no_argument, NULL, 'f'},
	    {"expired", no_argument, NULL, 'e'},        {"older", no_argument, NULL, 'o'},
	    {"noise-mismatch", no_argument, NULL, 'n'}, {"lifetime", required_argument, NULL, 'l'},
	    {"timeout", required_argument, NULL, 't'},  {NULL, 0, NULL, 0},
	};
	static const char *const fault_names[] = {"valid", "forged", "expired", "older",
	                                          "noise-mismatch"};
	struct netpoke np = {.fd = -1};
	enum netpoke_fault fault = NP_VALID;
	const char *idpath = NULL;
	char seqpath[4200], b64[KEY_B64_STRLEN], a[ADDR_STRLEN];
	uint8_t desc[DESC_MAX_LEN], pt[PROTO_MAX_CTRL_PLAIN];
	uint64_t lifetime = 3600, timeout = 3000, last = 0, seq = 0;
	socklen_t slen = sizeof(np.self.in6);
	struct ctrl_msg bye = {.type = CTRL_ERROR, .code = PROTO_ERR_SHUTDOWN};
	int ch, len, rc = 1;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'i':
			idpath = optarg;
			break;
		case 'f':
		case 'e':
		case 'o':
		case 'n':
			if (fault != NP_VALID)
				return netpoke_usage(); /* one fault at a time */
			fault = ch == 'f'   ? NP_FORGED
			        : ch == 'e' ? NP_EXPIRED
			        : ch == 'o' ? NP_OLDER
			                    : NP_NOISE;
			break;
		case 'l':
			if (conf_parse_u64(optarg, 60, DESC_MAX_LIFETIME_S, &lifetime) < 0)
				return netpoke_usage();
			break;
		case 't':
			if (conf_parse_u64(optarg, 100, 60000, &timeout) < 0)
				return netpoke_usage();
			break;
		default:
			return netpoke_usage();
		}
	}
	if (argc - optind != 2 || addr_parse(&np.relay, argv[optind], PROTO_DEFAULT_PORT) < 0 ||
	    key_from_base64(np.relay_pub, argv[optind + 1]) < 0 || (fault == NP_OLDER && !idpath))
		return netpoke_usage();
	if (sodium_init() < 0 || netpoke_keys(&np, idpath) < 0)
		return 1;
	if (idpath) {
		snprintf(seqpath, sizeof(seqpath), "%s.seq", idpath);
		if (netpoke_last_seq(seqpath, &last) < 0) {
			fprintf(stderr, "wgr-netpoke: %s: not a seq\n", seqpath);
			goto out;
		}
		if (fault == NP_OLDER && last < 2) {
			fprintf(stderr, "wgr-netpoke: --older: %s published nothing yet\n", idpath);
			goto out;
		}
	}
	/* A connected socket: the relay's answers only, and our address for the descriptor. */
	np.fd = socket(addr_family(&np.relay), SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (np.fd < 0 || connect(np.fd, &np.relay.sa, np.relay.len) < 0 ||
	    getsockname(np.fd, &np.self.sa, &slen) < 0) {
		perror("wgr-netpoke: socket");
		goto out;
	}
	np.self.len = slen;
	len = netpoke_desc(&np, fault, last, lifetime, desc, sizeof(desc), &seq);
	if (len < 0) {
		fprintf(stderr, "wgr-netpoke: cannot sign: %s\n", desc_err_name(len));
		goto out;
	}
	key_to_base64(b64, np.id.pk);
	printf("sent: %s HELLO from %s identity %s seq %llu to %s\n", fault_names[fault],
	       addr_format(&np.self, a, sizeof(a)), b64, (unsigned long long)seq, argv[optind]);
	if (netpoke_handshake(&np) < 0) {
		printf("answer: none (no handshake)\n");
		goto out;
	}
	int k = ctrl_encode_desc_msg(CTRL_HELLO, desc, (size_t)len, pt, sizeof(pt));
	if (k < 0 || netpoke_send(&np, pt, (size_t)k) < 0) {
		fprintf(stderr, "wgr-netpoke: cannot send the HELLO\n");
		goto out;
	}
	int answer = netpoke_answer(&np, (int)timeout);
	rc = answer ? 0 : 1;
	if (np.other)
		printf("other: %u more messages from the relay\n", np.other);
	/* A valid seq is remembered, so that an --older run can go below it. */
	if (idpath && fault == NP_VALID && (k = netpoke_save_seq(seqpath, seq)) < 0)
		fprintf(stderr, "wgr-netpoke: %s: %s\n", seqpath, strerror(-k));
	/* An accepted link is left as a relay leaves, so the relay does not keep it. */
	snprintf(bye.text, sizeof(bye.text), "netpoke done");
	if (answer == 1 && (k = ctrl_encode(&bye, pt, sizeof(pt))) > 0)
		netpoke_send(&np, pt, (size_t)k);
out:
	if (np.fd >= 0)
		close(np.fd);
	identity_wipe(&np.id);
	sodium_memzero(np.priv, sizeof(np.priv));
	link_keys_clear(&np.keys);
	return rc;
}
