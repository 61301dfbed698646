/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Counters (and other plain values) that one thread writes and others
 * sample: replacements, DMA transfers, faults, latency buckets.
 *
 * Every access is a relaxed atomic, so that a reader on another thread
 * never sees a torn 64-bit value and the compiler cannot cache, split or
 * elide the writer's stores; nothing else is ordered by them. Where a
 * reader must also see other data published before a value, the caller
 * uses an explicit release store / acquire load instead.
 *
 * counter_inc() and counter_add() are a load and a store, not an atomic
 * read-modify-write: with a single writer no update can be lost, and the
 * hot paths that count (a replacement, a translation) stay free of locked
 * instructions. A counter that several threads bump needs
 * __atomic_add_fetch() instead.
 *
 * x is an lvalue, evaluated once.
 */

#define counter_get(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

#define counter_set(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

#define counter_add(x, n)                                                              \
	({                                                                             \
		typeof(&(x)) _counter_p_ = &(x);                                       \
		__atomic_store_n(_counter_p_,                                          \
				 __atomic_load_n(_counter_p_, __ATOMIC_RELAXED) + (n), \
				 __ATOMIC_RELAXED);                                    \
	})

#define counter_inc(x) counter_add(x, 1)
