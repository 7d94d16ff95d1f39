/*
 * conf.c: "[Section]" / "Key = Value" files (see conf.h). As in wg-quick, '#' starts a comment
 * anywhere on a line, so values cannot contain '#'.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "file.h"

#define CONF_MAX_FILE (1024 * 1024)
#define CONF_MAX_LINE FILE_MAX_LINE

static void conf_err(char *err, size_t errlen, const char *name, unsigned line, const char *fmt,
                     ...) __attribute__((format(printf, 5, 6)));

static void conf_err(char *err, size_t errlen, const char *name, unsigned line, const char *fmt,
                     ...)
{
	va_list ap;
	int n;

	if (!err || !errlen)
		return;
	n = line ? snprintf(err, errlen, "%s:%u: ", name, line)
	         : snprintf(err, errlen, "%s: ", name);
	if (n < 0 || (size_t)n >= errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

void conf_free(struct conf *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].section);
		free(c->v[i].key);
		free(c->v[i].value);
	}
	free(c->v);
	free(c->name);
	free(c);
}

static char *conf_trim(char *s, char *end)
{
	while (s < end && isspace((unsigned char)*s))
		s++;
	while (end > s && isspace((unsigned char)end[-1]))
		end--;
	*end = '\0';
	return s;
}

static int conf_valid_name(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.')
			return 0;
	return 1;
}

static int conf_add(struct conf *c, size_t *cap, const char *section, const char *key,
                    const char *value, unsigned line)
{
	struct conf_entry *e;

	if (c->n == *cap) {
		size_t n = *cap ? *cap * 2 : 16;
		struct conf_entry *v = realloc(c->v, n * sizeof(*v));

		if (!v)
			return -ENOMEM;
		c->v = v;
		*cap = n;
	}
	e = &c->v[c->n];
	e->section = strdup(section);
	e->key = strdup(key);
	e->value = strdup(value);
	e->line = line;
	if (!e->section || !e->key || !e->value) {
		free(e->section);
		free(e->key);
		free(e->value);
		return -ENOMEM;
	}
	c->n++;
	return 0;
}

/* Parse one line (already NUL-terminated, comment removed); updates *section. */
static int conf_line(struct conf *c, size_t *cap, char *line, unsigned lineno, char **section,
                     char *err, size_t errlen)
{
	char *end = line + strlen(line), *s, *eq, *key, *value;

	s = conf_trim(line, end);
	if (!*s)
		return 0;
	if (*s == '[') {
		char *close = strchr(s, ']'), *name, *dup;

		if (!close || close[1] != '\0') {
			conf_err(err, errlen, c->name, lineno, "bad section header '%s'", s);
			return -EINVAL;
		}
		name = conf_trim(s + 1, close);
		if (!conf_valid_name(name)) {
			conf_err(err, errlen, c->name, lineno, "bad section name '%s'", name);
			return -EINVAL;
		}
		dup = strdup(name);
		if (!dup)
			return -ENOMEM;
		free(*section);
		*section = dup;
		return 0;
	}
	eq = strchr(s, '=');
	if (!eq) {
		conf_err(err, errlen, c->name, lineno, "expected 'Key = Value', got '%s'", s);
		return -EINVAL;
	}
	key = conf_trim(s, eq);
	value = conf_trim(eq + 1, eq + 1 + strlen(eq + 1));
	if (!conf_valid_name(key)) {
		conf_err(err, errlen, c->name, lineno, "bad key '%s'", key);
		return -EINVAL;
	}
	return conf_add(c, cap, *section, key, value, lineno);
}

int conf_parse(struct conf **out, const char *name, const char *text, size_t len, char *err,
               size_t errlen)
{
	struct conf *c;
	char *section = NULL, line[CONF_MAX_LINE + 1];
	size_t cap = 0, pos = 0;
	unsigned lineno = 0;
	int r = 0;

	if (len > CONF_MAX_FILE) {
		conf_err(err, errlen, name, 0, "file larger than %d bytes", CONF_MAX_FILE);
		return -EFBIG;
	}
	c = calloc(1, sizeof(*c));
	if (!c || !(c->name = strdup(name)) || !(section = strdup(""))) {
		r = -ENOMEM;
		goto out;
	}
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		char *hash;

		lineno++;
		if (n > CONF_MAX_LINE) {
			conf_err(err, errlen, name, lineno, "line longer than %d characters",
			         CONF_MAX_LINE);
			r = -EINVAL;
			goto out;
		}
		if (memchr(text + pos, '\0', n)) {
			conf_err(err, errlen, name, lineno, "NUL byte in line");
			r = -EINVAL;
			goto out;
		}
		memcpy(line, text + pos, n);
		line[n] = '\0';
		if (n && line[n - 1] == '\r')
			line[n - 1] = '\0';
		if ((hash = strchr(line, '#')))
			*hash = '\0';
		r = conf_line(c, &cap, line, lineno, &section, err, errlen);
		if (r < 0)
			goto out;
		pos += n + (nl ? 1 : 0);
	}
out:
	free(section);
	if (r < 0) {
		if (r == -ENOMEM)
			conf_err(err, errlen, name, lineno, "out of memory");
		conf_free(c);
		return r;
	}
	*out = c;
	return 0;
}

int conf_load(struct conf **out, const char *path, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	int r;

	/* A regular file (symbolic links followed), never a FIFO to wait on (file.h). */
	r = file_read_all(path, 0, CONF_MAX_FILE, &text, &len, err, errlen);
	if (r < 0)
		return r;
	r = conf_parse(out, path, text, len, err, errlen);
	free(text);
	return r;
}

