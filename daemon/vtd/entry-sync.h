/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Writers that move a live PASID entry from its current value to a target
 * while the hardware may be reading it, quantum by quantum:
 *
 *   entry-sync         the used-bits algorithm of the entry_sync series (lifted
 *                      from SMMUv3): hitless when at most one quantum's used
 *                      bits change, otherwise V=0 / write / V=1.
 *   clear-then-update  the upstream VT-d way: P=0, sync, write, P=1, sync.
 *   direct             stores quanta 0..3 in order and syncs once: a negative
 *                      control that lets the hardware see a torn entry.
 *
 * Every quantum store is one 128-bit atomic store. Between steps the writer
 * calls w->sync(), which must make the hardware forget any cached copy of the
 * entry (a PASID-cache invalidation with wait).
 */

#include <stdint.h>

#include "vtd/pasid-entry.h"

/* Writer= in a scenario's [Model] section. */
typedef enum EntryWriterKind {
	ENTRY_WRITER_ENTRY_SYNC,	/* used-bits analysis, hitless when ≤1 critical quantum */
	ENTRY_WRITER_CLEAR_THEN_UPDATE, /* P=0, sync, write, P=1, sync: upstream VT-d today */
	ENTRY_WRITER_DIRECT,		/* quantum by quantum, no ordering: can tear (negative control) */
	_ENTRY_WRITER_MAX,
} EntryWriterKind;

extern const char *const entry_writer_names[_ENTRY_WRITER_MAX];
const char *entry_writer_to_string(EntryWriterKind w);


typedef enum EntrySyncPath {
	ENTRY_SYNC_NOOP,       /* no used bit changes (unused bits may still be written) */
	ENTRY_SYNC_HITLESS,    /* one critical quantum, the entry is never non-present */
	ENTRY_SYNC_DISRUPTIVE, /* passes through a non-present entry */
	ENTRY_SYNC_DIRECT,     /* unordered stores: no guarantee at all */
	_ENTRY_SYNC_PATH_MAX,
} EntrySyncPath;

typedef struct EntrySyncResult {
	EntrySyncPath path;
	unsigned critical; /* quanta whose used bits had to change (entry-sync only, else 0) */
	unsigned syncs;
} EntrySyncResult;

typedef struct EntryWriter EntryWriter;
struct EntryWriter {
	/* Required. Called between steps, after the stores of a step. */
	void (*sync)(EntryWriter *w);
	/* Optional (tests): called after every quantum store. */
	void (*stored)(EntryWriter *w, const PasidEntry *entry, unsigned quantum);
};

/*
 * entry must be written only through these functions by one thread at a time
 * (it is read back with plain loads); target must set only bits that its own
 * used bits cover, as pasid_entry_build() guarantees.
 */
EntrySyncResult entry_sync_write(EntryWriter *w, PasidEntry *entry, const PasidEntry *target);
EntrySyncResult entry_clear_then_update_write(EntryWriter *w, PasidEntry *entry,
					      const PasidEntry *target);
EntrySyncResult entry_direct_write(EntryWriter *w, PasidEntry *entry, const PasidEntry *target);
EntrySyncResult entry_write(EntryWriterKind kind, EntryWriter *w, PasidEntry *entry,
			    const PasidEntry *target);

/* What entry_sync_write() would do, without touching anything. */
EntrySyncResult entry_sync_predict(const PasidEntry *cur, const PasidEntry *target);

const char *
entry_sync_path_to_string(EntrySyncPath p); /* "no-op", "hitless", "disruptive", "direct" */
