/* steer_mode.c: the data mode of each (peer, relay) binding (steer_mode.h). */
#include "steer_mode.h"

#include "proto.h"

uint8_t steer_mode_of(const struct steer_mode *st)
{
	return st->why != STEER_SEAL_NONE ? PROTO_MODE_SEALED : PROTO_MODE_DIRECT;
}

const char *steer_seal_name(uint8_t why)
{
	switch (why) {
	case STEER_SEAL_IFACE:
		return "interface";
	case STEER_SEAL_STREAM:
		return "stream";
	case STEER_SEAL_FAR:
		return "far side";
	case STEER_SEAL_KEPT:
		return "kept";
	default:
		return "";
	}
}

/*
 * A sealed BIND refused with mode-mismatch: the far side holds the sid in direct mode. The
 * relay tells a waiting direct member (§5.2), and a far side that binds after us is refused
 * itself, so either way it comes over to sealed within a tick: ask again, backing off in case
 * it never does (a helper that does not switch by itself).
 */
static enum steer_mode_act refused_sealed(struct steer_mode *st, int64_t now)
{
	if (!st->retry_at) {
		unsigned shift = st->refused < 5 ? st->refused : 5;
		int64_t wait = (int64_t)STEER_MODE_RETRY_MIN_S << shift;

		st->retry_at =
		    now + (wait < STEER_MODE_RETRY_MAX_S ? wait : STEER_MODE_RETRY_MAX_S);
		if (st->refused < UINT8_MAX)
			st->refused++;
		return STEER_MODE_KEEP;
	}
	if (now < st->retry_at)
		return STEER_MODE_KEEP;
	st->retry_at = 0;
	return STEER_MODE_RETRY;
}

enum steer_mode_act steer_mode_step(struct steer_mode *st, const struct steer_mode_in *in)
{
	bool sealed_bound = in->bound && in->mode == PROTO_MODE_SEALED;

	/* Sealed wins only while bound: a binding given up starts from direct again. */
	if (!in->bound) {
		st->why = STEER_SEAL_NONE;
		st->refused = 0;
		st->retry_at = 0;
	}
	if (in->iface_sealed)
		st->why = STEER_SEAL_IFACE;
	else if (st->why == STEER_SEAL_IFACE)
		st->why = sealed_bound ? STEER_SEAL_KEPT : STEER_SEAL_NONE;
	if (st->why == STEER_SEAL_NONE) {
		if (in->on_stream)
			st->why = STEER_SEAL_STREAM;
		else if (in->bound && in->mode == PROTO_MODE_DIRECT &&
		         in->error == PROTO_ERR_MODE_MISMATCH)
			st->why = STEER_SEAL_FAR;
		else if (sealed_bound)
			st->why = STEER_SEAL_KEPT;
	}
	if (st->why == STEER_SEAL_NONE)
		return STEER_MODE_KEEP;
	if (in->bound && in->mode == PROTO_MODE_DIRECT)
		return STEER_MODE_SEAL;
	if (sealed_bound && in->error == PROTO_ERR_MODE_MISMATCH)
		return refused_sealed(st, in->now);
	if (sealed_bound && in->paired) {
		st->refused = 0;
		st->retry_at = 0;
	}
	return STEER_MODE_KEEP;
}
