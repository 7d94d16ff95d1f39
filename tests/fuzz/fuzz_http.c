/* Fuzz target: the HTTP head parsers of common/http.c. The first byte picks the parser (upgrade
 * request, upgrade response, CONNECT response); the rest is the peer's bytes. Every answer is
 * checked against the contract: a head length never beyond the input or HTTP_MAX_HEAD, 0 only
 * while short of the limit, a refusal always with an HTTP status to send. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define KEY "dGhlIHNhbXBsZSBub25jZQ=="

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_ws_req req;
	char out[512];
	int status = -1, r;

	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		r = http_ws_parse_request(data + 1, size - 1, &req, &status);
		if (r < 0 && http_error_response(out, sizeof(out), status) <= 0)
			abort();
		if (r > 0 && (strlen(req.key) != HTTP_WS_KEY_LEN ||
		              http_ws_accept_response(out, sizeof(out), req.key) <= 0 ||
		              req.path[0] != '/' || !req.host[0]))
			abort();
		break;
	case 1:
		r = http_ws_parse_response(data + 1, size - 1, KEY, &status);
		if (r > 0 && status != 101)
			abort();
		break;
	default:
		r = http_connect_parse_response(data + 1, size - 1, &status);
		if (r > 0 && (status < 200 || status > 299))
			abort();
		if (r == -ECONNREFUSED && (status < 100 || status > 999))
			abort();
		break;
	}
	if (r > 0 && ((size_t)r > size - 1 || r > HTTP_MAX_HEAD))
		abort();
	if (r == 0 && size - 1 >= HTTP_MAX_HEAD)
		abort();
	return 0;
}
