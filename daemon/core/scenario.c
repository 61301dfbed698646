/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Scenario files. The format is documented in docs/scenarios.md; this file is
 * its only parser.
 *
 * Parsing runs in two phases. Every assignment, from the file and then from the
 * overrides, is checked on its own as it is read, so the first error in file
 * order is the one reported, even for a value that a later line replaces. Then
 * finish() fills in the defaults that depend on other keys (the backend's
 * device and DMA engine, the worker count) and runs the checks that involve
 * more than one key, blaming the line of the key that has to change.
 */

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <assert.h>
#include <strings.h>

#include "core/backend.h"
#include "core/scenario.h"
#include "ini.h"
#include "macro.h"
#include "parse-util.h"
#include "pci-address.h"

#define LINE_MAX_BYTES	4096
#define PAGE_SIZE_BYTES UINT64_C(4096)
/* The backends allocate (vfio: pin) the whole mapping; a typo must not cost the host its memory. */
#define MAP_SIZE_MAX (UINT64_C(1) << 30)
/* Longer user text is cut in error messages so that one line stays readable. */
#define SHOW_MAX 80
/* 100 years of 365.25 days. */
#define DURATION_MAX_NS (UINT64_C(3155760000) * UINT64_C(1000000000))

#define DEFAULT_N_DOMAINS 2u
#define DEFAULT_IOVA	  UINT64_C(0x100000)
#define DEFAULT_MAP_SIZE  (UINT64_C(64) << 10)
#define DEFAULT_DMA_SIZE  1024u
#define DEFAULT_NAMESPACE 1u
#define DEFAULT_QUEUE_DEPTH 64u
#define DEFAULT_QUEUES	    1u

typedef enum Section {
	SECTION_SCENARIO,
	SECTION_ATTACH,
	SECTION_DOMAINS,
	SECTION_REPLACE,
	SECTION_TRAFFIC,
	SECTION_MODEL,
	SECTION_EXPECT,
	_SECTION_MAX,
	_SECTION_INVALID = -EINVAL,
} Section;

static const char *const section_names[_SECTION_MAX] = {
	[SECTION_SCENARIO] = "Scenario", [SECTION_ATTACH] = "Attach",
	[SECTION_DOMAINS] = "Domains",	 [SECTION_REPLACE] = "Replace",
	[SECTION_TRAFFIC] = "Traffic",	 [SECTION_MODEL] = "Model",
	[SECTION_EXPECT] = "Expect",
};

typedef enum Key {
	KEY_NAME,
	KEY_DESCRIPTION,
	KEY_BACKEND,
	KEY_DEVICE,
	KEY_BIND,
	KEY_POINTS,
	KEY_WORKERS,
	KEY_N_DOMAINS,
	KEY_LAYOUT,
	KEY_IOVA,
	KEY_MAP_SIZE,
	KEY_PATTERN,
	KEY_RATE,
	KEY_COUNT,
	KEY_DURATION,
	KEY_SEED,
	KEY_MAX_ERRORS,
	KEY_SETTLE_TIME,
	KEY_ENABLE,
	KEY_ENGINE,
	KEY_DMA_SIZE,
	KEY_DMA_RATE,
	KEY_VERIFY,
	KEY_NVME_MODE,
	KEY_NVME_LBA,
	KEY_NVME_ALLOW_WRITE,
	KEY_NAMESPACE,
	KEY_QUEUE_DEPTH,
	KEY_QUEUES,
	KEY_NVME_COMPLETIONS,
	KEY_WRITER,
	KEY_TRANSITIONS,
	KEY_EXPECT_FIRST,
	_KEY_MAX = KEY_EXPECT_FIRST + _EXPECT_METRIC_MAX,
} Key;

static const struct {
	Section section;
	const char *name;
	const char *engine; /* a key of this [Traffic] Engine= only, or NULL */
} key_table[_KEY_MAX] = {
	[KEY_NAME] = {SECTION_SCENARIO, "Name"},
	[KEY_DESCRIPTION] = {SECTION_SCENARIO, "Description"},
	[KEY_BACKEND] = {SECTION_SCENARIO, "Backend"},
	[KEY_DEVICE] = {SECTION_SCENARIO, "Device"},
	[KEY_BIND] = {SECTION_SCENARIO, "Bind"},
	[KEY_POINTS] = {SECTION_ATTACH, "Points"},
	[KEY_WORKERS] = {SECTION_ATTACH, "Workers"},
	[KEY_N_DOMAINS] = {SECTION_DOMAINS, "Count"},
	[KEY_LAYOUT] = {SECTION_DOMAINS, "Layout"},
	[KEY_IOVA] = {SECTION_DOMAINS, "IOVA"},
	[KEY_MAP_SIZE] = {SECTION_DOMAINS, "MapSize"},
	[KEY_PATTERN] = {SECTION_REPLACE, "Pattern"},
	[KEY_RATE] = {SECTION_REPLACE, "Rate"},
	[KEY_COUNT] = {SECTION_REPLACE, "Count"},
	[KEY_DURATION] = {SECTION_REPLACE, "Duration"},
	[KEY_SEED] = {SECTION_REPLACE, "Seed"},
	[KEY_MAX_ERRORS] = {SECTION_REPLACE, "MaxErrors"},
	[KEY_SETTLE_TIME] = {SECTION_REPLACE, "SettleTime"},
	[KEY_ENABLE] = {SECTION_TRAFFIC, "Enable"},
	[KEY_ENGINE] = {SECTION_TRAFFIC, "Engine"},
	[KEY_DMA_SIZE] = {SECTION_TRAFFIC, "Size"},
	[KEY_DMA_RATE] = {SECTION_TRAFFIC, "Rate"},
	[KEY_VERIFY] = {SECTION_TRAFFIC, "Verify"},
	[KEY_NVME_MODE] = {SECTION_TRAFFIC, "NvmeMode", "nvme"},
	[KEY_NVME_LBA] = {SECTION_TRAFFIC, "NvmeLBA", "nvme"},
	[KEY_NVME_ALLOW_WRITE] = {SECTION_TRAFFIC, "NvmeAllowWrite", "nvme"},
	[KEY_NAMESPACE] = {SECTION_TRAFFIC, "Namespace", "nvme"},
	[KEY_QUEUE_DEPTH] = {SECTION_TRAFFIC, "QueueDepth", "nvme"},
	[KEY_QUEUES] = {SECTION_TRAFFIC, "Queues", "nvme"},
	[KEY_NVME_COMPLETIONS] = {SECTION_TRAFFIC, "NvmeCompletions", "nvme"},
	[KEY_WRITER] = {SECTION_MODEL, "Writer"},
	[KEY_TRANSITIONS] = {SECTION_MODEL, "Transitions"},
	[KEY_EXPECT_FIRST + EXPECT_FAULTS] = {SECTION_EXPECT, "Faults"},
	[KEY_EXPECT_FIRST + EXPECT_FAULTS_DURING_REPLACE] = {SECTION_EXPECT, "FaultsDuringReplace"},
	[KEY_EXPECT_FIRST + EXPECT_FAULTS_AT_REST] = {SECTION_EXPECT, "FaultsAtRest"},
	[KEY_EXPECT_FIRST + EXPECT_DMA_TRANSFERS] = {SECTION_EXPECT, "DmaTransfers"},
	[KEY_EXPECT_FIRST + EXPECT_DMA_ERRORS] = {SECTION_EXPECT, "DmaErrors"},
	[KEY_EXPECT_FIRST + EXPECT_REPLACEMENTS] = {SECTION_EXPECT, "Replacements"},
	[KEY_EXPECT_FIRST + EXPECT_REPLACE_ERRORS] = {SECTION_EXPECT, "ReplaceErrors"},
	[KEY_EXPECT_FIRST + EXPECT_RATE] = {SECTION_EXPECT, "MinRate"},
	[KEY_EXPECT_FIRST + EXPECT_LATENCY_P99_NS] = {SECTION_EXPECT, "MaxLatencyP99"},
};

/* Backend= and Engine= values come from the backends' table (backend.c), never a list of our own. */
#define NAMES_MAX 16

