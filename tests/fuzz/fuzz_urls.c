/*
 * Fuzz target: the helper's lists of stream URLs (relay-client/urls.c) as the cache holds them,
 * read back from a file a user may edit: at most the cap, no UDP URL, and what was read formats
 * to text that reads back as the same URLs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "urls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct turl u[URLS_MAX], v[URLS_MAX];
	char *s, out[URLS_MAX * TURL_STRLEN];
	size_t n, m;
	int k;

	if (size > 8192 || !(s = malloc(size + 1)))
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	memset(u, 0, sizeof(u));
	memset(v, 0, sizeof(v));
	n = urls_parse(s, u, URLS_MAX);
	if (n > URLS_MAX)
		abort();
	for (size_t i = 0; i < n; i++)
		if (u[i].kind == TURL_UDP)
			abort();
	k = urls_format(u, n, out, sizeof(out));
	if (k < 0 || (size_t)k != strlen(out))
		abort();
	m = urls_parse(out, v, URLS_MAX);
	if (m != n || memcmp(u, v, n * sizeof(u[0])) != 0)
		abort();
	free(s);
	return 0;
}
