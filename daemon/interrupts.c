/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "interrupts.h"
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
