/* bootline.c: "ENDPOINT KEY" lines (see bootline.h). */
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

int bootline_parse(const char *s, uint16_t default_port, struct addr *a, uint8_t key[32])
{
	char ep[ADDR_STRLEN], k64[KEY_B64_STRLEN];
	uint8_t k[KEY_LEN];
	struct addr tmp;

	if (!bootline_word(&s, ep, sizeof(ep)) || !bootline_word(&s, k64, sizeof(k64)))
		return -EINVAL;
	s += strspn(s, " \t");
	if (*s || addr_parse(&tmp, ep, default_port) < 0 || key_from_base64(k, k64) < 0)
		return -EINVAL;
	*a = tmp;
	memcpy(key, k, KEY_LEN);
	return 0;
}
