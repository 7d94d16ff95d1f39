/* token.c: token-mode credentials from a command or a shared secret (token.h). */
#include "token.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *token_strerror(int e)
{
	switch (e) {
	case 0:
		return "ok";
	case TOKEN_E_FORM:
		return "output is not EXPIRY:NAME:MAC (too few colons)";
	case TOKEN_E_EXPIRY:
		return "EXPIRY is not a decimal number of Unix seconds";
	case TOKEN_E_EXPIRED:
		return "EXPIRY is in the past";
	case TOKEN_E_NAME:
		return "NAME is empty or not printable ASCII";
	case TOKEN_E_MAC:
		return "MAC is not standard base64 of 32 bytes";
	case TOKEN_E_LONG:
		return "EXPIRY:NAME or MAC is longer than 128 characters";
	case TOKEN_E_EMPTY:
		return "no output";
	case TOKEN_E_EXIT:
		return "the command failed (non-zero exit or a signal)";
	case TOKEN_E_SECRET:
		return "the secret is shorter than 16 characters";
	case TOKEN_E_NONE:
		return "no token command or secret configured";
	case -ETIMEDOUT:
		return "the command did not finish within 5 s (killed)";
	case -E2BIG:
		return "the command printed more than 4096 bytes (killed)";
	default:
		return e < 0 && e > -4096 ? strerror(-e) : "unknown error";
	}
}

