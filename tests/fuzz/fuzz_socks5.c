/* Fuzz target: the SOCKS5 client of common/socks5.c. The first byte picks the destination kind
 * and whether a user is offered and how the rest is cut; the rest is what the proxy sends, fed
 * in pieces the way a socket would deliver it, keeping the bytes not yet consumed. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "socks5.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const hosts[] = {"192.0.2.1", "2001:db8::1", "abc.onion", "[::1]"};
	struct socks5 s;
	uint8_t out[1024], win[1024];
	size_t have = 0, fed = 0, used, outlen, piece;
	int r = SOCKS5_MORE;

	if (size < 1 || size > sizeof(win))
		return 0;
	if (socks5_start(&s, hosts[data[0] & 3], 443, (data[0] & 4) ? "user" : NULL, "pass", out,
	                 sizeof(out)) <= 0)
		abort();
	piece = 1 + (data[0] >> 3); /* 1..32 bytes a read */
	data++;
	size--;
	while (fed < size && r == SOCKS5_MORE) {
		size_t take = size - fed < piece ? size - fed : piece;

		memcpy(win + have, data + fed, take);
		have += take;
		fed += take;
		r = socks5_input(&s, win, have, &used, out, sizeof(out), &outlen);
		if (used > have || outlen > sizeof(out))
			abort();
		if (r < 0 && r != -EPROTO && r != -EACCES && r != -ECONNREFUSED)
			abort();
		if (r == -ECONNREFUSED && (s.rep == 0 || !socks5_rep_name(s.rep)[0]))
			abort();
		memmove(win, win + used, have - used);
		have -= used;
	}
	/* Done is final: it consumes nothing more. */
	if (r == SOCKS5_DONE &&
	    (socks5_input(&s, win, have, &used, out, sizeof(out), &outlen) != SOCKS5_DONE || used))
		abort();
	return 0;
}
