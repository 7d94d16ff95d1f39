/* fallback.c: the carrier of a relay link, UDP or one of its stream URLs (see fallback.h). */
#include "fallback.h"

#include <string.h>

static const char *const why_names[] = {
    [FALLBACK_W_NONE] = "",
    [FALLBACK_W_UDP_SILENT] = "UDP unanswered",
    [FALLBACK_W_CLOSED] = "stream closed",
    [FALLBACK_W_OPEN_SLOW] = "stream not open in time",
    [FALLBACK_W_HS_SILENT] = "handshake unanswered on the stream",
    [FALLBACK_W_UDP_BACK] = "UDP answers again",
    [FALLBACK_W_PROBE] = "probing UDP",
    [FALLBACK_W_BACKOFF] = "every URL failed, backoff over",
};

const char *fallback_why_name(enum fallback_why why)
{
	if ((size_t)why >= sizeof(why_names) / sizeof(why_names[0]))
		return "?";
	return why_names[why];
}

/* The carrier changes at now: nothing is known of the link on it yet. */
static void take(struct fallback *f, int cur, int64_t now)
{
	f->cur = cur;
	f->since_ms = now;
	f->down_since_ms = now;
	f->open_since_ms = -1;
	f->probe_ms = now; /* the first UDP probe a full interval after the move */
}

void fallback_init(struct fallback *f, uint8_t n_urls, int64_t now_ms)
{
	memset(f, 0, sizeof(*f));
	f->n_urls = n_urls > FALLBACK_MAX_URLS ? FALLBACK_MAX_URLS : n_urls;
	take(f, FALLBACK_UDP, now_ms);
}

void fallback_set_urls(struct fallback *f, uint8_t n_urls)
{
	f->n_urls = n_urls > FALLBACK_MAX_URLS ? FALLBACK_MAX_URLS : n_urls;
	f->next = 0;
	f->failed = 0;
	f->backoff_ms = 0;
	f->not_before_ms = 0;
}

/*
 * The stream in use failed: the next URL at once while some are untried since the last
 * success; once all have failed, wait on UDP (which may answer meanwhile) for the backoff.
 */
static void failed(struct fallback *f, int64_t now, enum fallback_why why, struct fallback_out *out)
{
	out->why = why;
	if (f->failed < UINT8_MAX)
		f->failed++;
	f->next = f->cur + 1 < f->n_urls ? f->cur + 1 : 0;
	if (f->failed < f->n_urls) {
		take(f, f->next, now);
		out->act = FALLBACK_TO_STREAM;
		out->url = f->cur;
		return;
	}
	f->backoff_ms = f->backoff_ms ? f->backoff_ms * 2 : FALLBACK_BACKOFF_MIN_MS;
	if (f->backoff_ms > FALLBACK_BACKOFF_MAX_MS)
		f->backoff_ms = FALLBACK_BACKOFF_MAX_MS;
	f->not_before_ms = now + f->backoff_ms;
	out->backoff_ms = f->backoff_ms;
	out->act = FALLBACK_TO_UDP;
	take(f, FALLBACK_UDP, now);
}

void fallback_step(struct fallback *f, const struct fallback_in *in, struct fallback_out *out)
{
	int64_t now = in->now_ms;

	memset(out, 0, sizeof(*out));
	if (in->up)
		f->down_since_ms = -1;
	else if (f->down_since_ms < 0)
		f->down_since_ms = now;
	if (f->cur == FALLBACK_UDP) {
		if (in->up) {
			/* UDP carries: the streams start afresh when it fails again. */
			f->failed = 0;
			f->backoff_ms = 0;
			f->not_before_ms = 0;
			f->next = 0;
			return;
		}
		if (!f->n_urls || now < f->not_before_ms)
			return;
		/* Parked for a backoff: the stream is due now; else UDP had its seconds. */
		if (!f->not_before_ms && now - f->down_since_ms < FALLBACK_UDP_WAIT_MS)
			return;
		if (f->next >= f->n_urls)
			f->next = 0;
		out->why = f->not_before_ms ? FALLBACK_W_BACKOFF : FALLBACK_W_UDP_SILENT;
		f->not_before_ms = 0;
		take(f, f->next, now);
		out->act = FALLBACK_TO_STREAM;
		out->url = f->cur;
		return;
	}
	if (in->udp_answered) {
		f->failed = 0;
		f->backoff_ms = 0;
		f->next = 0;
		take(f, FALLBACK_UDP, now);
		out->act = FALLBACK_TO_UDP;
		out->why = FALLBACK_W_UDP_BACK;
		return;
	}
	if (in->stream_open && f->open_since_ms < 0) {
		f->open_since_ms = now;
		if (!in->up)
			f->down_since_ms = now; /* the handshake's seconds count from here */
	}
	if (in->up && !in->stream_failed) {
		f->failed = 0;
		f->backoff_ms = 0;
		if (now - f->probe_ms >= FALLBACK_UDP_RETRY_MS) {
			f->probe_ms = now;
			out->act = FALLBACK_PROBE_UDP;
			out->why = FALLBACK_W_PROBE;
		}
		return;
	}
	if (in->stream_failed)
		failed(f, now, FALLBACK_W_CLOSED, out);
	else if (f->open_since_ms < 0 && now - f->since_ms >= FALLBACK_OPEN_MS)
		failed(f, now, FALLBACK_W_OPEN_SLOW, out);
	else if (f->open_since_ms >= 0 && now - f->down_since_ms >= FALLBACK_STREAM_HS_MS)
		failed(f, now, FALLBACK_W_HS_SILENT, out);
}
