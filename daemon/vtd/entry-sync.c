/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "vtd/entry-sync.h"
#include "macro.h"

/* The names Writer= takes; the scenario parser looks them up here. */
const char *const entry_writer_names[_ENTRY_WRITER_MAX] = {
	[ENTRY_WRITER_ENTRY_SYNC] = "entry-sync",
	[ENTRY_WRITER_CLEAR_THEN_UPDATE] = "clear-then-update",
	[ENTRY_WRITER_DIRECT] = "direct",
};

const char *entry_writer_to_string(EntryWriterKind w)
{
	return w >= 0 && w < _ENTRY_WRITER_MAX ? entry_writer_names[w] : NULL;
}

/* The hardware reads quanta concurrently: each store is a single 128-bit atomic. */
static void store_quantum(EntryWriter *w, PasidEntry *entry, unsigned i, PasidQuantum v)
{
	__atomic_store_n(&entry->q[i], v, __ATOMIC_RELEASE);
	if (w->stored)
		w->stored(w, entry, i);
}

/*
 * Stores the quanta [first, first+n) of values that differ from the entry and
 * syncs if anything changed. Returns the number of syncs (0 or 1). The entry is
 * read back with plain loads: only this writer stores to it.
 */
static unsigned entry_set(EntryWriter *w, PasidEntry *entry, const PasidQuantum *values,
			  unsigned first, unsigned n)
{
	bool changed = false;

	for (unsigned i = first; i < first + n; i++) {
		if (entry->q[i] == values[i])
			continue;
		store_quantum(w, entry, i, values[i]);
		changed = true;
	}
	if (!changed)
		return 0;
	w->sync(w);
	return 1;
}

/*
 * The used-bits analysis: unused_update is the current entry with every bit it
 * does not use already set to its target value; a quantum is critical when a
 * bit the target uses still differs after that. Returns a bitmask of critical
 * quanta.
 */
static unsigned analyse(const PasidEntry *cur, const PasidEntry *target,
			PasidQuantum *unused_update)
{
	PasidEntry cur_used, target_used;
	unsigned critical = 0;

	pasid_entry_get_used(cur, &cur_used);
	pasid_entry_get_used(target, &target_used);
	for (unsigned i = 0; i < PASID_ENTRY_QUANTA; i++) {
		unused_update[i] = (cur->q[i] & cur_used.q[i]) | (target->q[i] & ~cur_used.q[i]);
		if ((unused_update[i] & target_used.q[i]) != target->q[i])
			critical |= 1u << i;
	}
	return critical;
}

EntrySyncResult entry_sync_write(EntryWriter *w, PasidEntry *entry, const PasidEntry *target)
{
	PasidQuantum unused_update[PASID_ENTRY_QUANTA];
	EntrySyncResult r = {};
	unsigned critical = analyse(entry, target, unused_update);

	r.critical = (unsigned)__builtin_popcount(critical);
	if (r.critical == 1) {
		unsigned c = (unsigned)__builtin_ctz(critical);

		/*
		 * Hitless: first the bits the current configuration ignores, then
		 * the one critical quantum flips the configuration in a single
		 * store, then the bits the target ignores are cleaned up. The
		 * critical quantum is left alone in the first step because the
		 * second one writes it anyway; that saves a sync when all
		 * changes are in it.
		 */
		r.path = ENTRY_SYNC_HITLESS;
		unused_update[c] = entry->q[c];
		r.syncs += entry_set(w, entry, unused_update, 0, PASID_ENTRY_QUANTA);
		r.syncs += entry_set(w, entry, target->q, c, 1);
		r.syncs += entry_set(w, entry, target->q, 0, PASID_ENTRY_QUANTA);
	} else if (r.critical > 1) {
		/*
		 * Disruptive: make the entry non-present, write everything
		 * but the quantum holding P, then that quantum. The V quantum
		 * is zeroed rather than just losing P, as the generic
		 * library does: a non-present entry uses nothing but P.
		 */
		r.path = ENTRY_SYNC_DISRUPTIVE;
		unused_update[0] = 0;
		r.syncs += entry_set(w, entry, unused_update, 0, 1);
		r.syncs += entry_set(w, entry, target->q, 1, PASID_ENTRY_QUANTA - 1);
		r.syncs += entry_set(w, entry, target->q, 0, 1);
	} else {
		/* Only unused bits differ, if any. */
		r.path = ENTRY_SYNC_NOOP;
		r.syncs += entry_set(w, entry, target->q, 0, PASID_ENTRY_QUANTA);
	}
	return r;
}

EntrySyncResult entry_clear_then_update_write(EntryWriter *w, PasidEntry *entry,
					      const PasidEntry *target)
{
	PasidQuantum staged[PASID_ENTRY_QUANTA];
	EntrySyncResult r = {.path = ENTRY_SYNC_DISRUPTIVE};

	/* Tear down: clear P and make the hardware forget the entry. */
	if (pasid_entry_present(entry)) {
		store_quantum(w, entry, 0, entry->q[0] & ~(PasidQuantum)SM_PASID0_P);
		w->sync(w);
		r.syncs++;
	}

	/* Set up: every other bit first, P last, then one sync. */
	for (unsigned i = 0; i < PASID_ENTRY_QUANTA; i++)
		staged[i] = target->q[i];
	staged[0] &= ~(PasidQuantum)SM_PASID0_P;
	for (unsigned i = 0; i < PASID_ENTRY_QUANTA; i++)
		if (entry->q[i] != staged[i])
			store_quantum(w, entry, i, staged[i]);
	if (pasid_entry_present(target))
		store_quantum(w, entry, 0, target->q[0]);
	w->sync(w);
	r.syncs++;
	return r;
}

EntrySyncResult entry_direct_write(EntryWriter *w, PasidEntry *entry, const PasidEntry *target)
{
	EntrySyncResult r = {.path = ENTRY_SYNC_DIRECT};

	r.syncs = entry_set(w, entry, target->q, 0, PASID_ENTRY_QUANTA);
	return r;
}

EntrySyncResult entry_write(EntryWriterKind kind, EntryWriter *w, PasidEntry *entry,
			    const PasidEntry *target)
{
	switch (kind) {
	case ENTRY_WRITER_CLEAR_THEN_UPDATE:
		return entry_clear_then_update_write(w, entry, target);
	case ENTRY_WRITER_DIRECT:
		return entry_direct_write(w, entry, target);
	case ENTRY_WRITER_ENTRY_SYNC:
	default:
		return entry_sync_write(w, entry, target);
	}
}

/* Prediction touches nothing the hardware reads: there is nothing to invalidate. */
static void no_sync(EntryWriter *w)
{
}

EntrySyncResult entry_sync_predict(const PasidEntry *cur, const PasidEntry *target)
{
	/* Run the real algorithm on a scratch copy so that prediction and writer cannot drift. */
	EntryWriter w = {.sync = no_sync};
	PasidEntry scratch = *cur;

	return entry_sync_write(&w, &scratch, target);
}

const char *entry_sync_path_to_string(EntrySyncPath p)
{
	static const char *const table[_ENTRY_SYNC_PATH_MAX] = {
		[ENTRY_SYNC_NOOP] = "no-op",
		[ENTRY_SYNC_HITLESS] = "hitless",
		[ENTRY_SYNC_DISRUPTIVE] = "disruptive",
		[ENTRY_SYNC_DIRECT] = "direct",
	};

	if ((unsigned)p >= ELEMENTSOF(table))
		return NULL;
	return table[p];
}