/* The compiled-in backends' names, in the table's order. */
static size_t backend_names(const char *names[static NAMES_MAX])
{
	size_t n = 0;

	for (const BackendOps *const *b = backends; *b && n < NAMES_MAX; b++)
		names[n++] = (*b)->name;
	return n;
}

/* Every backend's DMA engines, in table order, then "none". */
static size_t engine_names(const char *names[static NAMES_MAX])
{
	size_t n = 0;

	for (const BackendOps *const *b = backends; *b; b++)
		for (const char *const *e = (*b)->scenario.engines; e && *e && n < NAMES_MAX - 1; e++)
			names[n++] = *e;
	names[n++] = "none";
	return n;
}

static const char *const pattern_names[_PATTERN_MAX] = {
	[PATTERN_PING_PONG] = "ping-pong",
	[PATTERN_ROUND_ROBIN] = "round-robin",
	[PATTERN_RANDOM] = "random",
};

static const char *const nvme_mode_names[_NVME_MODE_MAX] = {
	[NVME_MODE_READ_VERIFY] = "read-verify",
	[NVME_MODE_WRITE_VERIFY] = "write-verify",
};

const char *nvme_mode_to_string(NvmeMode m)
{
	return m < _NVME_MODE_MAX ? nvme_mode_names[m] : NULL;
}

static const char *const nvme_completions_names[_NVME_COMPLETIONS_MAX] = {
	[NVME_COMPLETIONS_POLL] = "poll",
	[NVME_COMPLETIONS_MSIX] = "msix",
};

const char *nvme_completions_to_string(NvmeCompletions c)
{
	return c < _NVME_COMPLETIONS_MAX ? nvme_completions_names[c] : NULL;
}

static const char *const layout_names[_LAYOUT_MAX] = {
	[LAYOUT_IDENTICAL] = "identical",
	[LAYOUT_MISSING_RANGE] = "missing-range",
};

static const char *const transition_kind_names[_TRANSITION_KIND_MAX] = {
	[TRANSITION_SS_PTR] = "ss-ptr",
	[TRANSITION_SS_DID] = "ss-did",
	[TRANSITION_FS_PTR] = "fs-ptr",
	[TRANSITION_FS_DID] = "fs-did",
	[TRANSITION_NESTED_S1] = "nested-s1",
	[TRANSITION_NESTED_S2] = "nested-s2",
	[TRANSITION_NESTED_BOTH] = "nested-both",
	[TRANSITION_SS_PT] = "ss-pt",
	[TRANSITION_SS_FS] = "ss-fs",
	[TRANSITION_FS_PT] = "fs-pt",
	[TRANSITION_PT_DID] = "pt-did",
};

static const char *const comparison_names[_CMP_MAX] = {
	[CMP_EQ] = "=",	 [CMP_NE] = "!=", [CMP_LT] = "<",
	[CMP_LE] = "<=", [CMP_GT] = ">",  [CMP_GE] = ">=",
};

static int lookup(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (names[i] && streq(names[i], s))
			return (int)i;
	return -EINVAL;
}

const char *pattern_to_string(Pattern p)
{
	return p >= 0 && p < _PATTERN_MAX ? pattern_names[p] : NULL;
}

const char *layout_to_string(Layout l)
{
	return l >= 0 && l < _LAYOUT_MAX ? layout_names[l] : NULL;
}

const char *transition_kind_to_string(TransitionKind k)
{
	return k >= 0 && k < _TRANSITION_KIND_MAX ? transition_kind_names[k] : NULL;
}

const char *expect_metric_to_string(ExpectMetric m)
{
	return m >= 0 && m < _EXPECT_METRIC_MAX ? key_table[KEY_EXPECT_FIRST + m].name : NULL;
}

const char *comparison_to_string(Comparison c)
{
	return c >= 0 && c < _CMP_MAX ? comparison_names[c] : NULL;
}

int transition_kind_from_string(const char *s)
{
	return s ? lookup(transition_kind_names, ELEMENTSOF(transition_kind_names), s) : -EINVAL;
}

const char *attach_point_to_string(uint32_t point, char *buf, size_t n)
{
	if (point == ATTACH_POINT_RID)
		snprintf(buf, n, "RID");
	else
		snprintf(buf, n, "PASID %" PRIu32, point);
	return buf;
}

bool expectation_holds(const Expectation *e, double actual)
{
	/* A figure that could not be measured satisfies nothing, not even "!=". */
	if (!e || isnan(actual))
		return false;

	switch (e->cmp) {
	case CMP_EQ:
		return actual == e->value;
	case CMP_NE:
		return actual != e->value;
	case CMP_LT:
		return actual < e->value;
	case CMP_LE:
		return actual <= e->value;
	case CMP_GT:
		return actual > e->value;
	case CMP_GE:
		return actual >= e->value;
	default:
		return false;
	}
}

/* Where a key got its current value. */
typedef struct Origin {
	char *value;   /* as assigned, trimmed */
	unsigned line; /* 0 for an override */
	unsigned seq;  /* order of assignment, across the file and the overrides */
	bool set;      /* a non-empty value; an empty one restores the default */
} Origin;

Scenario *scenario_free(Scenario *s)
{
	if (!s)
		return NULL;
	free(s->source);
	free(s->text);
	free(s->overrides);
	free(s->name);
	free(s->description);
	free(s->backend);
	free(s->device);
	free(s->points);
	free(s->engine);
	free(s->transitions);
	free(s->expect);
	if (s->origins)
		for (size_t i = 0; i < _KEY_MAX; i++)
			free(s->origins[i].value);
	free(s->origins);
	return mfree(s);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Scenario *, scenario_free);

/* Optimal string alignment distance (a transposition counts once), ignoring case. */
static unsigned edit_distance(const char *a, const char *b)
{
	enum { N = 40 };
	size_t la = strlen(a), lb = strlen(b);
	unsigned d[N + 1][N + 1];

	/* Callers only care about small distances between short words. */
	if (la > N || lb > N)
		return UINT_MAX;

	for (size_t i = 0; i <= la; i++)
		d[i][0] = (unsigned)i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			unsigned cost = tolower((unsigned char)a[i - 1]) !=
					tolower((unsigned char)b[j - 1]);
			unsigned v = MIN(d[i - 1][j] + 1, d[i][j - 1] + 1);

			v = MIN(v, d[i - 1][j - 1] + cost);
			if (i > 1 && j > 1 &&
			    tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 2]) &&
			    tolower((unsigned char)a[i - 2]) == tolower((unsigned char)b[j - 1]))
				v = MIN(v, d[i - 2][j - 2] + 1);
			d[i][j] = v;
		}
	return d[la][lb];
}

/*
 * The candidate a typo most likely meant: the one closest to word, at most 2
 * edits away. Nothing when two are equally close; a wrong guess misleads more
 * than no guess.
 */
static const char *suggest(const char *word, const char *const *candidates, size_t n)
{
	const char *best = NULL;
	unsigned best_d = 3;
	bool tie = false;

	for (size_t i = 0; i < n; i++) {
		unsigned d;

		if (!candidates[i])
			continue;
		d = edit_distance(word, candidates[i]);
		if (d < best_d) {
			best = candidates[i];
			best_d = d;
			tie = false;
		} else if (d == best_d)
			tie = true;
	}
	return tie ? NULL : best;
}

/* "a, b or c"; NULL on OOM. */
static char *join_names(const char *const *names, size_t n)
{
	size_t len = 1;
	char *buf, *p;

	for (size_t i = 0; i < n; i++)
		len += strlen(names[i]) + 4;
	buf = malloc(len);
	if (!buf)
		return NULL;
	p = buf;
	*p = 0;
	for (size_t i = 0; i < n; i++)
		p = stpcpy(stpcpy(p, i == 0 ? "" : i + 1 == n ? " or " : ", "), names[i]);
	return buf;
}

/*
 * Whether a line holds only what a scenario can contain: valid UTF-8 (names
 * and descriptions go out on the bus, which rejects anything else) and no
 * control characters but tabs. Returns 0, -EILSEQ, or the offending byte.
 */
