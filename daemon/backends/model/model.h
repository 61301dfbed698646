/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The simulated IOMMU behind the model backend: a scalable-mode PASID table
 * (a PASID directory of 64-entry leaf tables, allocated only where a point
 * lives; the RID is RID_PASID 0), the page tables the entries point to, the
 * "physical" memory DMA lands in, and the writer side of the PASID-cache
 * protocol. The walker and traffic threads that read it live in walker.c.
 *
 * Domains: every attachment point has a transition kind; domain i of a kind is
 * one configuration (PGTT, DID, table pointers), shared by all points of that
 * kind as a real domain attached to several PASIDs would be.
 *
 * Page tables are range maps named by the pointer value written into the
 * entry; every domain maps [iova, iova+map_size) onto the same memory, except
 * that with Layout=missing-range the tables of odd domains map nothing.
 *
 * PASID-cache protocol (an invalidation with wait, without locks): every point
 * has an invalidation generation inv_gen, the walker a translation seqcount
 * tseq that is odd while it translates. A translation stores tseq odd, then
 * loads inv_gen and re-reads the entry if it changed since the cached copy. A
 * sync increments inv_gen and, if tseq was odd, waits until it moves: by
 * the sequentially consistent order of those four accesses, either the
 * translation sees the new generation and re-reads the entry, or the sync
 * sees it in flight and waits for it. tseq only has to move, not turn even,
 * so a walker that is always busy cannot starve a sync.
 */

#include <stddef.h>
#include <stdint.h>

#include "core/backend.h"
#include "vtd/entry-sync.h"
#include "vtd/pasid-entry.h"
#include "core/scenario.h"

#ifndef container_of
#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))
#endif

/* The model's IOMMU is 48-bit (4-level); its PASID table is two-level like VT-d's. */
#define MODEL_ADDRESS_BITS	48
#define MODEL_PASID_LEAF_SHIFT	6 /* 64 entries (one 4 KiB page) per leaf table */
#define MODEL_PASID_DIR_ENTRIES ((PASID_MAX >> MODEL_PASID_LEAF_SHIFT) + 1)
/* Nested stage 1 maps the DMA range here; stage 2 maps it back onto memory. */
#define MODEL_IPA_BASE UINT64_C(0x100000000000)

/*
 * Fault reasons. VT-d scalable-mode codes (the kernel's dma_remap_sm_fault_reasons,
 * which starts at 0x30) where the hardware has one; model-specific codes above
 * the 8-bit range for what only the model can tell.
 */
#define MODEL_FAULT_PASID_NOT_PRESENT 0x59  /* "SM: Present bit in PASID Table Entry is clear" */
#define MODEL_FAULT_PASID_INVALID     0x5B  /* "SM: Invalid Scalable-Mode PASID Table Entry" */
#define MODEL_FAULT_FS_TABLE	      0x70  /* unknown first-stage table pointer */
#define MODEL_FAULT_FS_NOT_PRESENT    0x71  /* IOVA not mapped by the first stage */
#define MODEL_FAULT_SS_PERMISSION     0x79  /* IOVA/IPA not mapped by the second stage */
#define MODEL_FAULT_SS_TABLE	      0x7B  /* unknown second-stage table pointer */
#define MODEL_FAULT_BEYOND_MAX	      0x83  /* pass-through address outside memory */
#define MODEL_FAULT_TORN_ENTRY	      0x100 /* present, valid, but matches no domain of the point */
#define MODEL_FAULT_DATA_MISMATCH     0x101 /* DMA completed but the destination is wrong */

const char *model_fault_reason_to_string(uint32_t reason);

typedef enum ModelTableClass {
	MODEL_TABLE_SS, /* second-stage only: IOVA → PA */
	MODEL_TABLE_S2, /* nested stage 2: IPA → PA */
	MODEL_TABLE_FS, /* first-stage only: IOVA → PA */
	MODEL_TABLE_S1, /* nested stage 1: IOVA → IPA */
	_MODEL_TABLE_CLASS_MAX,
} ModelTableClass;

/* A page table reduced to the one range it maps (size 0: maps nothing), named by model_table_ptr().
 */
typedef struct ModelTable {
	uint64_t in_base;
	uint64_t size;
	uint64_t out_base;
} ModelTable;

static inline bool model_table_map(const ModelTable *t, uint64_t in, uint64_t len, uint64_t *ret)
{
	if (in < t->in_base || len > t->size || in - t->in_base > t->size - len)
		return false;
	*ret = t->out_base + (in - t->in_base);
	return true;
}

/* The pointer value naming table i of a class: 4 KiB aligned, distinct per class. */
uint64_t model_table_ptr(ModelTableClass c, unsigned i);

/* Which class of table an entry's SSPTPTR / FSPTPTR must name for its PGTT. */
static inline ModelTableClass model_ss_class(unsigned pgtt)
{
	return pgtt == PASID_PGTT_NESTED ? MODEL_TABLE_S2 : MODEL_TABLE_SS;
}

