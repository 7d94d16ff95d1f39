/*
 * barrier.h: a spinning barrier for the simulator's threads, which meet twice per window of
 * a few simulated milliseconds (spread.c): hundreds of thousands of times a run, too often for
 * a futex each time. A waiter spins, then yields the core (for runs with more threads than
 * cores). Everything written before a wait is seen by every thread after it.
 */
#ifndef WGR_NETSIM_BARRIER_H
#define WGR_NETSIM_BARRIER_H

#include <stdatomic.h>

struct spin_barrier {
	_Alignas(64) atomic_uint waiting;
	_Alignas(64) atomic_uint phase;
	unsigned n;
};

/* A barrier for n threads (n >= 1). */
void spin_barrier_init(struct spin_barrier *b, unsigned n);
/* Wait until all n threads have called this for the current phase. */
void spin_barrier_wait(struct spin_barrier *b);

#endif