static int check_text(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		unsigned char c = u[i];
		size_t len;

		if (c < 0x80) {
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				return c;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			len = 2;
		else if (c >= 0xe0 && c <= 0xef)
			len = 3;
		else if (c >= 0xf0 && c <= 0xf4)
			len = 4;
		else
			return -EILSEQ;
		if (n - i < len)
			return -EILSEQ;
		for (size_t k = 1; k < len; k++)
			if ((u[i + k] & 0xc0) != 0x80)
				return -EILSEQ;
		/* Overlong forms, UTF-16 surrogates and code points past U+10FFFF. */
		if ((c == 0xe0 && u[i + 1] < 0xa0) || (c == 0xed && u[i + 1] > 0x9f) ||
		    (c == 0xf0 && u[i + 1] < 0x90) || (c == 0xf4 && u[i + 1] > 0x8f))
			return -EILSEQ;
		i += len;
	}
	return 0;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Text as shown in messages: cut at a character boundary past SHOW_MAX bytes. */
typedef struct Shown {
	char buf[SHOW_MAX + sizeof("…")];
} Shown;

static const char *show(Shown *sh, const char *s)
{
	size_t n = strlen(s);

	if (n <= SHOW_MAX)
		return s;
	n = SHOW_MAX;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	memcpy(sh->buf, s, n);
	strcpy(sh->buf + n, "…");
	return sh->buf;
}

typedef struct Parser {
	Scenario *s;
	const char *source;
	Origin origin[_KEY_MAX];
	unsigned seq;
	bool has_expect[_EXPECT_METRIC_MAX];
	Expectation expect[_EXPECT_METRIC_MAX];
	char *error;
} Parser;

static void parser_done(Parser *p)
{
	for (size_t i = 0; i < _KEY_MAX; i++)
		free(p->origin[i].value);
	free(p->error);
	scenario_free(p->s);
}

/* Stores "where: problem" as the parse error. Takes where; returns -EINVAL or -ENOMEM. */
_printf_(3, 0) static int vfail(Parser *p, char *where, const char *fmt, va_list ap)
{
	_cleanup_free_ char *w = where, *problem = NULL;

	if (!w)
		return -ENOMEM;
	if (vasprintf(&problem, fmt, ap) < 0) {
		/* Its contents are undefined after a failure. */
		problem = NULL;
		return -ENOMEM;
	}
	if (asprintf(&p->error, "%s: %s", w, problem) < 0) {
		p->error = NULL;
		return -ENOMEM;
	}
	return -EINVAL;
}

static char *where_assignment(Parser *p, unsigned line, const char *section, const char *key,
			      const char *value)
{
	Shown a, b, c;
	char *w;
	int r;

	if (line == 0)
		r = asprintf(&w, "override %s.%s=%s", show(&a, section), show(&b, key),
			     show(&c, value));
	else
		r = asprintf(&w, "%s:%u: [%s] %s=%s", p->source, line, show(&a, section),
			     show(&b, key), show(&c, value));
	return r < 0 ? NULL : w;
}

_printf_(3, 4) static int fail_line(Parser *p, unsigned line, const char *fmt, ...)
{
	char *w;
	va_list ap;
	int r;

	if (asprintf(&w, "%s:%u", p->source, line) < 0)
		return -ENOMEM;
	va_start(ap, fmt);
	r = vfail(p, w, fmt, ap);
	va_end(ap);
	return r;
}

/* For overrides that cannot be split into section, key and value. */
_printf_(3, 4) static int fail_override(Parser *p, const char *raw, const char *fmt, ...)
{
	Shown sh;
	char *w;
	va_list ap;
	int r;

	if (asprintf(&w, "override %s", show(&sh, raw)) < 0)
		return -ENOMEM;
	va_start(ap, fmt);
	r = vfail(p, w, fmt, ap);
	va_end(ap);
	return r;
}

_printf_(6, 7) static int fail_assignment(Parser *p, unsigned line, const char *section,
					  const char *key, const char *value, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vfail(p, where_assignment(p, line, section, key, value), fmt, ap);
	va_end(ap);
	return r;
}

/* Blames the assignment that gave key k its current value. */
_printf_(3, 4) static int fail_key(Parser *p, Key k, const char *fmt, ...)
{
	const Origin *o = &p->origin[k];
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vfail(p,
		  where_assignment(p, o->line, section_names[key_table[k].section],
				   key_table[k].name, strempty(o->value)),
		  fmt, ap);
	va_end(ap);
	return r;
}

/* "SOURCE: [Section] Key= is required…": a key that no line set has no line to blame. */
static int fail_required(Parser *p, Key k, const char *why)
{
	if (asprintf(&p->error, "%s: [%s] %s= is required%s", p->source,
		     section_names[key_table[k].section], key_table[k].name, why) < 0) {
		p->error = NULL;
		return -ENOMEM;
	}
	return -EINVAL;
}

static int set_string(char **field, const char *value)
{
	char *c = NULL;

	if (!isempty(value)) {
		c = strdup(value);
		if (!c)
			return -ENOMEM;
	}
	free(*field);
	*field = c;
	return 0;
}

/* Decimal, or hex with 0x. Unlike strtoull(…, 0), a leading 0 does not mean octal. */
static int parse_number(const char *s, uint64_t *ret)
{
	unsigned long long v;
	const char *digits = s;
	int base = 10;
	char *end;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		digits = s + 2;
		base = 16;
	}
	if (!*digits)
		return -EINVAL;
	for (const char *c = digits; *c; c++)
		if (base == 16 ? !isxdigit((unsigned char)*c) : !isdigit((unsigned char)*c))
			return -EINVAL;
	errno = 0;
	v = strtoull(digits, &end, base);
	if (errno == ERANGE)
		return -ERANGE;
	*ret = v;
	return 0;
}

/* parse_size()/parse_count() with plain integers going through parse_number(). */
static int parse_size_value(const char *s, uint64_t *ret)
{
	int r = parse_number(s, ret);

	return r != -EINVAL ? r : parse_size(s, ret);
}

static int parse_count_value(const char *s, uint64_t *ret)
{
	int r = parse_number(s, ret);

	return r != -EINVAL ? r : parse_count(s, ret);
}

static int parse_duration_value(const char *s, uint64_t *ret)
{
	int r = parse_duration_ns(s, ret);

	/*
	 * parse_duration_ns() converts through llround(), which cannot represent
	 * 2^63 ns and up: such input comes back as a large bogus value. A bound
	 * well below that catches it, and no run needs to last a century.
	 */
	if (r == 0 && *ret > DURATION_MAX_NS)
		return -ERANGE;
	return r;
}

static int assign_enum(Parser *p, Key k, const char *value, const char *const *names, size_t n,
		       const char *what, int *ret)
{
	_cleanup_free_ char *list = NULL;
	const char *guess;
	int i;

	i = lookup(names, n, value);
	if (i >= 0) {
		*ret = i;
		return 0;
	}
	guess = suggest(value, names, n);
	if (guess)
		return fail_key(p, k, "unknown %s (did you mean %s?)", what, guess);
	list = join_names(names, n);
	if (!list)
		return -ENOMEM;
	return fail_key(p, k, "unknown %s (expected %s)", what, list);
}

static int assign_bool(Parser *p, Key k, const char *value, bool def, bool *ret)
{
	int b;

	if (isempty(value)) {
		*ret = def;
		return 0;
	}
	b = parse_boolean(value);
	if (b < 0)
		return fail_key(p, k, "not a boolean (yes or no)");
	*ret = b;
	return 0;
}

static int assign_rate(Parser *p, Key k, const char *value, double *ret)
{
	double v;
	int r;

	if (isempty(value) || streq(value, "max")) {
		*ret = 0;
		return 0;
	}
	r = parse_double(value, &v);
	if (r == -ERANGE)
		return fail_key(p, k, "out of range");
	if (r < 0)
		return fail_key(p, k, "not a number or \"max\"");
	if (v <= 0)
		return fail_key(p, k, "must be more than 0 Hz (write \"max\" for no limit)");
	*ret = v;
	return 0;
}