static inline ModelTableClass model_fs_class(unsigned pgtt)
{
	return pgtt == PASID_PGTT_NESTED ? MODEL_TABLE_S1 : MODEL_TABLE_FS;
}

typedef struct ModelDomain {
	PasidEntry entry; /* built from config: used bits only */
	PasidEntry used;
	PasidConfig config;
	unsigned index;
	const ModelTable *ss; /* second-stage only: IOVA → PA; nested: IPA → PA */
	const ModelTable *fs; /* first-stage only: IOVA → PA; nested: IOVA → IPA */
	/* Written by the walker only. */
	uint64_t translations;
	uint64_t faults;
} ModelDomain;

/*
 * Configuration of domain i of a kind (pure; n is not needed: kinds repeat
 * with period 2). DIDs are distinct across kinds and, where the kind changes
 * the DID, across domains.
 */
int model_domain_config(TransitionKind kind, unsigned i, PasidConfig *ret);

/*
 * The entry_sync analysis of a kind over the ordered domain pairs a pattern
 * visits (ping-pong: 0↔1; round-robin: i → i+1; random: every pair among the
 * first 64 domains, which covers every pair class since kinds repeat with
 * period 2): the worst path, the most critical quanta and the most syncs.
 */
int model_predict(TransitionKind kind, Pattern pattern, unsigned n_domains, EntrySyncResult *ret,
		  unsigned *ret_pairs);

typedef struct ModelKind {
	TransitionKind kind;
	ModelDomain *domains;	   /* n_domains */
	EntrySyncResult predicted; /* worst path over the pairs the pattern visits */
	unsigned n_pairs;	   /* distinct ordered pairs analysed */
} ModelKind;

typedef struct Model Model;

typedef struct ModelPoint {
	/* Written by the point's writer, read by the walker. */
	_Alignas(64) uint64_t inv_gen;
	unsigned target_domain; /* the domain being written: the walker's first guess */

	/* The writer's own (the main thread, then the point's worker). */
	_Alignas(64) EntryWriter writer;
	Model *model;
	PasidEntry *entry; /* in the PASID table */
	const ModelKind *kind;
	uint32_t pasid; /* ATTACH_POINT_RID or 1..PASID_MAX */
	unsigned index;
	uint64_t writes;
	uint64_t replacements;
	uint64_t syncs;
	uint64_t paths[_ENTRY_SYNC_PATH_MAX];

	/* The walker's own: its PASID-cache entry and counters. */
	_Alignas(64) const ModelDomain *cache_domain;
	uint64_t cache_gen;
	bool cache_valid;
	uint64_t translations;
	uint64_t faults;

	/* The traffic thread's own. */
	_Alignas(64) uint64_t dma_ok;
	uint64_t dma_errors;
	AttachPointState *state; /* window attribution; NULL: never during a replace */
} ModelPoint;

struct Model {
	uint64_t iova;
	uint64_t map_size;
	unsigned n_domains;
	Layout layout;
	Pattern pattern;
	EntryWriterKind writer;

	uint8_t *memory; /* PA [mem_base, mem_base + mem_size) */
	uint64_t mem_base;
	uint64_t mem_size;

	ModelTable *tables[_MODEL_TABLE_CLASS_MAX];
	ModelKind *kinds[_TRANSITION_KIND_MAX]; /* only kinds in use */
	PasidEntry **pasid_dir; /* MODEL_PASID_DIR_ENTRIES leaf tables, allocated on first use */

	ModelPoint *points;
	size_t n_points;

	/* The walker's translation seqcount: odd while a translation is in flight. */
	_Alignas(64) uint64_t tseq;
};

typedef struct ModelParams {
	uint64_t iova;
	uint64_t map_size;
	unsigned n_domains;
	Layout layout;
	Pattern pattern;
	EntryWriterKind writer;
	const uint32_t *points; /* ATTACH_POINT_RID or PASIDs */
	size_t n_points;
	const TransitionKind *transitions; /* round-robin over points; empty: ss-did */
	size_t n_transitions;
	AttachPointState *aps; /* n_points entries or NULL */
} ModelParams;

/* -EINVAL with a message in *error (malloc'd) for parameters the model cannot honour. */
int model_new(const ModelParams *params, Model **ret, char **error);
Model *model_free(Model *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Model *, model_free);

/* The table a pointer names, NULL if it names none of the model's. */
const ModelTable *model_table_lookup(const Model *m, ModelTableClass c, uint64_t ptr);

/* Writes domain's entry into the point's PASID entry with the model's writer. */
int model_write(Model *m, unsigned ap, unsigned domain, EntrySyncResult *ret);
/* Writes a non-present entry. */
int model_clear(Model *m, unsigned ap, EntrySyncResult *ret);

/*
 * The PASID table slot of a point (the RID's is RID_PASID's), allocating its
 * leaf table on first use; NULL for a PASID beyond PASID_MAX or on OOM.
 */
PasidEntry *model_pasid_entry(Model *m, uint32_t point);