static bool printable(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

int token_parse(const char *out, size_t len, uint64_t now, struct token_cred *c)
{
	const char *nl = memchr(out, '\n', len), *first, *last;
	size_t n = nl ? (size_t)(nl - out) : len, ulen, plen;
	uint8_t mac[crypto_auth_hmacsha256_BYTES + 2];
	size_t maclen = 0;
	uint64_t expiry = 0;

	memset(c, 0, sizeof(*c));
	if (n && out[n - 1] == '\r')
		n--;
	if (n == 0)
		return TOKEN_E_EMPTY;
	first = memchr(out, ':', n);
	last = first ? memrchr(out, ':', n) : NULL;
	if (!first || last == first)
		return TOKEN_E_FORM;
	ulen = (size_t)(last - out);
	plen = n - ulen - 1;
	if (ulen > CTRL_CRED_MAX || plen > CTRL_CRED_MAX)
		return TOKEN_E_LONG;
	if (first == out || first - out > 20)
		return TOKEN_E_EXPIRY;
	for (const char *p = out; p < first; p++) {
		uint64_t d = (uint64_t)(*p - '0');
		if (*p < '0' || *p > '9' || expiry > (UINT64_MAX - d) / 10)
			return TOKEN_E_EXPIRY;
		expiry = expiry * 10 + d;
	}
	if (expiry <= now)
		return TOKEN_E_EXPIRED;
	if (last == first + 1 || !printable(first + 1, (size_t)(last - first - 1)))
		return TOKEN_E_NAME;
	if (plen == 0 ||
	    sodium_base642bin(mac, sizeof(mac), last + 1, plen, NULL, &maclen, NULL,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    maclen != crypto_auth_hmacsha256_BYTES)
		return TOKEN_E_MAC;
	memcpy(c->user, out, ulen);
	memcpy(c->password, last + 1, plen);
	c->expiry = expiry;
	return 0;
}

int token_mint(const char *secret, const char *name, uint64_t now, uint64_t lifetime,
               struct token_cred *c)
{
	uint8_t mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state st;
	size_t nlen = strlen(name);
	int n;

	memset(c, 0, sizeof(*c));
	if (strlen(secret) < TOKEN_MIN_SECRET)
		return TOKEN_E_SECRET;
	if (nlen == 0 || !printable(name, nlen))
		return TOKEN_E_NAME;
	c->expiry = now + lifetime;
	n = snprintf(c->user, sizeof(c->user), "%llu:%s", (unsigned long long)c->expiry, name);
	if (n < 0 || (size_t)n > CTRL_CRED_MAX) {
		memset(c, 0, sizeof(*c));
		return TOKEN_E_LONG;
	}
	/* As wgrelayd's admit_token_verify: the secret's bytes are the key, user the message. */
	crypto_auth_hmacsha256_init(&st, (const uint8_t *)secret, strlen(secret));
	crypto_auth_hmacsha256_update(&st, (const uint8_t *)c->user, (size_t)n);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_bin2base64(c->password, sizeof(c->password), mac, sizeof(mac),
	                  sodium_base64_VARIANT_ORIGINAL);
	sodium_memzero(&st, sizeof(st));
	sodium_memzero(mac, sizeof(mac));
	return 0;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The child: its own process group, stdin /dev/null, stdout the pipe, default signals. */
static void child(const char *cmd, int wfd)
{
	sigset_t none;
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

	setpgid(0, 0);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(wfd, STDOUT_FILENO) < 0)
		_exit(126);
	execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
	_exit(127);
}

int token_run(const char *cmd, int timeout_ms, char *out, size_t cap, size_t *len)
{
	int64_t deadline = mono_ms() + timeout_ms;
	int fd[2], status = 0, rc = 0;
	bool eof = false;
	pid_t pid;

	*len = 0;
	if (pipe2(fd, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		rc = -errno;
		close(fd[0]);
		close(fd[1]);
		return rc;
	}
	if (pid == 0)
		child(cmd, fd[1]);
	setpgid(pid, pid); /* also here: no window where a kill of the group misses it */
	close(fd[1]);
	while (!eof) {
		int64_t left = deadline - mono_ms();
		char buf[512];
		if (left <= 0) {
			rc = -ETIMEDOUT;
			break;
		}
		struct pollfd p = {.fd = fd[0], .events = POLLIN};
		int k = poll(&p, 1, (int)left);
		if (k < 0 && errno != EINTR) {
			rc = -errno;
			break;
		}
		if (k <= 0)
			continue;
		ssize_t n = read(fd[0], buf, sizeof(buf));
		if (n < 0 && errno != EINTR && errno != EAGAIN) {
			rc = -errno;
			break;
		}
		if (n == 0)
			eof = true;
		if (n <= 0)
			continue;
		if (*len + (size_t)n > cap) {
			rc = -E2BIG;
			break;
		}
		memcpy(out + *len, buf, (size_t)n);
		*len += (size_t)n;
	}
	close(fd[0]);
	/* Output closed: the shell should be exiting; it still has until the deadline. */
	while (rc == 0) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			rc = -errno;
			break;
		}
		if (mono_ms() >= deadline)
			rc = -ETIMEDOUT;
		else
			usleep(10000);
	}
	/* Whatever is left of the group goes: a timeout, too much output, or stray children. */
	kill(-pid, SIGKILL);
	if (rc != 0)
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	if (rc == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		rc = TOKEN_E_EXIT;
	return rc;
}

int token_fetch_command(const char *cmd, uint64_t now, struct token_cred *c)
{
	char out[TOKEN_OUT_MAX];
	size_t len = 0;
	int rc = token_run(cmd, TOKEN_TIMEOUT_MS, out, sizeof(out), &len);

	memset(c, 0, sizeof(*c));
	if (rc == 0)
		rc = token_parse(out, len, now, c);
	sodium_memzero(out, sizeof(out));
	return rc;
}

int token_source_check(const struct cache_token *src)
{
	size_t n = strlen(src->name);

	if (src->command[0])
		return 0;
	if (!src->secret[0])
		return TOKEN_E_NONE;
	if (strlen(src->secret) < TOKEN_MIN_SECRET)
		return TOKEN_E_SECRET;
	if (n == 0 || n > TOKEN_NAME_MAX || !printable(src->name, n))
		return TOKEN_E_NAME;
	return 0;
}

struct token_state *token_new(const struct cache_token *src, const char *label)
{
	struct token_state *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->src = *src;
	s->rl = (struct log_ratelimit)LOG_RATELIMIT_INIT(60000);
	snprintf(s->label, sizeof(s->label), "%s", label);
	return s;
}

void token_free(struct token_state *s)
{
	if (!s)
		return;
	sodium_memzero(s, sizeof(*s));
	free(s);
}

bool token_same_source(const struct token_state *s, const struct cache_token *src)
{
	return strcmp(s->src.command, src->command) == 0 &&
	       strcmp(s->src.secret, src->secret) == 0 && strcmp(s->src.name, src->name) == 0;
}

bool token_usable(const struct token_state *s, uint64_t now)
{
	return s->have && now < s->cred.expiry;
}

bool token_due(const struct token_state *s, uint64_t now)
{
	if (s->have && now + TOKEN_RENEW_S < s->cred.expiry)
		return false;
	return now >= s->next_try;
}

void token_denied(struct token_state *s, uint64_t now)
{
	if (s->denied_at && now < s->denied_at + TOKEN_RETRY_S)
		return;
	s->denied_at = now;
	sodium_memzero(&s->cred, sizeof(s->cred));
	s->have = false;
	s->next_try = 0;
}

const struct token_cred *token_get(struct token_state *s, uint64_t now)
{
	if (token_due(s, now)) {
		struct token_cred c;
		int rc = token_source_check(&s->src);
		s->next_try = now + TOKEN_RETRY_S;
		if (rc == 0)
			rc = s->src.command[0] ? token_fetch_command(s->src.command, now, &c)
			                       : token_mint(s->src.secret, s->src.name, now,
			                                    TOKEN_LIFETIME_S, &c);
		if (rc == 0) {
			if (s->last_err)
				log_info("relay %s: token %s again", s->label,
				         s->src.command[0] ? "command works" : "minted");
			s->cred = c;
			s->have = true;
		} else {
			log_warnx_rl(
			    &s->rl, "relay %s: no token: %s%s", s->label, token_strerror(rc),
			    token_usable(s, now) ? " (keeping the current one until it expires)"
			                         : "");
		}
		s->last_err = rc;
		sodium_memzero(&c, sizeof(c));
	}
	return token_usable(s, now) ? &s->cred : NULL;
}
