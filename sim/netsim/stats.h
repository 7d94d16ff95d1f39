/* stats.h: growable sample arrays and their quantiles, for the simulator's figures. */
#ifndef WGR_NETSIM_STATS_H
#define WGR_NETSIM_STATS_H

#include <stddef.h>
#include <stdio.h>

struct stats {
	double *v;
	size_t n, cap, max; /* max: samples kept at most (further ones are counted, not kept) */
	size_t dropped;
	int sorted;
};

/* An empty sample set keeping at most max samples. */
void stats_init(struct stats *s, size_t max);
void stats_free(struct stats *s);
/* Add one sample: 0, or -ENOSPC / -ENOMEM (counted in dropped). */
int stats_add(struct stats *s, double x);
/* The q-quantile (0..1, nearest rank) of the samples; NAN when there are none. Sorts s. */
double stats_quantile(struct stats *s, double q);
double stats_mean(const struct stats *s);
double stats_max(struct stats *s);
/* Write "x,cdf" rows (up to points rows, evenly spaced in rank) to f, after a header line. */
void stats_write_cdf(struct stats *s, FILE *f, const char *xname, size_t points);

#endif
