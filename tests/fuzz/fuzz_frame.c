/* Fuzz target: every frame and control-message decoder on arbitrary bytes; whatever decodes
 * must re-encode to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "seal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t key[32] = {1}, sid[16] = {2};
	uint8_t buf[PROTO_MAX_FRAME], pt[PROTO_MAX_CTRL_PLAIN];
	struct frame_pong pong;
	struct ctrl_msg m;
	struct replay rp;
	uint64_t nonce;
	int t, n;

	if (size > sizeof(buf))
		return 0;
	t = frame_check(data, size);
	frame_decode_ping(data, size, &nonce);
	if (frame_decode_pong(data, size, &pong) == 0) {
		frame_encode_pong(buf, &pong);
		if (memcmp(buf, data, PROTO_PONG_LEN))
			abort();
	}
	replay_init(&rp);
	frame_open_ctrl(data, size, key, &rp, pt, sizeof(pt));
	if (t == PROTO_DATA) {
		memcpy(buf, data, size);
		seal_open_data(buf, size, sid, key, &rp);
	}
	/* The relay network's frames and messages (PROTOCOL.md §10): decoded, re-encoded alike. */
	frame_decode_desc_req(data, size);
	{
		const uint8_t *dp;
		size_t dl;
		struct ctrl_discover dq, dq2;
		uint8_t next[32], cnt, ht;
		uint64_t hn;

		if (frame_decode_desc_resp(data, size, &dp, &dl) == 0 &&
		    (frame_encode_desc_resp(buf, sizeof(buf), dp, dl) != (int)size ||
		     memcmp(buf, data, size)))
			abort();
		for (uint8_t ty = CTRL_HELLO; ty <= CTRL_DESC; ty++)
			if (ctrl_decode_desc_msg(ty, data, size, &dp, &dl) == 0 &&
			    ctrl_encode_desc_msg(ty, dp, dl, buf, sizeof(buf)) <= 0)
				abort();
		if (ctrl_decode_discover(data, size, &dq) == 0 &&
		    ((n = ctrl_encode_discover(&dq, buf, sizeof(buf))) <= 0 ||
		     ctrl_decode_discover(buf, (size_t)n, &dq2) != 0 ||
		     memcmp(&dq, &dq2, sizeof(dq))))
			abort();
		if (ctrl_decode_discovered(data, size, next, &cnt) == 0 &&
		    ctrl_encode_discovered(next, cnt, buf, sizeof(buf)) <= 0)
			abort();
		if (ctrl_decode_heartbeat(data, size, &ht, &hn) == 0 &&
		    ctrl_encode_heartbeat(ht, hn, buf, sizeof(buf)) <= 0)
			abort();
	}
	/* Control messages: the plaintext inside CTRL frames. */
	/*
	 * Re-encoding what decoded gives the same fields; the two may differ only in zero padding
	 * (the encoder pads requests to PROTO_CTRL_REQ_MIN, the decoder takes any zero padding).
	 */
	if (ctrl_decode(data, size, &m) == 0) {
		struct ctrl_msg again;
		size_t common;

		n = ctrl_encode(&m, buf, sizeof(buf));
		if (n <= 0 || ctrl_decode(buf, (size_t)n, &again) != 0 ||
		    memcmp(&again, &m, sizeof(m)))
			abort();
		common = (size_t)n < size ? (size_t)n : size;
		if (memcmp(buf, data, common))
			abort();
		for (size_t i = common; i < size; i++)
			if (data[i])
				abort();
		for (size_t i = common; i < (size_t)n; i++)
			if (buf[i])
				abort();
	}
	return 0;
}
