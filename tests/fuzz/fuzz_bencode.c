/* Fuzz target: the bounded bencode decoder (common/bencode.c) on arbitrary bytes, and the
 * readers over whatever decodes. */
#include <stdint.h>
#include <stdlib.h>

#include "bencode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ben_tok tok[256];
	struct ben_doc doc;
	const uint8_t *p;
	size_t len;

	if (ben_decode(&doc, data, size, tok, sizeof(tok) / sizeof(tok[0])) != 0)
		return 0;
	if (doc.n == 0 || doc.n > sizeof(tok) / sizeof(tok[0]))
		abort();
	/* the readers over every token: strings must lie inside the input */
	for (size_t i = 0; i < doc.n; i++)
		if (ben_str(&doc, (int)i, &p, &len) == 0 && (p < data || p + len > data + size))
			abort();
	ben_dict_get(&doc, 0, "y");
	return 0;
}