static int assign_unsigned(Parser *p, Key k, const char *value, unsigned def, unsigned min,
			   unsigned max, unsigned *ret)
{
	uint64_t v;
	int r;

	if (isempty(value)) {
		*ret = def;
		return 0;
	}
	r = parse_number(value, &v);
	if (r == -EINVAL)
		return fail_key(p, k, "not a number");
	if (r < 0 || v < min || v > max)
		return fail_key(p, k, "out of range (%u..%u)", min, max);
	*ret = (unsigned)v;
	return 0;
}

/* NvmeLBA=START+COUNT: both numbers, COUNT at least 1, the range inside 64 bits. */
static int assign_lba_range(Parser *p, Key k, const char *value)
{
	_cleanup_free_ char *copy = NULL;
	uint64_t start, count;
	char *plus;

	if (isempty(value)) {
		p->s->nvme_lba_start = p->s->nvme_lba_count = 0;
		return 0;
	}
	copy = strdup(value);
	if (!copy)
		return -ENOMEM;
	plus = strchr(copy, '+');
	if (!plus)
		return fail_key(p, k, "not START+COUNT (in logical blocks, e.g. 0+2048)");
	*plus = 0;
	if (parse_number(copy, &start) < 0 || parse_count_value(plus + 1, &count) < 0)
		return fail_key(p, k, "not START+COUNT (in logical blocks, e.g. 0+2048)");
	if (count == 0)
		return fail_key(p, k, "COUNT must be at least 1 block");
	if (start > UINT64_MAX - count)
		return fail_key(p, k, "START+COUNT runs past the end of the address space");
	p->s->nvme_lba_start = start;
	p->s->nvme_lba_count = count;
	return 0;
}

/* "RID", "5", "0x10", "1-63"; returns 0 with lo..hi, or -EINVAL after setting the error. */
static int parse_point_token(Parser *p, Key k, const char *tok, uint32_t *lo, uint32_t *hi)
{
	_cleanup_free_ char *copy = strdup(tok);
	char *dash, *ends[2];
	uint64_t v[2];
	Shown sh;

	*lo = *hi = 0;
	if (!copy)
		return -ENOMEM;
	dash = strchr(copy, '-');
	if (dash)
		*dash = 0;
	ends[0] = copy;
	ends[1] = dash ? dash + 1 : copy;

	for (size_t i = 0; i < 2; i++) {
		int r = parse_number(ends[i], &v[i]);

		if (r == -EINVAL)
			return fail_key(p, k,
					"\"%s\" is not RID, a PASID or a range of PASIDs like 1-63",
					show(&sh, tok));
		if (r == -ERANGE || v[i] > PASID_MAX)
			return fail_key(p, k, "PASID %s out of range (PASIDs are 1..%u)",
					show(&sh, ends[i]), PASID_MAX);
		if (v[i] == 0)
			return fail_key(
				p, k,
				"PASID 0 is not a PASID; write RID for the attachment without a PASID");
	}
	if (v[0] > v[1])
		return fail_key(p, k, "range %s is backwards (write %" PRIu64 "-%" PRIu64 ")",
				show(&sh, tok), v[1], v[0]);
	*lo = (uint32_t)v[0];
	*hi = (uint32_t)v[1];
	return 0;
}

