/*
 * rng.h: the simulator's deterministic random numbers (xoshiro256**, seeded through
 * splitmix64). Every consumer draws from its own stream (seed, stream id), so adding draws to
 * one part of a scenario does not shift the numbers another part sees: same seed, same figures.
 */
#ifndef WGR_NETSIM_RNG_H
#define WGR_NETSIM_RNG_H

#include <stddef.h>
#include <stdint.h>

struct rng {
	uint64_t s[4];
};

/* Seed r from (seed, stream); distinct streams give independent sequences. */
void rng_seed(struct rng *r, uint64_t seed, uint64_t stream);
/* 64 uniformly random bits. */
uint64_t rng_u64(struct rng *r);
/* Uniform in [0, n) without modulo bias; 0 when n is 0. */
uint64_t rng_below(struct rng *r, uint64_t n);
/* Uniform in [0, 1). */
double rng_unit(struct rng *r);
/* True with probability p. */
int rng_chance(struct rng *r, double p);
/* Standard normal (Box-Muller; one value per call, the pair's second is dropped). */
double rng_normal(struct rng *r);
/* Exponential with the given mean. */
double rng_exp(struct rng *r, double mean);
/* n bytes of the stream (keys and secrets of simulated parties). */
void rng_bytes(struct rng *r, uint8_t *out, size_t n);

#endif
