/*
 * Fuzz target: what a relay sends back to DISCOVER (discover.h). The input is a header (what
 * the cache holds, the relay's kind of address) and records: u16 length (top bit: let a page
 * time out first) and one control message each, fed to a run as one link's replies. Each DESC
 * is decoded and judged. Checked: a parsed descriptor lies inside its message and is 1..995
 * bytes; a page takes at most 32 DESC; the cursor only moves forward; a run asks at most
 * DISCOVER_MAX_PAGES pages and a page at most DISCOVER_PAGE_TRIES times; verdicts are named.
 */
#include <stdlib.h>
#include <string.h>

#include "discover.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HDR_LEN 9

static void judge(const struct discover_reply *rep, const uint8_t *hdr, const struct addr *via)
{
	struct descriptor d;
	struct discover_known k = {
	    .have = hdr[0] & 1,
	    .key_held = hdr[0] & 2,
	    .key_trusted = hdr[0] & 4,
	    .key_other_id = hdr[0] & 8,
	    .bootstrap_diff = hdr[0] & 16,
	    .stored = hdr[0] & 32 ? 10 : 3,
	};
	uint8_t via_key[32];

	for (int i = 0; i < 8; i++)
		k.seq = k.seq << 8 | hdr[1 + i];
	k.soonest = k.seq;
	if (desc_decode(rep->desc, rep->desc_len, &d) < 0)
		return;
	memset(via_key, hdr[0], sizeof(via_key));
	/* A clock just after its issue, so that the checks past the times are reached. */
	enum discover_verdict v = discover_judge(&d, d.issued_at + 1, via, via_key, &k, 10);
	if ((unsigned)v >= DISCOVER_V_MAX || !strcmp(discover_verdict_name(v), "?"))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const vias[] = {"127.0.0.1:51821", "10.0.0.1:51821", "198.51.100.1:1",
	                                   "[2001:db8::1]:51821"};
	struct discover_run r;
	struct discover_filter f = {0};
	struct discover_reply rep;
	struct addr via;
	uint8_t req[DISCOVER_REQ_LEN], after[32];
	unsigned asked = 0;
	int64_t now = 0;

	if (size < HDR_LEN)
		return 0;
	const uint8_t *hdr = data;
	addr_parse(&via, vias[hdr[0] >> 6], 0);
	/* The whole input as one message, too. */
	if (discover_parse(data, size, &rep) == 0 && rep.type == CTRL_DESC &&
	    (rep.desc < data || rep.desc + rep.desc_len > data + size || !rep.desc_len ||
	     rep.desc_len > DESC_MAX_LEN))
		abort();
	discover_start(&r, &f);
	for (size_t pos = HDR_LEN; pos + 2 <= size;) {
		size_t len = (size_t)(data[pos] & 0x7f) << 8 | data[pos + 1];
		bool late = data[pos] & 0x80;
		pos += 2;
		if (len > size - pos)
			len = size - pos;
		now += late ? DISCOVER_PAGE_TIMEOUT_MS : 1;
		int n = discover_poll(&r, true, now, req, sizeof(req));
		if (n < 0 || (n > 0 && ++asked > DISCOVER_MAX_PAGES * DISCOVER_PAGE_TRIES))
			abort();
		memcpy(after, r.after, 32);
		enum discover_event ev = discover_input(&r, data + pos, len, &rep);
		if (r.descs > PROTO_DISCOVER_MAX || r.pages > DISCOVER_MAX_PAGES ||
		    r.tries > DISCOVER_PAGE_TRIES)
			abort();
		/* The cursor moves forward or stays (a run that ended keeps the last one). */
		if (memcmp(r.after, after, 32) < 0)
			abort();
		if (ev == DISCOVER_EV_DESC) {
			if (rep.desc < data + pos || rep.desc + rep.desc_len > data + pos + len)
				abort();
			judge(&rep, hdr, &via);
		}
		pos += len;
	}
	return 0;
}
