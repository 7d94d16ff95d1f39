/*
 * Fuzz target: the UAPI "get=1" reply parser. The first byte picks the read size, so the same
 * text is also cut at odd places; a completed parse must hold the callers' invariants.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wg_uapi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wg_uapi_parser p;
	size_t chunk, off = 1;
	int r = 1;

	if (size < 1 || wg_uapi_parser_init(&p) < 0)
		return 0;
	chunk = (size_t)data[0] + 1;
	while (off < size && r == 1) {
		size_t n = size - off < chunk ? size - off : chunk;

		r = wg_uapi_parser_feed(&p, data + off, n);
		off += n;
	}
	if (r == 0) {
		for (size_t i = 0; i < p.dev->n_peers; i++) {
			const struct wg_peer *pe = &p.dev->peers[i];

			if (!(pe->flags & WG_PEER_HAS_PUBLIC_KEY))
				abort();
			for (size_t j = 0; j < pe->n_allowedips; j++)
				if (pe->allowedips[j].cidr >
				    (pe->allowedips[j].family == AF_INET ? 32 : 128))
					abort();
		}
	} else if (r < -4095 || r > 1) {
		abort();
	}
	wg_uapi_parser_free(&p);
	return 0;
}