const struct conf_entry *conf_next(const struct conf *c, const char *section, const char *key,
                                   const struct conf_entry *prev)
{
	size_t i = prev ? (size_t)(prev - c->v) + 1 : 0;

	for (; c && i < c->n; i++)
		if (!strcasecmp(c->v[i].section, section) && !strcasecmp(c->v[i].key, key))
			return &c->v[i];
	return NULL;
}

const struct conf_entry *conf_last(const struct conf *c, const char *section, const char *key)
{
	const struct conf_entry *e = NULL, *last = NULL;

	while ((e = conf_next(c, section, key, e)))
		last = e;
	return last;
}

int conf_check_keys(const struct conf *c, const char *const *allowed, char *err, size_t errlen)
{
	for (size_t i = 0; i < c->n; i++) {
		const struct conf_entry *e = &c->v[i];
		size_t slen = strlen(e->section);
		int ok = 0, section_known = 0;

		for (const char *const *a = allowed; *a && !ok; a++) {
			const char *dot = strrchr(*a, '.');

			if (!dot || (size_t)(dot - *a) != slen || strncasecmp(*a, e->section, slen))
				continue;
			section_known = 1;
			ok = !strcmp(dot + 1, "*") || !strcasecmp(dot + 1, e->key);
		}
		if (ok)
			continue;
		if (!section_known && *e->section)
			conf_err(err, errlen, c->name, e->line, "unknown section '[%s]'",
			         e->section);
		else if (!*e->section)
			conf_err(err, errlen, c->name, e->line, "key '%s' outside any section",
			         e->key);
		else
			conf_err(err, errlen, c->name, e->line, "unknown key '%s' in [%s]", e->key,
			         e->section);
		return -EINVAL;
	}
	return 0;
}

int conf_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!s || !*s)
		return -EINVAL;
	for (; *s; s++) {
		unsigned d;

		if (*s < '0' || *s > '9')
			return -EINVAL;
		d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

/* A number with an optional one-letter suffix from units (multipliers in mult). */
static int conf_parse_suffixed(const char *s, const char *units, const uint64_t *mult, uint64_t min,
                               uint64_t max, uint64_t *out)
{
	char num[32];
	size_t len;
	uint64_t v, m = 1;
	const char *u;
	int r;

	if (!s || !(len = strlen(s)) || len >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, len + 1);
	if ((u = strchr(units, num[len - 1])) && len > 1) {
		m = mult[u - units];
		num[len - 1] = '\0';
	}
	r = conf_parse_u64(num, 0, UINT64_MAX, &v);
	if (r < 0)
		return r;
	if (m && v > UINT64_MAX / m)
		return -ERANGE;
	v *= m;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int conf_parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	static const uint64_t mult[] = {1024, 1024 * 1024, 1024 * 1024 * 1024,
	                                1024, 1024 * 1024, 1024 * 1024 * 1024};

	return conf_parse_suffixed(s, "KMGkmg", mult, min, max, out);
}

int conf_parse_duration(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	static const uint64_t mult[] = {1, 60, 3600, 86400};

	return conf_parse_suffixed(s, "smhd", mult, min, max, out);
}

int conf_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};

	for (size_t i = 0; i < 4; i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

typedef int (*conf_num_parser)(const char *, uint64_t, uint64_t, uint64_t *);

static int conf_get_num(const struct conf *c, const char *section, const char *key, uint64_t min,
                        uint64_t max, uint64_t *out, char *err, size_t errlen,
                        conf_num_parser parse, const char *what)
{
	const struct conf_entry *e = conf_last(c, section, key);
	int r;

	if (!e)
		return -ENOENT;
	r = parse(e->value, min, max, out);
	if (r == -ERANGE)
		conf_err(err, errlen, c->name, e->line, "'%s' out of range %llu..%llu for %s",
		         e->value, (unsigned long long)min, (unsigned long long)max, e->key);
	else if (r < 0)
		conf_err(err, errlen, c->name, e->line, "'%s' is not %s for %s", e->value, what,
		         e->key);
	return r;
}

int conf_get_u64(const struct conf *c, const char *section, const char *key, uint64_t min,
                 uint64_t max, uint64_t *out, char *err, size_t errlen)
{
	return conf_get_num(c, section, key, min, max, out, err, errlen, conf_parse_u64,
	                    "a number");
}

int conf_get_size(const struct conf *c, const char *section, const char *key, uint64_t min,
                  uint64_t max, uint64_t *out, char *err, size_t errlen)
{
	return conf_get_num(c, section, key, min, max, out, err, errlen, conf_parse_size,
	                    "a size (bytes, or with K/M/G)");
}

int conf_get_duration(const struct conf *c, const char *section, const char *key, uint64_t min,
                      uint64_t max, uint64_t *out, char *err, size_t errlen)
{
	return conf_get_num(c, section, key, min, max, out, err, errlen, conf_parse_duration,
	                    "a duration (seconds, or with s/m/h/d)");
}

int conf_get_bool(const struct conf *c, const char *section, const char *key, bool *out, char *err,
                  size_t errlen)
{
	const struct conf_entry *e = conf_last(c, section, key);

	if (!e)
		return -ENOENT;
	if (conf_parse_bool(e->value, out) < 0) {
		conf_err(err, errlen, c->name, e->line, "'%s' is not a boolean for %s", e->value,
		         e->key);
		return -EINVAL;
	}
	return 0;
}
