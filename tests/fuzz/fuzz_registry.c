/*
 * Fuzz target: the relay registry's readers of the cache (registry.c): a status word of any
 * bytes parses to a known status whose word parses back to it; a relay record of any content
 * gets a word list-relays can show; the fwmark rule over any names and marks picks one of them
 * (or none) and names the others within the room given.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "records.h"
#include "registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void marks(struct fz *z)
{
	char names[6][CACHE_TEXT], others[64];
	struct registry_mark m[6];
	size_t n = fz_u8(z) % 7, chosen;

	for (size_t i = 0; i < n; i++) {
		fz_text(z, names[i], sizeof(names[i]));
		m[i] = (struct registry_mark){names[i], fz_u8(z) & 1 ? (uint32_t)fz_u64(z) : 0};
	}
	size_t len = 1 + fz_u8(z) % sizeof(others);
	uint32_t mark = registry_fwmark(m, n, &chosen, others, len);
	if (mark ? chosen >= n || m[chosen].fwmark != mark : chosen != SIZE_MAX)
		abort();
	if (strnlen(others, len) == len)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz z = {data, size};
	struct cache_relay r;
	char word[32];

	FZ_TEXT(&z, word);
	enum registry_status st = registry_status_parse(word);
	if (registry_status_parse(registry_status_name(st)) != st)
		abort();
	fz_relay(&z, &r);
	const char *shown = registry_shown_status(&r);
	if (!shown || !*shown)
		abort();
	marks(&z);
	return 0;
}
