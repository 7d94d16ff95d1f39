/*
 * state.c: direct-mode sessions survive a restart or an upgrade of the relay. On SIGTERM the
 * sessions are written next to the identity key (KEYFILE.sessions, mode 0600, through a
 * temporary file and rename); at start they are read back on the same ports with their
 * confirmed member addresses, so WireGuard traffic flows again before any helper reconnects,
 * and a helper that does reconnect rebinds onto its old membership by key. Sealed sessions
 * need live links and are not kept. One line per session or member:
 *   session SIDHEX PORT
 *   member SIDHEX CLIENTKEY HANDLEHEX LINKIP CONFADDR|-
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "conf.h"
#include "file.h"
#include "key.h"
#include "relay.h"

#define STATE_MAX_SESSIONS 100000

static void state_path(const struct relay *r, char *out, size_t len)
{
	snprintf(out, len, "%s.sessions", r->cfg.key_file);
}

int state_save(struct relay *r)
{
	char path[600], tmp[640], hex[33], key[KEY_B64_STRLEN], a[ADDR_STRLEN], c[ADDR_STRLEN];
	size_t pos = 0, n = 0;
	struct session *s;
	FILE *f;
	int fd, err;

	state_path(r, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	/* O_EXCL under a random name: nothing planted at the temporary path is followed. */
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0 || fchmod(fd, 0600) < 0 || !(f = fdopen(fd, "w"))) {
		int e = errno;

		log_warn("state: %s", fd < 0 ? path : tmp);
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		return -e;
	}
	while ((s = table_next(&r->sessions, &pos))) {
		if (s->mode != PROTO_MODE_DIRECT)
			continue;
		sodium_bin2hex(hex, sizeof(hex), s->sid, 16);
		fprintf(f, "session %s %u\n", hex, s->port);
		for (int i = 0; i < s->n; i++) {
			const struct member *m = &s->m[i];

			key_to_base64(key, m->client_pub);
			fprintf(f, "member %s %s %08x %s %s\n", hex, key, m->handle,
			        addr_format_ip(&m->link_ip, a, sizeof(a)),
			        m->has_conf ? addr_format(&m->conf, c, sizeof(c)) : "-");
		}
		n++;
	}
	/* rename(2) replaces the name itself: a link or a FIFO planted at path is not followed. */
	errno = 0;
	err = fflush(f) != 0 || fsync(fileno(f)) < 0 ? (errno ? errno : EIO) : 0;
	if (fclose(f) != 0 && !err)
		err = errno ? errno : EIO;
	if (!err && rename(tmp, path) < 0)
		err = errno;
	if (err) {
		errno = err;
		log_warn("state: writing %s", path);
		unlink(tmp);
		return -err;
	}
	(void)file_sync_dir(path);
	log_info("state: %zu direct session(s) saved to %s", n, path);
	return 0;
}

/* One "member" line onto its session; false (line skipped) when anything does not parse. */
static bool state_member(struct relay *r, struct session *s, char **tok, int ntok)
{
	struct member *m;
	uint64_t handle;

	if (ntok != 6 || s->n == 2)
		return false;
	m = &s->m[s->n];
	memset(m, 0, sizeof(*m));
	if (key_from_base64(m->client_pub, tok[2]) < 0 || strlen(tok[3]) != 8 ||
	    strspn(tok[3], "0123456789abcdef") != 8 || addr_parse(&m->link_ip, tok[4], 1) < 0)
		return false;
	handle = strtoull(tok[3], NULL, 16);
	m->handle = (uint32_t)handle;
	if (!m->handle || table_get(&r->handles, m->handle))
		return false;
	if (strcmp(tok[5], "-")) {
		if (addr_parse(&m->conf, tok[5], 0) < 0)
			return false;
		m->has_conf = m->announced = true;
		m->cand = m->conf;
		m->has_cand = true;
	}
	if (session_restore_member(r, s, m) != 0) {
		memset(m, 0, sizeof(*m));
		r->restore_refused++;
		return false;
	}
	return true;
}

int state_load(struct relay *r)
{
	char path[600], line[512], err[700];
	struct session *s = NULL;
	unsigned lineno = 0, bad = 0;
	size_t n = 0;
	FILE *f;
	int fd;

	state_path(r, path, sizeof(path));
	/* The relay's own file: a regular file, never a link (key.h says why), never a FIFO. */
	fd = file_open_regular(path, O_RDONLY | O_NOFOLLOW, 0, NULL, err, sizeof(err));
	if (fd == -ENOENT)
		return 0;
	if (fd < 0 || !(f = fdopen(fd, "r"))) {
		int e = fd < 0 ? -fd : errno;

		if (fd >= 0) {
			close(fd);
			snprintf(err, sizeof(err), "%s: %s", path, strerror(e));
		}
		log_warnx("state: %s; no sessions restored", err);
		return -e;
	}
	while (fgets(line, sizeof(line), f) && n < STATE_MAX_SESSIONS) {
		char *tok[8], *save = NULL, *t;
		uint8_t sid[16];
		uint64_t port;
		int ntok = 0;

		lineno++;
		for (t = strtok_r(line, " \n", &save); t && ntok < 8;
		     t = strtok_r(NULL, " \n", &save))
			tok[ntok++] = t;
		if (ntok < 2 || sodium_hex2bin(sid, 16, tok[1], strlen(tok[1]), NULL, NULL, NULL) ||
		    strlen(tok[1]) != 32) {
			bad++;
			continue;
		}
		if (!strcmp(tok[0], "member")) {
			if (!s || memcmp(s->sid, sid, 16) || !state_member(r, s, tok, ntok))
				bad++;
			continue;
		}
		if (strcmp(tok[0], "session") || ntok != 3 ||
		    conf_parse_u64(tok[2], r->cfg.port_lo, r->cfg.port_hi, &port) < 0 ||
		    session_find(r, sid)) {
			bad++;
			continue;
		}
		s = calloc(1, sizeof(*s));
		if (!s)
			break;
		s->relay = r;
		memcpy(s->sid, sid, 16);
		s->mode = PROTO_MODE_DIRECT;
		s->fd = -1;
		s->created_ms = s->last_rx_ms = ev_now_ms(r->loop);
		s->limited = true;
		if (direct_open_port(r, s, (uint16_t)port) < 0) {
			free(s);
			s = NULL;
			bad++;
			continue;
		}
		table_put(&r->sessions, table_key16(&r->sessions, s->sid, 16), s);
		n++;
	}
	fclose(f);
	/* Pair what came back with two members; drop what came back with none. */
	{
		size_t pos = 0;

		while ((s = table_next(&r->sessions, &pos))) {
			if (s->n == 0)
				session_close(r, s, "restored without members");
			else if (s->n == 2 && !s->circuit && session_restore_circuit(r, s)) {
				r->restore_refused += 2;
				session_close(r, s, "restored over the circuit limits");
			}
		}
	}
	if (r->restore_refused)
		log_warnx("state: %llu member(s) over the limits were not restored",
		          (unsigned long long)r->restore_refused);
	if (bad)
		log_warnx("state: %s: %u line(s) could not be used and were skipped", path, bad);
	log_info("state: %zu direct session(s) restored from %s", n, path);
	unlink(path);
	return 0;
}
