/* barrier.c: the simulator threads' spinning barrier (barrier.h). */
#include "barrier.h"

#include <sched.h>

/* Spins before each yield: a window's imbalance between threads is microseconds. */
#define SPINS 2000

void spin_barrier_init(struct spin_barrier *b, unsigned n)
{
	atomic_init(&b->waiting, 0);
	atomic_init(&b->phase, 0);
	b->n = n ? n : 1;
}

void spin_barrier_wait(struct spin_barrier *b)
{
	unsigned phase = atomic_load_explicit(&b->phase, memory_order_acquire);

	if (atomic_fetch_add_explicit(&b->waiting, 1, memory_order_acq_rel) + 1 == b->n) {
		/* The last to come: reset the count for the next phase, then release the rest. */
		atomic_store_explicit(&b->waiting, 0, memory_order_relaxed);
		atomic_fetch_add_explicit(&b->phase, 1, memory_order_acq_rel);
		return;
	}
	for (unsigned spins = 0; atomic_load_explicit(&b->phase, memory_order_acquire) == phase;
	     spins++) {
		if (spins < SPINS) {
#if defined(__x86_64__) || defined(__i386__)
			__builtin_ia32_pause();
#endif
		} else {
			sched_yield();
		}
	}
}
