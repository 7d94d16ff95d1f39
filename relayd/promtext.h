/*
 * promtext.h: Prometheus text written into a caller's buffer, for the /metrics writers
 * (metrics.c and the parts that add their own lines). A writer is a function returning the
 * bytes written, with `char *out` and `size_t cap` (the buffer) and `size_t n` (bytes so far)
 * in scope; PUT appends one formatted piece or, when it does not fit, returns n as it is, so
 * a full buffer cuts the text at a piece's end, never inside one.
 */
#ifndef WGR_PROMTEXT_H
#define WGR_PROMTEXT_H

#include <stdio.h>

#define PUT(...)                                                                                   \
	do {                                                                                       \
		int w_ = snprintf(out + n, cap - n, __VA_ARGS__);                                  \
		if (w_ < 0 || (size_t)w_ >= cap - n)                                               \
			return n;                                                                  \
		n += (size_t)w_;                                                                   \
	} while (0)
/* One counter or gauge: its help, its type and its value. */
#define SCALAR(name, type, help, value)                                                            \
	PUT("# HELP " name " " help "\n# TYPE " name " " type "\n" name " %llu\n",                 \
	    (unsigned long long)(value))

#endif
