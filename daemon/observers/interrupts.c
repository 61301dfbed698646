/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "observers/interrupts.h"
#include "core/observer.h"
#include "macro.h"

/*
 * A line reads "IRQ: COUNT… CHIP HWIRQ-TYPE NAME"; the DMAR fault interrupt's
 * chip is "DMAR-MSI" and its name "dmarN". The per-CPU counts are the leading
 * run of numbers after the colon; what follows them is text.
 */
int interrupts_parse_dmar(FILE *f, uint64_t *ret_count, unsigned *ret_lines)
{
	_cleanup_free_ char *line = NULL;
	size_t size = 0;
	uint64_t total = 0;
	unsigned lines = 0;

	while (getline(&line, &size, f) >= 0) {
		char *p = strchr(line, ':'), *end;
		uint64_t sum = 0;

		if (!p || !strstr(p, "DMAR-MSI"))
			continue;
		p++;
		for (;;) {
			unsigned long long v;

			while (*p == ' ' || *p == '\t')
				p++;
			if (!isdigit((unsigned char)*p))
				break;
			errno = 0;
			v = strtoull(p, &end, 10);
			if (errno != 0 || (*end != ' ' && *end != '\t'))
				break;
			sum += v;
			p = end;
		}
		total += sum;
		lines++;
	}
	if (ret_lines)
		*ret_lines = lines;
	if (lines == 0)
		return -ENOENT;
	*ret_count = total;
	return 0;
}

int interrupts_read_dmar(const char *proc, uint64_t *ret_count)
{
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *path = NULL;

	if (asprintf(&path, "%s/interrupts", proc) < 0)
		return -ENOMEM;
	f = fopen(path, "re");
	if (!f)
		return -errno;
	return interrupts_parse_dmar(f, ret_count, NULL);
}

/*
 * The observer: the DMAR fault-event interrupts over a run, a cross-check
 * that counts every VT-d fault, printed or not.
 */
typedef struct DmarObserver {
	const char *proc;
	bool valid;
	uint64_t start, end;
} DmarObserver;

static int dmar_observer_prepare(void *state, const ObserverRun *run)
{
	DmarObserver *o = state;
	int r;

	o->proc = run->env->proc;
	r = interrupts_read_dmar(o->proc, &o->start);
	o->valid = r >= 0;
	return r;
}

static void dmar_observer_finish(void *state)
{
	DmarObserver *o = state;

	if (o->valid && interrupts_read_dmar(o->proc, &o->end) < 0)
		o->valid = false;
}

static void dmar_observer_describe(const void *state, bool run_active, JsonWriter *j)
{
	const DmarObserver *o = state;

	json_bool(j, "available", o->valid);
	if (o->valid && !run_active && o->end >= o->start)
		json_u64(j, "during_run", o->end - o->start);
	else
		json_null(j, "during_run");
}

const ObserverOps observer_dmar_interrupts = {
	.name = "dmar_interrupts",
	.group = "cross_checks",
	.size = sizeof(DmarObserver),
	.needs_flags = BACKEND_PCI,
	.prepare = dmar_observer_prepare,
	.finish = dmar_observer_finish,
	.describe = dmar_observer_describe,
};
