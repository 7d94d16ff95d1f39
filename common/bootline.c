/* bootline.c: "ENDPOINT KEY [URL ...]" lines (see bootline.h). */
#include <errno.h>
#include <string.h>

#include "bootline.h"
#include "key.h"

/* The next blank-separated word of *p into out (at most cap - 1 characters); its length or 0. */
static size_t bootline_word(const char **p, char *out, size_t cap)
{
	size_t n;

	*p += strspn(*p, " \t");
	n = strcspn(*p, " \t");
	if (n == 0 || n >= cap)
		return 0;
	memcpy(out, *p, n);
	out[n] = '\0';
	*p += n;
	return n;
}

int bootline_parse_urls(const char *s, uint16_t default_port, struct addr *a, uint8_t key[32],
                        struct turl *urls, size_t cap, size_t *n, unsigned *bad)
{
	char ep[ADDR_STRLEN], k64[KEY_B64_STRLEN], w[TURL_STRLEN];
	struct turl tmp_urls[BOOTLINE_MAX_URLS];
	uint8_t k[KEY_LEN];
	struct addr tmp;
	unsigned word = 1, dummy;
	size_t m = 0;

	if (!bad)
		bad = &dummy;
	if (cap > BOOTLINE_MAX_URLS)
		cap = BOOTLINE_MAX_URLS;
	*bad = 1;
	if (!bootline_word(&s, ep, sizeof(ep)) || addr_parse(&tmp, ep, default_port) < 0)
		return -EINVAL;
	*bad = 2;
	if (!bootline_word(&s, k64, sizeof(k64)) || key_from_base64(k, k64) < 0)
		return -EINVAL;
	for (word = 3;; word++) {
		s += strspn(s, " \t");
		if (!*s)
			break;
		*bad = word;
		if (m == cap)
			return cap ? -E2BIG : -EINVAL;
		if (!bootline_word(&s, w, sizeof(w)) || turl_parse(&tmp_urls[m], w) < 0 ||
		    tmp_urls[m].kind == TURL_UDP)
			return -EINVAL;
		m++;
	}
	*bad = 0;
	*a = tmp;
	memcpy(key, k, KEY_LEN);
	if (m)
		memcpy(urls, tmp_urls, m * sizeof(*urls));
	if (n)
		*n = m;
	return 0;
}

int bootline_parse(const char *s, uint16_t default_port, struct addr *a, uint8_t key[32])
{
	return bootline_parse_urls(s, default_port, a, key, NULL, 0, NULL, NULL);
}
