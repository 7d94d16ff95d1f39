/*
 * token.h: credentials for relays in token mode (PROTOCOL.md §5.2, the TURN REST form): user
 * `EXPIRY:NAME` (Unix seconds), password the standard base64 of HMAC-SHA256(secret, user).
 * A relay's credential comes from a command printing `EXPIRY:NAME:MAC` on its first line, or
 * is minted here from a shared secret and a name (cache.h struct cache_token). The helper
 * keeps it until TOKEN_RENEW_S before EXPIRY and tries again no more often than every
 * TOKEN_RETRY_S. Times are wall-clock Unix seconds, passed in (tests use a fake clock).
 */
#ifndef WGR_TOKEN_H
#define WGR_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cache.h"
#include "frame.h"
#include "log.h"

#define TOKEN_TIMEOUT_MS 5000 /* a command's run, then its process group is killed */
#define TOKEN_OUT_MAX    4096 /* bytes of a command's output, more is an error */
#define TOKEN_RENEW_S    60   /* renew this long before EXPIRY */
#define TOKEN_RETRY_S    30   /* at most one fetch (or one drop after a denial) per this */
#define TOKEN_LIFETIME_S 3600 /* of a minted token */
#define TOKEN_MIN_SECRET 16   /* what wgrelayd requires of a Secret */
#define TOKEN_NAME_MAX   100  /* so that EXPIRY:NAME fits CTRL_CRED_MAX */

/* Errors beyond -errno: what is wrong with a command's output or a token source. */
enum {
	TOKEN_E_FORM = -3001,    /* no colon: not EXPIRY:NAME:MAC */
	TOKEN_E_EXPIRY = -3002,  /* EXPIRY not a decimal number of at most 20 digits */
	TOKEN_E_EXPIRED = -3003, /* EXPIRY not after now */
	TOKEN_E_NAME = -3004,    /* NAME empty, or not printable ASCII */
	TOKEN_E_MAC = -3005,     /* MAC not standard base64 of 32 bytes */
	TOKEN_E_LONG = -3006,    /* user or password longer than CTRL_CRED_MAX */
	TOKEN_E_EMPTY = -3007,   /* no output */
	TOKEN_E_EXIT = -3008,    /* the command exited non-zero or was killed by a signal */
	TOKEN_E_SECRET = -3009,  /* secret shorter than TOKEN_MIN_SECRET */
	TOKEN_E_NONE = -3010,    /* no source configured */
};
/* A message for 0, a TOKEN_E_* or a -errno (-ETIMEDOUT: timeout, -E2BIG: output cap). */
const char *token_strerror(int e);

struct token_cred {
	char user[CTRL_CRED_MAX + 1];
	char password[CTRL_CRED_MAX + 1];
	uint64_t expiry;
};

/*
 * The first line of a command's output (len bytes, not NUL-terminated; a trailing "\r" is
 * dropped): `EXPIRY:NAME:MAC`, NAME everything between the first and the last colon. 0 or a
 * TOKEN_E_* (each kind of malformation its own).
 */
int token_parse(const char *out, size_t len, uint64_t now, struct token_cred *c);
/* user = now + lifetime ":" name, password = base64(HMAC-SHA256(secret, user)). 0 or TOKEN_E_*. */
int token_mint(const char *secret, const char *name, uint64_t now, uint64_t lifetime,
               struct token_cred *c);
/*
 * Run cmd with /bin/sh -c, stdin /dev/null, in a process group of its own; collect stdout
 * into out (cap bytes). Waits at most timeout_ms, then kills the group: -ETIMEDOUT. More than
 * cap bytes: the group is killed, -E2BIG. Non-zero exit: TOKEN_E_EXIT. 0 and *len.
 */
int token_run(const char *cmd, int timeout_ms, char *out, size_t cap, size_t *len);
/* token_run then token_parse. */
int token_fetch_command(const char *cmd, uint64_t now, struct token_cred *c);
/* A source that is complete: a command, or a secret (of TOKEN_MIN_SECRET+) and a valid name. */
int token_source_check(const struct cache_token *src);

/* One relay's credential state. */
struct token_state {
	struct cache_token src;
	struct token_cred cred;
	bool have;
	uint64_t next_try;  /* no fetch before this */
	uint64_t denied_at; /* last drop after a denial, 0 never */
	int last_err;       /* of the last fetch, 0 ok */
	struct log_ratelimit rl;
	char label[CACHE_TEXT]; /* for the log: the relay's endpoint */
};

/* A state for src (copied), logged as label. NULL without memory. token_free wipes. */
struct token_state *token_new(const struct cache_token *src, const char *label);
void token_free(struct token_state *s);
/* Same source as src? (a changed one makes watch.c start over) */
bool token_same_source(const struct token_state *s, const struct cache_token *src);
/* The cached credential may be sent at now: there is one and it has not expired. */
bool token_usable(const struct token_state *s, uint64_t now);
/* A fetch is due at now: none cached or within TOKEN_RENEW_S of EXPIRY, and not too soon. */
bool token_due(const struct token_state *s, uint64_t now);
/* The relay refused our credential: drop it so the next BIND fetches, once per TOKEN_RETRY_S. */
void token_denied(struct token_state *s, uint64_t now);
/*
 * The credential to send at now, fetched or minted first when due (a command runs for up to
 * TOKEN_TIMEOUT_MS; failures are logged rate-limited). NULL when there is none usable.
 */
const struct token_cred *token_get(struct token_state *s, uint64_t now);

#endif
