/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Scenario files: systemd-style INI, parsed only by the daemon. See
 * docs/scenarios.md for the format. scenario_parse() reports the first error
 * as "SOURCE:LINE: [Section] Key=value: problem" (or "SOURCE: [Section] Key=
 * is required" for missing keys; overrides report "override Section.Key").
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "vtd/entry-sync.h"

/* The requester-ID attachment (no PASID). PASIDs are 1..PASID_MAX. */
#define ATTACH_POINT_RID UINT32_MAX
#define PASID_MAX	 0xFFFFFu /* VT-d and PCIe PASIDs are 20 bits */
#define SCENARIO_MAX_POINTS  4096
#define SCENARIO_MAX_DOMAINS 4096
#define SCENARIO_MAX_WORKERS 256

typedef enum Pattern {
	PATTERN_PING_PONG,   /* 0,1,0,1,… (needs ≥2 domains; with more, alternates 0 and 1) */
	PATTERN_ROUND_ROBIN, /* 0,1,…,N-1,0,… */
	PATTERN_RANDOM,	     /* uniform over the other N-1 domains (never a no-op replace) */
	_PATTERN_MAX,
} Pattern;

/* [Traffic] NvmeMode= of Engine=nvme. */
typedef enum NvmeMode {
	NVME_MODE_READ_VERIFY,	/* re-read an LBA range against a reference copy: non-destructive */
	NVME_MODE_WRITE_VERIFY, /* write pattern + sequence number, read back: destructive */
	_NVME_MODE_MAX,
} NvmeMode;

const char *nvme_mode_to_string(NvmeMode m);

/* [Traffic] NvmeCompletions= of Engine=nvme: how the driver learns that a command completed. */
typedef enum NvmeCompletions {
	NVME_COMPLETIONS_POLL, /* read the completion queues' phase bits, backing off in sleeps */
	NVME_COMPLETIONS_MSIX, /* sleep until the controller's MSI-X vector 0 signals an eventfd */
	_NVME_COMPLETIONS_MAX,
} NvmeCompletions;

const char *nvme_completions_to_string(NvmeCompletions c);

typedef enum Layout {
	LAYOUT_IDENTICAL,     /* every domain maps the DMA buffer at the same IOVA → hitless-eligible */
	LAYOUT_MISSING_RANGE, /* odd-numbered domains lack the DMA range: a positive control */
	_LAYOUT_MAX,
} Layout;

/*
 * What each replacement changes in a VT-d scalable-mode PASID entry. Every
 * attachment point of a model run is given one kind (round-robin over the
 * list); its domains differ exactly in what the kind names.
 */
typedef enum TransitionKind {
	TRANSITION_SS_PTR,	/* second-stage only: new SSPTPTR, same DID */
	TRANSITION_SS_DID,	/* second-stage only: new SSPTPTR and new DID */
	TRANSITION_FS_PTR,	/* first-stage only: new FSPTPTR, same DID */
	TRANSITION_FS_DID,	/* first-stage only: new FSPTPTR and new DID */
	TRANSITION_NESTED_S1,	/* nested: new stage-1 table (FSPTPTR), same stage-2 and DID */
	TRANSITION_NESTED_S2,	/* nested: new stage-2 (SSPTPTR + DID), same stage-1 */
	TRANSITION_NESTED_BOTH, /* nested: new stage-1 and new stage-2 + DID */
	TRANSITION_SS_PT,	/* alternate second-stage and pass-through, same DID */
	TRANSITION_SS_FS,	/* alternate second-stage and first-stage, same DID */
	TRANSITION_FS_PT,	/* alternate first-stage and pass-through, same DID */
	TRANSITION_PT_DID,	/* pass-through with a new DID */
	_TRANSITION_KIND_MAX,
} TransitionKind;

typedef enum ExpectMetric {
	EXPECT_FAULTS,
	EXPECT_FAULTS_DURING_REPLACE,
	EXPECT_FAULTS_AT_REST,
	EXPECT_DMA_TRANSFERS,
	EXPECT_DMA_ERRORS,
	EXPECT_REPLACEMENTS,
	EXPECT_REPLACE_ERRORS,
	EXPECT_RATE,	       /* replacements/s over the run */
	EXPECT_LATENCY_P99_NS, /* replace() latency */
	_EXPECT_METRIC_MAX,
} ExpectMetric;

typedef enum Comparison {
	CMP_EQ,
	CMP_NE,
	CMP_LT,
	CMP_LE,
	CMP_GT,
	CMP_GE,
	_CMP_MAX,
} Comparison;

typedef struct Expectation {
	ExpectMetric metric;
	Comparison cmp;
	double value;
	unsigned line; /* 0 for overrides */
} Expectation;

typedef struct Scenario {
	char *source;	 /* file name used in messages */
	char *text;	 /* the scenario as it was given */
	char *overrides; /* "Section.Key=value" lines applied after it, or NULL */
	unsigned line_count;

	/* [Scenario] */
	char *name;	   /* Name=, default: source basename without .conf */
	char *description; /* Description= */
	char *backend;	   /* Backend= (required): model, mock, vfio */
	char *device;	   /* Device=, default per backend ("model0", "mock0"); a BDF for vfio */
	bool bind;	   /* Bind= (vfio): move the device to vfio-pci and back */

	/* [Attach] */
	uint32_t *points; /* Points=, default "RID"; sorted as written, no duplicates */
	size_t n_points;
	unsigned workers; /* Workers=, default n_points; 1 ≤ workers ≤ n_points */

	/* [Domains] */
	unsigned n_domains; /* Count=, default 2, ≥ 2 */
	Layout layout;	    /* Layout=identical|missing-range */
	uint64_t iova;	    /* IOVA=, default 0x100000, page aligned */
	uint64_t map_size;  /* MapSize=, default 64K, page multiple */

	/* [Replace] */
	Pattern pattern;	/* Pattern=ping-pong|round-robin|random */
	double rate;		/* Rate=max → 0, else Hz > 0 (whole run) */
	uint64_t count;		/* Count=, 0 = no count limit */
	uint64_t duration_ns;	/* Duration=, 0 = no time limit */
	uint64_t seed;		/* Seed=, for Pattern=random */
	uint64_t max_errors;	/* MaxErrors=, default 0: the first failed replace fails the run */
	uint64_t settle_ns;	/* SettleTime=, fault attribution window after a replace ends */

	/* [Traffic] */
	bool traffic;	   /* Enable=, default yes when the backend has an engine */
	char *engine;	   /* Engine=, default per backend ("model", "edu") */
	uint32_t dma_size; /* Size=, default 1024, 1 ≤ size ≤ MapSize */
	double dma_rate;   /* Rate=max → 0, else transfers/s */
	bool verify;	   /* Verify=, default yes */
	/* Keys of Engine=nvme only (the parser refuses them with any other engine). */
	NvmeMode nvme_mode;	 /* NvmeMode=, default read-verify */
	uint64_t nvme_lba_start; /* NvmeLBA=START+COUNT; count 0 when unset */
	uint64_t nvme_lba_count;
	bool nvme_allow_write;	 /* NvmeAllowWrite=, default no */
	uint32_t nvme_namespace; /* Namespace=, default 1 */
	unsigned queue_depth;	 /* QueueDepth=, default 64 (the engine checks its limits) */
	unsigned queues;	 /* Queues=, default 1: I/O queue pairs the commands spread over */
	NvmeCompletions nvme_completions; /* NvmeCompletions=, default poll */

	/* [Model] (Backend=model only) */
	EntryWriterKind writer;	     /* Writer=entry-sync|clear-then-update|direct */
	TransitionKind *transitions; /* Transitions=, default ss-did */
	size_t n_transitions;

	/* [Expect] */
	Expectation *expect;
	size_t n_expect;

	/* Where each key got its value, for errors found after parsing (scenario_key_where()). */
	struct Origin *origins;
} Scenario;

/*
 * For an error about key ("Traffic.QueueDepth") found after parsing, when
 * the device is known: the assignment that set it, as parse errors name it
 * ("x.conf:6: [Traffic] QueueDepth=4096", "override Traffic.QueueDepth=4096"),
 * or "[Traffic] QueueDepth=<effective> (the default)" when nothing set it.
 * The caller frees; NULL when out of memory.
 */
char *scenario_key_where(const Scenario *s, const char *key, const char *effective);

/*
 * What a backend's scenario hook (BackendScenarioRules.check) sees of the
 * parser: which keys were set, and a way to fail at a key's line. Keys are
 * named "Section.Key" ("Traffic.Size").
 */
typedef struct Parser ScenarioCheck;
bool scenario_check_is_set(const ScenarioCheck *c, const char *key);
/* "file:line: [Section] Key=value: message" for the key; returns -EINVAL (or -ENOMEM). */
int scenario_check_fail(ScenarioCheck *c, const char *key, const char *fmt, ...) _printf_(3, 4);
/* Of two keys that conflict, the one assigned last: the change that broke things. */
const char *scenario_check_later(const ScenarioCheck *c, const char *a, const char *b);

/*
 * Parses text. overrides is a NULL-terminated list of "Section.Key=value"
 * applied after the file (may be NULL). Returns 0, or -EINVAL/-ENOMEM with a
 * human-readable *ret_error (caller frees) naming line and key.
 */
int scenario_parse(const char *text, const char *source, char *const *overrides, Scenario **ret,
		   char **ret_error);
Scenario *scenario_free(Scenario *s);

/* Names used in files, JSON and on the bus. */
const char *pattern_to_string(Pattern p);
const char *layout_to_string(Layout l);
const char *transition_kind_to_string(TransitionKind k);
const char *expect_metric_to_string(ExpectMetric m); /* the [Expect] key, e.g. "FaultsDuringReplace" */
const char *comparison_to_string(Comparison c);	     /* "=", "!=", "<", "<=", ">", ">=" */
int transition_kind_from_string(const char *s);	     /* -EINVAL if unknown */

/* "RID" or "PASID 5"; buf ≥ 16 bytes. */
const char *attach_point_to_string(uint32_t point, char *buf, size_t n);

bool expectation_holds(const Expectation *e, double actual);