static int assign_points(Parser *p, Key k, const char *value)
{
	_cleanup_free_ uint32_t *points = NULL;
	_cleanup_free_ uint8_t *seen = NULL;
	_cleanup_free_ char *copy = NULL;
	Scenario *s = p->s;
	bool rid = false;
	size_t n = 0;
	char *tok, *save;
	uint32_t *shrunk;

	if (isempty(value)) {
		points = malloc(sizeof(uint32_t));
		if (!points)
			return -ENOMEM;
		points[n++] = ATTACH_POINT_RID;
		goto done;
	}

	copy = strdup(value);
	points = malloc(SCENARIO_MAX_POINTS * sizeof(uint32_t));
	/* One bit per PASID, so that duplicates are found in the order written. */
	seen = calloc((PASID_MAX + 1) / 8, 1);
	if (!copy || !points || !seen)
		return -ENOMEM;

	for (tok = strtok_r(copy, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		uint32_t lo, hi;
		int r;

		if (streq(tok, "RID")) {
			if (rid)
				return fail_key(p, k, "RID listed twice");
			if (n == SCENARIO_MAX_POINTS)
				goto too_many;
			rid = true;
			points[n++] = ATTACH_POINT_RID;
			continue;
		}
		r = parse_point_token(p, k, tok, &lo, &hi);
		if (r < 0)
			return r;
		for (uint64_t v = lo; v <= hi; v++) {
			if (seen[v / 8] & (1u << (v % 8)))
				return fail_key(p, k, "PASID %" PRIu64 " listed twice", v);
			if (n == SCENARIO_MAX_POINTS)
				goto too_many;
			seen[v / 8] |= (uint8_t)(1u << (v % 8));
			points[n++] = (uint32_t)v;
		}
	}

	shrunk = realloc(points, n * sizeof(uint32_t));
	if (shrunk)
		points = shrunk;
done:
	free(s->points);
	s->points = TAKE_PTR(points);
	s->n_points = n;
	return 0;

too_many:
	return fail_key(p, k, "too many attachment points (at most %d)", SCENARIO_MAX_POINTS);
}

static int assign_transitions(Parser *p, Key k, const char *value)
{
	_cleanup_free_ TransitionKind *kinds = NULL;
	_cleanup_free_ char *copy = NULL;
	Scenario *s = p->s;
	size_t n = 0;
	char *tok, *save;

	/* Left unset, finish() picks the default for model runs only. */
	if (isempty(value)) {
		s->transitions = mfree(s->transitions);
		s->n_transitions = 0;
		return 0;
	}

	copy = strdup(value);
	/* A line has at most LINE_MAX_BYTES / 2 tokens. */
	kinds = malloc((strlen(value) / 2 + 1) * sizeof(TransitionKind));
	if (!copy || !kinds)
		return -ENOMEM;

	for (tok = strtok_r(copy, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		int kind = transition_kind_from_string(tok);

		if (kind < 0) {
			_cleanup_free_ char *list = NULL;
			const char *guess;
			Shown sh;

			guess = suggest(tok, transition_kind_names,
					ELEMENTSOF(transition_kind_names));
			if (guess)
				return fail_key(p, k,
						"unknown transition kind \"%s\" (did you mean %s?)",
						show(&sh, tok), guess);
			list = join_names(transition_kind_names, ELEMENTSOF(transition_kind_names));
			if (!list)
				return -ENOMEM;
			return fail_key(p, k, "unknown transition kind \"%s\" (expected %s)",
					show(&sh, tok), list);
		}
		kinds[n++] = (TransitionKind)kind;
	}

	free(s->transitions);
	s->transitions = TAKE_PTR(kinds);
	s->n_transitions = n;
	return 0;
}

static int assign_expectation(Parser *p, Key k, const char *value)
{
	static const char *const forms = "N, =N, !=N, <N, <=N, >N or >=N";
	ExpectMetric m = (ExpectMetric)(k - KEY_EXPECT_FIRST);
	Expectation *e = &p->expect[m];
	uint64_t n;
	int r;

	if (isempty(value)) {
		p->has_expect[m] = false;
		return 0;
	}

	e->metric = m;
	e->line = p->origin[k].line;

	switch (m) {
	case EXPECT_RATE: {
		double v;

		r = parse_double(value, &v);
		if (r == -ERANGE)
			return fail_key(p, k, "out of range");
		if (r < 0)
			return fail_key(p, k, "not a number (replacements per second)");
		if (v <= 0)
			return fail_key(p, k, "must be more than 0");
		e->cmp = CMP_GE;
		e->value = v;
		break;
	}
	case EXPECT_LATENCY_P99_NS:
		r = parse_duration_value(value, &n);
		if (r == -ERANGE)
			return fail_key(p, k, "out of range");
		if (r < 0)
			return fail_key(p, k, "not a duration (e.g. 500us, 2ms)");
		if (n == 0)
			return fail_key(p, k, "must be longer than 0");
		e->cmp = CMP_LE;
		e->value = (double)n;
		break;
	default: {
		/* Two-character operators first, so that "<=5" is not read as "<" and "=5". */
		static const Comparison order[] = {CMP_NE, CMP_LE, CMP_GE, CMP_LT, CMP_GT, CMP_EQ};
		const char *v = value;
		Comparison c = CMP_EQ;

		for (size_t i = 0; i < ELEMENTSOF(order); i++) {
			const char *op = comparison_names[order[i]];

			if (strncmp(value, op, strlen(op)) == 0) {
				c = order[i];
				v = value + strlen(op);
				break;
			}
		}
		while (is_blank(*v))
			v++;
		r = parse_count_value(v, &n);
		if (r == -ERANGE)
			return fail_key(p, k, "out of range");
		if (r < 0)
			return fail_key(p, k, "not a count or a comparison (%s)", forms);
		if (c == CMP_LT && n == 0)
			return fail_key(p, k, "can never hold: counts are never negative");
		e->cmp = c;
		e->value = (double)n;
		break;
	}
	}

	p->has_expect[m] = true;
	return 0;
}

/* Checks and stores one assignment; origin[k] already describes it. */
static int assign_key(Parser *p, Key k, const char *value)
{
	Scenario *s = p->s;
	bool empty = isempty(value);
	uint64_t v;
	const char *names[NAMES_MAX];
	size_t n_names;
	int r, i;

	switch (k) {
	case KEY_NAME:
		return set_string(&s->name, value);
	case KEY_DESCRIPTION:
		return set_string(&s->description, value);
	case KEY_BACKEND:
		if (empty)
			return set_string(&s->backend, NULL);
		n_names = backend_names(names);
		r = assign_enum(p, k, value, names, n_names, "backend", &i);
		return r < 0 ? r : set_string(&s->backend, names[i]);
	case KEY_DEVICE:
		/* Checked in finish(), which knows the backend. */
		return set_string(&s->device, value);
	case KEY_BIND:
		return assign_bool(p, k, value, false, &s->bind);
	case KEY_POINTS:
		return assign_points(p, k, value);
	case KEY_WORKERS:
		return assign_unsigned(p, k, value, 0, 1, SCENARIO_MAX_WORKERS, &s->workers);
	case KEY_N_DOMAINS:
		if (!empty && parse_number(value, &v) == 0 && v < 2)
			return fail_key(p, k, "a replacement needs at least 2 domains");
		return assign_unsigned(p, k, value, DEFAULT_N_DOMAINS, 2, SCENARIO_MAX_DOMAINS,
				       &s->n_domains);
	case KEY_LAYOUT:
		if (empty) {
			s->layout = LAYOUT_IDENTICAL;
			return 0;
		}
		r = assign_enum(p, k, value, layout_names, ELEMENTSOF(layout_names), "layout", &i);
		if (r >= 0)
			s->layout = (Layout)i;
		return r;
	case KEY_IOVA:
		if (empty) {
			s->iova = DEFAULT_IOVA;
			return 0;
		}
		r = parse_size_value(value, &v);
		if (r == -ERANGE)
			return fail_key(p, k, "out of range");
		if (r < 0)
			return fail_key(p, k, "not an address (e.g. 0x100000 or 1M)");
		if (v % PAGE_SIZE_BYTES)
			return fail_key(p, k, "not page aligned (a multiple of 4096)");
		s->iova = v;
		return 0;
	case KEY_MAP_SIZE:
		if (empty) {
			s->map_size = DEFAULT_MAP_SIZE;
			return 0;
		}
		r = parse_size_value(value, &v);
		if (r == -ERANGE)
			return fail_key(p, k, "out of range");
		if (r < 0)
			return fail_key(p, k, "not a size (e.g. 65536, 64K or 2M)");
		if (v == 0 || v % PAGE_SIZE_BYTES)
			return fail_key(p, k, "not a whole number of 4096-byte pages");
		if (v > MAP_SIZE_MAX)
			return fail_key(p, k, "too large (at most 1G)");
		s->map_size = v;
		return 0;
	case KEY_PATTERN:
		if (empty) {
			s->pattern = PATTERN_PING_PONG;
			return 0;
		}
		r = assign_enum(p, k, value, pattern_names, ELEMENTSOF(pattern_names), "pattern",
				&i);
		if (r >= 0)
			s->pattern = (Pattern)i;
		return r;
	case KEY_RATE:
		return assign_rate(p, k, value, &s->rate);
	case KEY_COUNT:
		if (empty) {
			s->count = 0;
			return 0;
		}
		r = parse_count_value(value, &v);
		if (r == -ERANGE)
			return fail_key(p, k, "out of range");
		if (r < 0)
			return fail_key(p, k, "not a number");
		if (v == 0)
			return fail_key(p, k,
					"must be at least 1 (an empty Count= means no limit)");
		s->count = v;
		return 0;
	case KEY_DURATION:
	case KEY_SETTLE_TIME:
		if (empty)
			v = 0;
		else {
			r = parse_duration_value(value, &v);
			if (r == -ERANGE)
				return fail_key(p, k, "out of range");
			if (r < 0)
				return fail_key(p, k, "not a duration (e.g. 30s, 5min, 250ms)");
			if (v == 0 && k == KEY_DURATION)
				return fail_key(
					p, k,
					"must be longer than 0 (an empty Duration= means no limit)");
		}
		*(k == KEY_DURATION ? &s->duration_ns : &s->settle_ns) = v;
		return 0;
	case KEY_SEED:
		if (empty) {
			s->seed = 0;
			return 0;
		}
		r = parse_number(value, &v);
		if (r == -ERANGE)
			return fail_key(p, k, "out of range");
		if (r < 0)
			return fail_key(p, k, "not a number");
		s->seed = v;
		return 0;
	case KEY_MAX_ERRORS:
		if (empty) {
			s->max_errors = 0;
			return 0;
		}
		r = parse_count_value(value, &v);
		if (r == -ERANGE)
			return fail_key(p, k, "out of range");
		if (r < 0)
			return fail_key(p, k, "not a number");
		s->max_errors = v;
		return 0;
	case KEY_ENABLE:
		return assign_bool(p, k, value, false, &s->traffic);
	case KEY_ENGINE:
		if (empty)
			return set_string(&s->engine, NULL);
		n_names = engine_names(names);
		r = assign_enum(p, k, value, names, n_names, "DMA engine", &i);
		return r < 0 ? r : set_string(&s->engine, names[i]);
	case KEY_DMA_SIZE:
		if (empty) {
			s->dma_size = DEFAULT_DMA_SIZE;
			return 0;
		}
		r = parse_size_value(value, &v);
		if (r == -ERANGE || (r == 0 && v > UINT32_MAX))
			return fail_key(p, k, "out of range");
		if (r < 0)
			return fail_key(p, k, "not a size (e.g. 1024 or 2K)");
		if (v == 0)
			return fail_key(p, k, "must be at least 1 byte");
		s->dma_size = (uint32_t)v;
		return 0;
	case KEY_DMA_RATE:
		return assign_rate(p, k, value, &s->dma_rate);
	case KEY_VERIFY:
		return assign_bool(p, k, value, true, &s->verify);
	case KEY_NVME_MODE:
		if (empty) {
			s->nvme_mode = NVME_MODE_READ_VERIFY;
			return 0;
		}
		r = assign_enum(p, k, value, nvme_mode_names, ELEMENTSOF(nvme_mode_names), "mode", &i);
		if (r >= 0)
			s->nvme_mode = (NvmeMode)i;
		return r;
	case KEY_NVME_LBA:
		return assign_lba_range(p, k, value);
	case KEY_NVME_ALLOW_WRITE:
		return assign_bool(p, k, value, false, &s->nvme_allow_write);
	case KEY_NAMESPACE: {
		unsigned ns;

		/* 0 and 0xffffffff are not namespace IDs (the broadcast value is "all"). */
		r = assign_unsigned(p, k, value, DEFAULT_NAMESPACE, 1, UINT32_MAX - 1, &ns);
		if (r >= 0)
			s->nvme_namespace = ns;
		return r;
	}
	case KEY_QUEUE_DEPTH:
		return assign_unsigned(p, k, value, DEFAULT_QUEUE_DEPTH, 2, 65536, &s->queue_depth);
	case KEY_QUEUES:
		/* The specification's limit; the driver's and the controller's are checked later. */
		return assign_unsigned(p, k, value, DEFAULT_QUEUES, 1, 65535, &s->queues);
	case KEY_NVME_COMPLETIONS:
		if (empty) {
			s->nvme_completions = NVME_COMPLETIONS_POLL;
			return 0;
		}
		r = assign_enum(p, k, value, nvme_completions_names,
				ELEMENTSOF(nvme_completions_names), "completion method", &i);
		if (r >= 0)
			s->nvme_completions = (NvmeCompletions)i;
		return r;
	case KEY_WRITER:
		if (empty) {
			s->writer = ENTRY_WRITER_ENTRY_SYNC;
			return 0;
		}
		r = assign_enum(p, k, value, entry_writer_names, ELEMENTSOF(entry_writer_names),
				"writer", &i);
		if (r >= 0)
			s->writer = (EntryWriterKind)i;
		return r;
	case KEY_TRANSITIONS:
		return assign_transitions(p, k, value);
	default:
		if (k >= KEY_EXPECT_FIRST && k < _KEY_MAX)
			return assign_expectation(p, k, value);
		return -EINVAL;
	}
}

static Section section_from_string(const char *s)
{
	int i = lookup(section_names, ELEMENTSOF(section_names), s);

	return i < 0 ? _SECTION_INVALID : (Section)i;
}

static int fail_unknown_section(Parser *p, unsigned line, const char *section, const char *key,
				const char *value)
{
	const char *guess = suggest(section, section_names, ELEMENTSOF(section_names));
	char hint[64] = "";
	Shown sh;

	if (guess)
		snprintf(hint, sizeof(hint), " (did you mean %s?)", guess);
	if (line == 0)
		return fail_assignment(p, 0, section, key, value, "unknown section%s", hint);
	return fail_line(p, line, "[%s]: unknown section%s", show(&sh, section), hint);
}

/* " (Count= belongs in [Domains] or [Replace])", or "" for a key no section knows. */
static void where_key_belongs(const char *key, char *buf, size_t n)
{
	const char *found[_SECTION_MAX];
	size_t nf = 0, w;

	for (size_t k = 0; k < _KEY_MAX; k++)
		if (streq(key_table[k].name, key))
			found[nf++] = section_names[key_table[k].section];
	buf[0] = 0;
	if (nf == 0)
		return;

	/* Key names are short and there are few sections: n = 128 always fits. */
	w = (size_t)snprintf(buf, n, " (%s= belongs in [%s]", key, found[0]);
	for (size_t i = 1; i < nf && w < n; i++)
		w += (size_t)snprintf(buf + w, n - w, "%s[%s]", i + 1 == nf ? " or " : ", ",
				      found[i]);
	if (w < n)
		snprintf(buf + w, n - w, ")");
}

static int fail_unknown_key(Parser *p, unsigned line, Section section, const char *key,
			    const char *value)
{
	const char *sname = section_names[section], *candidates[_KEY_MAX], *guess;
	size_t keylen = strlen(key), n = 0;
	char belongs[128];
	Shown sh;

	/*
	 * "Faults>=1" splits at its "=" into the key "Faults>" and the value "1";
	 * say where the comparison goes instead of calling the key unknown.
	 */
	if (section == SECTION_EXPECT && keylen > 0 && strchr("<>!", key[keylen - 1])) {
		size_t baselen = keylen - 1;
		_cleanup_free_ char *base = NULL;

		while (baselen > 0 && is_blank(key[baselen - 1]))
			baselen--;
		base = strndup(key, baselen);
		if (!base)
			return -ENOMEM;
		for (size_t k = KEY_EXPECT_FIRST; k < _KEY_MAX; k++)
			if (streq(key_table[k].name, base))
				return fail_assignment(
					p, line, sname, key, value,
					"the comparison goes after the '=': %s=%c=%s", base,
					key[keylen - 1], show(&sh, value));
	}

	for (size_t k = 0; k < _KEY_MAX; k++)
		if (key_table[k].section == section)
			candidates[n++] = key_table[k].name;
	guess = suggest(key, candidates, n);
	if (guess)
		return fail_assignment(p, line, sname, key, value, "unknown key (did you mean %s?)",
				       guess);

	where_key_belongs(key, belongs, sizeof(belongs));
	return fail_assignment(p, line, sname, key, value, "unknown key%s", belongs);
}

/* One assignment, from the file (line > 0) or an override (line 0). */
static int assign(Parser *p, unsigned line, Section section, const char *key, const char *value)
{
	Origin *o;
	char *copy;
	Key k;

	for (k = 0; k < _KEY_MAX; k++)
		if (key_table[k].section == section && streq(key_table[k].name, key))
			break;
	if (k == _KEY_MAX)
		return fail_unknown_key(p, line, section, key, value);

	copy = strdup(value);
	if (!copy)
		return -ENOMEM;
	o = &p->origin[k];
	free(o->value);
	o->value = copy;
	o->line = line;
	o->seq = ++p->seq;
	o->set = !isempty(value);
	return assign_key(p, k, value);
}

static int parse_line(Parser *p, Section *section, const IniLine *l)
{
	unsigned line = l->number;
	Shown sh;
	Section sec;
	int c;

	/* Every line is checked as written, comments too. */
	if (l->raw_len > LINE_MAX_BYTES)
		return fail_line(p, line, "line is too long (%zu bytes, at most %d)", l->raw_len,
				 LINE_MAX_BYTES);
	c = check_text(l->raw, l->raw_len);
	if (c == -EILSEQ)
		return fail_line(p, line, "line is not valid UTF-8");
	if (c > 0)
		return fail_line(p, line, "line contains a control character (0x%02x)", c);

	switch (l->type) {
	case INI_BLANK:
		return 0;
	case INI_BAD_SECTION:
		return fail_line(p, line, "\"%s\": not a [Section] header", show(&sh, l->text));
	case INI_SECTION:
		sec = section_from_string(l->section);
		if (sec < 0)
			return fail_unknown_section(p, line, l->section, NULL, NULL);
		*section = sec;
		return 0;
	case INI_NO_ASSIGNMENT:
		return fail_line(p, line,
				 "\"%s\": not a Key=value assignment or a [Section] header",
				 show(&sh, l->text));
	case INI_ASSIGNMENT:
		break;
	}

	if (!*l->key)
		return fail_line(p, line, "\"=%s\": no key before the '='", show(&sh, l->value));
	if (*section < 0) {
		char belongs[128];
		Shown sk;

		where_key_belongs(l->key, belongs, sizeof(belongs));
		return fail_line(p, line, "%s=%s: assignment outside of any section%s",
				 show(&sk, l->key), show(&sh, l->value), belongs);
	}
	return assign(p, line, *section, l->key, l->value);
}

static int parse_text(Parser *p, const char *text)
{
	_cleanup_(ini_lexer_done) IniLexer lx = {};
	Section section = _SECTION_INVALID;
	const IniLine *l;
	int r;

	ini_lexer_init(&lx, text, strlen(text), INI_SKIP_BOM);
	while ((r = ini_lexer_next(&lx, &l)) > 0) {
		r = parse_line(p, &section, l);
		if (r < 0)
			return r;
	}
	if (r == -EOVERFLOW)
		return fail_line(p, lx.number, "too many lines");
	if (r < 0)
		return r;
	p->s->line_count = lx.number;
	return 0;
}

static int parse_override(Parser *p, const char *raw)
{
	char buf[LINE_MAX_BYTES + 1];
	char *dot, *eq, *section, *key, *value;
	Section sec;

	/* parse_overrides() checked the length. */
	strcpy(buf, raw);
	dot = strchr(buf, '.');
	eq = strchr(buf, '=');
	if (!dot || !eq || dot > eq)
		return fail_override(p, raw, "not Section.Key=value");
	*dot = 0;
	*eq = 0;
	/* parse_overrides() let no control character but tabs through: blanks are ' ' and \t. */
	section = ini_trim(buf);
	key = ini_trim(dot + 1);
	value = ini_trim(eq + 1);
	if (!*key)
		return fail_override(p, raw, "no key between the '.' and the '='");

	sec = section_from_string(section);
	if (sec < 0)
		return fail_unknown_section(p, 0, section, key, value);
	return assign(p, 0, sec, key, value);
}

/* For overrides whose text cannot be shown: name them by their position. */
_printf_(3, 4) static int fail_override_index(Parser *p, size_t index, const char *fmt, ...)
{
	char *w;
	va_list ap;
	int r;

	if (asprintf(&w, "override #%zu", index + 1) < 0)
		return -ENOMEM;
	va_start(ap, fmt);
	r = vfail(p, w, fmt, ap);
	va_end(ap);
	return r;
}

static int parse_overrides(Parser *p, char *const *overrides)
{
	for (size_t i = 0; overrides && overrides[i]; i++) {
		const char *raw = overrides[i];
		size_t len = strlen(raw);
		int c, r;

		if (len > LINE_MAX_BYTES)
			return fail_override_index(p, i, "too long (%zu bytes, at most %d)", len,
						   LINE_MAX_BYTES);
		c = check_text(raw, len);
		if (c == -EILSEQ)
			return fail_override_index(p, i, "not valid UTF-8");
		if (c > 0)
			return fail_override_index(p, i, "contains a control character (0x%02x)",
						   c);
		r = parse_override(p, raw);
		if (r < 0)
			return r;
	}
	return 0;
}

/* "0000:00:03.0" or "00:03.0" into the form sysfs uses, "0000:00:03.0" in lower case. */
static int check_bdf(Parser *p)
{
	static const char *const form = "not a PCI address like 0000:00:03.0 or 00:03.0";
	Scenario *s = p->s;
	char norm[PCI_ADDRESS_STRING_MAX];
	PciAddress a;
	char *dup;

	/* Unchecked, so that the message can say which of device and function is out of range. */
	if (pci_address_parse(s->device, PCI_ADDRESS_NO_RANGE_CHECK, &a) < 0)
		return fail_key(p, KEY_DEVICE, "%s", form);
	if (a.dev > 0x1f)
		return fail_key(p, KEY_DEVICE, "device number 0x%02x out of range (00..1f)",
				(unsigned)a.dev);
	if (a.fn > 7)
		return fail_key(p, KEY_DEVICE, "function %u out of range (0..7)", (unsigned)a.fn);

	a.has_domain = true; /* as sysfs names it, 0000 when it was left out */
	dup = strdup(pci_address_format(&a, norm));
	if (!dup)
		return -ENOMEM;
	free(s->device);
	s->device = dup;
	return 0;
}

/* Model and mock devices are names such as "model0", compared with ListDevices() ids. */
static int check_device_name(Parser *p)
{
	const char *d = p->s->device;

	if (strlen(d) > 64)
		return fail_key(p, KEY_DEVICE, "too long (at most 64 characters)");
	for (const char *c = d; *c; c++)
		if (!isalnum((unsigned char)*c) && !strchr("._:-", *c))
			return fail_key(
				p, KEY_DEVICE,
				"not a device name (letters, digits, '.', '_', ':' and '-')");
	return 0;
}

static char *default_name(const char *source)
{
	const char *base, *slash;
	size_t n;

	if (!source)
		return strdup("scenario");
	slash = strrchr(source, '/');
	base = slash ? slash + 1 : source;
	n = strlen(base);
	if (n >= 5 && streq(base + n - 5, ".conf"))
		n -= 5;
	return n > 0 ? strndup(base, n) : strdup("scenario");
}

/* Of two keys that conflict, the one assigned last: that is the change that broke things. */
static Key later_of(const Parser *p, Key a, Key b)
{
	return p->origin[a].seq >= p->origin[b].seq ? a : b;
}

/* "Traffic.Size" → its key, _KEY_MAX if there is none. */
static Key key_by_name(const char *name)
{
	const char *dot = strchr(name, '.');

	if (!dot)
		return _KEY_MAX;
	for (Key k = 0; k < _KEY_MAX; k++)
		if (strlen(section_names[key_table[k].section]) == (size_t)(dot - name) &&
		    strncmp(section_names[key_table[k].section], name, (size_t)(dot - name)) == 0 &&
		    streq(key_table[k].name, dot + 1))
			return k;
	return _KEY_MAX;
}

char *scenario_key_where(const Scenario *s, const char *key, const char *effective)
{
	Key k = key_by_name(key);
	const Origin *o;
	Shown a, c;
	char *w;
	int r;

	/* A caller naming a key that does not exist is our bug: say so rather than crash. */
	assert(k < _KEY_MAX);
	if (k >= _KEY_MAX)
		return strdup(key);
	o = s->origins ? &s->origins[k] : NULL;
	if (o && o->set) {
		if (o->line == 0)
			r = asprintf(&w, "override %s.%s=%s", section_names[key_table[k].section],
				     key_table[k].name, show(&c, o->value));
		else
			r = asprintf(&w, "%s:%u: [%s] %s=%s", s->source ?: "scenario", o->line,
				     section_names[key_table[k].section], key_table[k].name,
				     show(&c, o->value));
	} else
		r = asprintf(&w, "[%s] %s=%s (the default)", section_names[key_table[k].section],
			     key_table[k].name, show(&a, strempty(effective)));
	return r < 0 ? NULL : w;
}

bool scenario_check_is_set(const ScenarioCheck *c, const char *key)
{
	Key k = key_by_name(key);

	return k < _KEY_MAX && c->origin[k].set;
}

int scenario_check_fail(ScenarioCheck *c, const char *key, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	Key k = key_by_name(key);
	va_list ap;
	int n;

	/* A backend naming a key that does not exist is our bug: say so rather than crash. */
	assert(k < _KEY_MAX);
	if (k >= _KEY_MAX)
		k = KEY_BACKEND;
	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	return fail_key(c, k, "%s", msg);
}

const char *scenario_check_later(const ScenarioCheck *c, const char *a, const char *b)
{
	Key ka = key_by_name(a), kb = key_by_name(b);

	if (ka >= _KEY_MAX || kb >= _KEY_MAX)
		return ka < _KEY_MAX ? a : b;
	return later_of(c, ka, kb) == ka ? a : b;
}

/* "vfio", "a or b": the backends with flag, for "only applies to Backend=…". */
static char *backends_with(unsigned flag)
{
	const char *names[NAMES_MAX];
	size_t n = 0;

	for (const BackendOps *const *b = backends; *b && n < NAMES_MAX; b++)
		if ((*b)->flags & flag)
			names[n++] = (*b)->name;
	return join_names(names, n);
}

/* A section only some backend reads, set in a scenario for another: the first key set there. */
static int check_foreign_sections(Parser *p, const BackendOps *ops)
{
	for (const BackendOps *const *b = backends; *b; b++) {
		const char *sec = (*b)->scenario.section;
		Key first = _KEY_MAX;

		if (!sec || *b == ops)
			continue;
		for (Key k = 0; k < _KEY_MAX; k++)
			if (streq(section_names[key_table[k].section], sec) && p->origin[k].set &&
			    (first == _KEY_MAX || p->origin[k].seq < p->origin[first].seq))
				first = k;
		if (first != _KEY_MAX)
			return fail_key(p, first,
					"[%s] only applies to Backend=%s (this scenario is Backend=%s)",
					sec, (*b)->name, p->s->backend);
	}
	return 0;
}

/* Defaults that depend on other keys, then the checks that involve more than one key. */
static int finish(Parser *p, const char *source)
{
	Scenario *s = p->s;
	const Origin *o = p->origin;
	const BackendOps *ops;
	const BackendScenarioRules *rules;
	bool pci, engine;
	size_t n = 0;
	int r;

	/* [Scenario] */
	if (!s->backend)
		return fail_required(p, KEY_BACKEND, "");
	/* Backend= took only names from the backends' table. */
	ops = backend_find(s->backend);
	assert(ops);
	if (!ops)
		return -EINVAL;
	rules = &ops->scenario;
	pci = ops->flags & BACKEND_PCI;

	if (!s->name) {
		s->name = default_name(source);
		if (!s->name)
			return -ENOMEM;
	}

	if (!s->device) {
		if (!rules->default_device) {
			_cleanup_free_ char *why = NULL;

			if (asprintf(&why, " for Backend=%s", s->backend) < 0)
				return -ENOMEM;
			return fail_required(p, KEY_DEVICE, why);
		}
		r = set_string(&s->device, rules->default_device);
	} else
		r = pci ? check_bdf(p) : check_device_name(p);
	if (r < 0)
		return r;

	/* Bind= moves a PCI function between drivers. */
	if (o[KEY_BIND].set && !pci) {
		_cleanup_free_ char *which = backends_with(BACKEND_PCI);

		if (!which)
			return -ENOMEM;
		return fail_key(p, KEY_BIND, "only applies to Backend=%s (this scenario is Backend=%s)",
				which, s->backend);
	}

	/* [Attach] */
	if (!o[KEY_WORKERS].set)
		s->workers = (unsigned)MIN(s->n_points, (size_t)SCENARIO_MAX_WORKERS);
	else if (s->workers > s->n_points)
		return fail_key(
			p, KEY_WORKERS,
			"more workers than attachment points (%zu); each point is driven by one worker",
			s->n_points);

	/* [Domains] */
	if (!o[KEY_IOVA].set && rules->default_iova)
		s->iova = rules->default_iova;
	if (s->iova > UINT64_MAX - s->map_size)
		return fail_key(p, later_of(p, KEY_IOVA, KEY_MAP_SIZE),
				"IOVA + MapSize runs past the end of the address space");

	/* [Traffic] */
	if (!s->engine) {
		r = set_string(&s->engine, rules->default_engine ?: "none");
		if (r < 0)
			return r;
	}
	engine = !streq(s->engine, "none");
	if (!o[KEY_ENABLE].set)
		s->traffic = engine;
	if (s->traffic) {
		if (!engine && o[KEY_ENGINE].set)
			return fail_key(p, KEY_ENABLE,
					"no DMA engine to generate traffic with (Engine=none)");
		if (!engine)
			return fail_key(
				p, KEY_ENABLE,
				"no DMA engine to generate traffic with (Backend=%s has none)",
				s->backend);
		if (!backend_has_engine(ops, s->engine)) {
			const BackendOps *owner = backend_find_engine(s->engine);

			assert(owner); /* Engine= took only the backends' engines */
			return fail_key(p, KEY_ENGINE,
					"only works with Backend=%s%s (this scenario is Backend=%s)",
					owner ? owner->name : "?",
					owner ? strempty(owner->scenario.engine_note) : "",
					s->backend);
		}
		if (s->dma_size > s->map_size)
			return fail_key(p, KEY_DMA_SIZE,
					"larger than the mapping ([Domains] MapSize=%" PRIu64 ")",
					s->map_size);
	}
	/* Keys of one engine are mistakes with another: say so instead of ignoring them. */
	for (Key k = 0; k < _KEY_MAX; k++)
		if (key_table[k].engine && o[k].set && !streq(s->engine, key_table[k].engine))
			return fail_key(p, k, "only applies to [Traffic] Engine=%s (this scenario's is %s)",
					key_table[k].engine, s->engine);
	if (s->layout == LAYOUT_MISSING_RANGE && !s->traffic)
		return fail_key(
			p, KEY_LAYOUT,
			"the missing range only faults when DMA runs, and [Traffic] is off");

	/* The backend's own: sections no other backend reads, then its rules. */
	r = check_foreign_sections(p, ops);
	if (r < 0)
		return r;
	if (rules->check) {
		r = rules->check(s, p);
		if (r < 0)
			return r;
	}

	/* [Expect] */
	for (ExpectMetric m = 0; m < _EXPECT_METRIC_MAX; m++) {
		if (!p->has_expect[m])
			continue;
		if ((m == EXPECT_DMA_TRANSFERS || m == EXPECT_DMA_ERRORS) && !s->traffic)
			return fail_key(p, KEY_EXPECT_FIRST + m,
					"this scenario makes no DMA traffic ([Traffic] is off)");
		n++;
	}
	if (n > 0) {
		s->expect = calloc(n, sizeof(Expectation));
		if (!s->expect)
			return -ENOMEM;
		for (ExpectMetric m = 0; m < _EXPECT_METRIC_MAX; m++)
			if (p->has_expect[m])
				s->expect[s->n_expect++] = p->expect[m];
	}
	return 0;
}

static Scenario *scenario_new(const char *source)
{
	_cleanup_(scenario_freep) Scenario *s = calloc(1, sizeof(Scenario));

	if (!s)
		return NULL;
	s->source = strdup(source ?: "scenario");
	s->points = malloc(sizeof(uint32_t));
	if (!s->source || !s->points)
		return NULL;
	s->points[0] = ATTACH_POINT_RID;
	s->n_points = 1;
	s->n_domains = DEFAULT_N_DOMAINS;
	s->layout = LAYOUT_IDENTICAL;
	s->iova = DEFAULT_IOVA;
	s->map_size = DEFAULT_MAP_SIZE;
	s->pattern = PATTERN_PING_PONG;
	s->dma_size = DEFAULT_DMA_SIZE;
	s->verify = true;
	s->nvme_namespace = DEFAULT_NAMESPACE;
	s->queue_depth = DEFAULT_QUEUE_DEPTH;
	s->queues = DEFAULT_QUEUES;
	s->writer = ENTRY_WRITER_ENTRY_SYNC;
	return TAKE_PTR(s);
}

int scenario_parse(const char *text, const char *source, char *const *overrides, Scenario **ret,
		   char **ret_error)
{
	_cleanup_(parser_done) Parser p = {};
	int r;

	if (ret)
		*ret = NULL;
	if (ret_error)
		*ret_error = NULL;
	if (!text || !ret)
		return -EINVAL;

	/*
	 * The source comes from the client as is. Errors must stay one line of
	 * UTF-8 and the name goes out on the bus, so a name that could break
	 * either is not used at all.
	 */
	if (source && (strlen(source) > LINE_MAX_BYTES || check_text(source, strlen(source)) != 0))
		source = NULL;
	p.source = source ?: "scenario";

	p.s = scenario_new(source);
	r = p.s ? parse_text(&p, text) : -ENOMEM;
	if (r >= 0)
		r = parse_overrides(&p, overrides);
	if (r >= 0)
		r = finish(&p, source);
	if (r < 0) {
		if (ret_error)
			*ret_error = p.error ? TAKE_PTR(p.error) : strdup("out of memory");
		return r;
	}

	/* Kept for the run's report: what was asked, as it was written. */
	p.s->text = strdup(text);
	if (!p.s->text) {
		if (ret_error)
			*ret_error = strdup("out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; overrides && overrides[i]; i++) {
		char *joined;

		if (asprintf(&joined, "%s%s%s", strempty(p.s->overrides), p.s->overrides ? "\n" : "",
			     overrides[i]) < 0) {
			if (ret_error)
				*ret_error = strdup("out of memory");
			return -ENOMEM;
		}
		free(p.s->overrides);
		p.s->overrides = joined;
	}

	/* The values move to the scenario: the parser no longer frees them. */
	p.s->origins = malloc(sizeof(p.origin));
	if (!p.s->origins) {
		if (ret_error)
			*ret_error = strdup("out of memory");
		return -ENOMEM;
	}
	memcpy(p.s->origins, p.origin, sizeof(p.origin));
	memset(p.origin, 0, sizeof(p.origin));

	*ret = TAKE_PTR(p.s);
	return 0;
}
