/*
 * Fuzz target: the server's WebSocket layer (transport/ws.c) after a valid upgrade, fed
 * arbitrary bytes in pieces whose sizes the input chooses. No message over the limit may be
 * delivered; once the layer has finished it stays finished; output stays within its buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stream.h"
#include "ws.h"

#define MAXMSG (STREAM_HDR_LEN + STREAM_MAX_RECORD)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_msg(void *arg, const uint8_t *msg, size_t len)
{
	size_t *total = arg;

	if (len > MAXMSG || (len && !msg))
		abort();
	*total += len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t out[WS_OUT_CAP];
	struct ws *w;
	size_t total = 0, off = 0, piece;
	int r = 0, fin = 0;

	if (ws_new(&w, false, MAXMSG) < 0)
		return 0;
	/* The first byte picks the piece size: 1..256 bytes per feed. */
	piece = size ? (size_t)data[0] + 1 : 1;
	if (size)
		off = 1;
	while (off < size) {
		size_t n = size - off < piece ? size - off : piece;

		r = ws_feed(w, data + off, n, on_msg, &total);
		if (fin && r != fin)
			abort(); /* a finished layer does not come back */
		if (r < 0) {
			fin = r;
			if (!ws_error(w)[0])
				abort();
		}
		if (ws_pending(w) > WS_OUT_CAP)
			abort();
		ws_take(w, out, sizeof(out));
		off += n;
	}
	if (total > size)
		abort(); /* nothing delivered that was not received */
	ws_free(w);
	return 0;
}
