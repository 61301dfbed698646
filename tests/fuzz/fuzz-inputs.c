/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz targets for the daemon's and the CLI's other inputs from outside,
 * one per binary (FUZZ_TARGET picks it at build time):
 *
 *   scenario    scenario text, then after a NUL byte "Section.Key=value"
 *               override lines, through scenario_parse()
 *   config      iommutestd.conf through manager_config_load()
 *   json        the CLI's JSON parser (it reads every reply of the daemon)
 *   tracefs     entry_sync trace lines through tracefs_parse_line()
 *   interrupts  /proc/interrupts through interrupts_parse_dmar()
 *   pciconfig   PCI config space (as sysfs gives it) through pci_config_find_pasid()
 *
 * Each checks the parser's promises besides not crashing: an error is one
 * line, a result is consistent, nothing is left allocated (LeakSanitizer).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "backends/vfio/pci-sysfs.h"
#include "core/scenario.h"
#include "json-parse.h"
#include "log.h"
#include "manager.h"
#include "observers/interrupts.h"
#include "observers/tracefs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_OVERRIDES 4096

#if FUZZ_TARGET_scenario
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *text = NULL, *err = NULL;
	char *overrides[FUZZ_MAX_OVERRIDES + 1] = {}, *rest;
	size_t n = 0, len = strnlen((const char *)data, size);
	Scenario *s = NULL;
	int r;

	text = strndup((const char *)data, len);
	if (!text)
		return 0;
	/* After the text's NUL: one override per line. */
	rest = len < size ? strndup((const char *)data + len + 1, size - len - 1) : NULL;
	for (char *line = rest, *next; line && *line && n < FUZZ_MAX_OVERRIDES; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		overrides[n++] = line;
		if (!next)
			break;
	}
	r = scenario_parse(text, "fuzz.conf", n ? overrides : NULL, &s, &err);
	if (r < 0) {
		/* An error is one non-empty line and no scenario. */
		if (s || (r != -ENOMEM && (!err || !*err || strchr(err, '\n'))))
			abort();
	} else if (!s || err || !s->name || !s->backend || s->n_points == 0 || !s->text)
		abort();
	scenario_free(s);
	free(rest);
	return 0;
}
#endif

#if FUZZ_TARGET_config
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ManagerConfig c = {};
	char path[64];
	int fd, r;

	/* The loader takes a path: a memfd is one no other run can touch. */
	fd = memfd_create("fuzz-config", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	/* Messages about the input go to the log: keep the fuzzer's output readable. */
	log_set_max_level(LOG_EMERG);
	r = manager_config_load(&c, path);
	/* An AdminGroup= that was set is never empty: that would lock everybody out. */
	if (r >= 0 && c.admin_group && !*c.admin_group)
		abort();
	if (r >= 0 && c.keep_runs > 100000)
		abort();
	manager_config_done(&c);
	close(fd);
	return 0;
}
#endif

#if FUZZ_TARGET_json
static void walk(const JsonValue *v, unsigned depth)
{
	uint64_t u;
	double d;
	bool b;

	if (depth > 1000)
		abort(); /* the parser bounds nesting far below this */
	(void)json_value_u64(v, &u);
	(void)json_value_double(v, &d);
	(void)json_value_bool(v, &b);
	(void)json_value_string(v);
	if (json_value_is(v, JSON_TYPE_OBJECT))
		for (size_t i = 0; i < json_value_size(v); i++) {
			const char *key = NULL;
			const JsonValue *m = json_value_member(v, i, &key);

			if (!key || json_value_get(v, key) == NULL)
				abort();
			walk(m, depth + 1);
		}
	else if (json_value_is(v, JSON_TYPE_ARRAY))
		for (size_t i = 0; i < json_value_size(v); i++)
			walk(json_value_index(v, i), depth + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	JsonValue *v = NULL;
	size_t off = 0;
	int r;

	r = json_parse((const char *)data, size, &v, &off);
	if (r >= 0) {
		if (!v)
			abort();
		walk(v, 0);
	} else if (v || off > size)
		abort();
	json_value_free(v);
	return 0;
}
#endif

#if FUZZ_TARGET_tracefs
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *text = strndup((const char *)data, size);

	if (!text)
		return 0;
	for (char *line = text, *next; line; line = next) {
		TraceLine l;
		TraceKind k;

		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		memset(&l, 0xa5, sizeof(l));
		k = tracefs_parse_line(line, &l);
		if (k == TRACE_OTHER)
			continue;
		if (k != l.kind || (k != TRACE_WRITE_START && k != TRACE_WRITE_COMPLETE && k != TRACE_SYNC) ||
		    !memchr(l.dev, 0, sizeof(l.dev)) || !l.dev[0])
			abort();
	}
	return 0;
}
#endif

#if FUZZ_TARGET_interrupts
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t count = 0;
	unsigned lines = 0;
	FILE *f;

	if (size == 0)
		return 0;
	f = fmemopen((void *)data, size, "r");
	if (!f)
		return 0;
	(void)interrupts_parse_dmar(f, &count, &lines);
	fclose(f);
	return 0;
}
#endif

#if FUZZ_TARGET_pciconfig
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	PciPasidCap cap;
	int r;

	/* Exactly as long as the input, so a read past the config space is an ASan report. */
	uint8_t *copy = malloc(size ? size : 1);

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	memset(&cap, 0xa5, sizeof(cap));
	r = pci_config_find_pasid(copy, size, &cap);
	if (r >= 0 && cap.present && cap.width > 31)
		abort(); /* Max PASID Width is a 5-bit field */
	free(copy);
	return 0;
}
#endif
