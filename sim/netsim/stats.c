/* stats.c: sample arrays and nearest-rank quantiles. */
#include "stats.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void stats_init(struct stats *s, size_t max)
{
	memset(s, 0, sizeof(*s));
	s->max = max;
}

void stats_free(struct stats *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

int stats_add(struct stats *s, double x)
{
	if (s->n == s->max) {
		s->dropped++;
		return -ENOSPC;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		if (cap > s->max)
			cap = s->max;
		double *v = realloc(s->v, cap * sizeof(*v));
		if (!v) {
			s->dropped++;
			return -ENOMEM;
		}
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = x;
	s->sorted = 0;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void sort(struct stats *s)
{
	if (!s->sorted) {
		qsort(s->v, s->n, sizeof(*s->v), cmp_double);
		s->sorted = 1;
	}
}

double stats_quantile(struct stats *s, double q)
{
	if (s->n == 0)
		return NAN;
	sort(s);
	if (q <= 0)
		return s->v[0];
	size_t rank = (size_t)ceil(q * (double)s->n);
	if (rank < 1)
		rank = 1;
	if (rank > s->n)
		rank = s->n;
	return s->v[rank - 1];
}

double stats_mean(const struct stats *s)
{
	double sum = 0;

	if (s->n == 0)
		return NAN;
	for (size_t i = 0; i < s->n; i++)
		sum += s->v[i];
	return sum / (double)s->n;
}

double stats_max(struct stats *s)
{
	return stats_quantile(s, 1.0);
}

void stats_write_cdf(struct stats *s, FILE *f, const char *xname, size_t points)
{
	fprintf(f, "%s,cdf\n", xname);
	if (s->n == 0 || points == 0)
		return;
	sort(s);
	size_t step = s->n / points ? s->n / points : 1;
	for (size_t i = 0; i < s->n; i += step)
		fprintf(f, "%.6g,%.6f\n", s->v[i], (double)(i + 1) / (double)s->n);
	fprintf(f, "%.6g,1.000000\n", s->v[s->n - 1]);
}
