/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "observers/tracefs.h"
#include "check-run.h"

/* Entries as the series' events print them: qwords 3:2:1:0 of the first 256 bits. */
#define SL_DID1 "0000000000000000:0000000000000000:0000000000000001:0000000001000081"
#define SL_DID2 "0000000000000000:0000000000000000:0000000000000002:0000000002000081"
#define FL_DID1 "0000000000000000:0000000003000000:0000000000000001:0000000000000041"
#define FL_DID2 "0000000000000000:0000000004000000:0000000000000002:0000000000000041"
#define PFX	"  iommutestd-42  [001] .....  100.000001: "

static const char trace_fixture[] =
	/* A second-stage domain change: hitless, one sync. */
	PFX "entry_write_start: 0000:00:03.0[0] target " SL_DID2 ", current " SL_DID1 "\n" PFX
	    "entry_sync: 0000:00:03.0[0] was present, is now present\n" PFX
	    "entry_write_complete: 0000:00:03.0[0] target " SL_DID2 ", current " SL_DID2 "\n"
	/* A first-stage pointer + DID change: disruptive, three syncs. */
	PFX "entry_write_start: 0000:00:03.0[5] target " FL_DID2 ", current " FL_DID1 "\n" PFX
	    "entry_sync: 0000:00:03.0[5] was present, is now non-present\n" PFX
	    "entry_sync: 0000:00:03.0[5] was non-present, is now non-present\n" PFX
	    "entry_sync: 0000:00:03.0[5] was non-present, is now present\n" PFX
	    "entry_write_complete: 0000:00:03.0[5] target " FL_DID2 ", current " FL_DID2 "\n"
	/* Another device (the kernel filter would drop it; we do too), noise, a stray sync. */
	PFX "entry_write_start: 0000:00:04.0[0] target " SL_DID2 ", current " SL_DID1 "\n" PFX
	    "entry_write_complete: 0000:00:04.0[0] target " SL_DID2 ", current " SL_DID2 "\n" PFX
	    "entry_get_used: entry " SL_DID1 ", used " SL_DID1 "\n"
	    "garbage line\n" PFX "entry_sync: 0000:00:03.0[9] was present, is now present\n";

static char *make_root(bool with_events)
{
	char tmpl[] = "/tmp/iommutest-tracefs.XXXXXX";
	char *root = strdup(mkdtemp(tmpl));
	static const char *const events[] = {"entry_write_start", "entry_write_complete",
					     "entry_sync"};
	char path[512];

	ck_assert_ptr_nonnull(root);
	/* The top level shows whether the events exist; the instance is where we work. */
	for (int level = 0; level < 2; level++) {
		const char *base = level == 0 ? "" : "/instances/iommutestd-run-7";

		snprintf(path, sizeof(path), "%s/instances", root);
		mkdir(path, 0755);
		snprintf(path, sizeof(path), "%s%s", root, base);
		mkdir(path, 0755);
		if (!with_events)
			continue;
		snprintf(path, sizeof(path), "%s%s/events", root, base);
		mkdir(path, 0755);
		snprintf(path, sizeof(path), "%s%s/events/intel_iommu", root, base);
		mkdir(path, 0755);
		for (size_t i = 0; i < ELEMENTSOF(events); i++) {
			FILE *f;

			snprintf(path, sizeof(path), "%s%s/events/intel_iommu/%s", root, base,
				 events[i]);
			mkdir(path, 0755);
			snprintf(path, sizeof(path), "%s%s/events/intel_iommu/%s/enable", root,
				 base, events[i]);
			f = fopen(path, "we");
			fputs("0\n", f);
			fclose(f);
			snprintf(path, sizeof(path), "%s%s/events/intel_iommu/%s/filter", root,
				 base, events[i]);
			f = fopen(path, "we");
			fclose(f);
		}
	}
	if (with_events) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/instances/iommutestd-run-7/trace_pipe", root);
		f = fopen(path, "we");
		fputs(trace_fixture, f);
		fclose(f);
	}
	return root;
}

static void read_file(const char *root, const char *rel, char *buf, size_t n)
{
	char path[512];
	FILE *f;
	size_t k;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "re");
	ck_assert_ptr_nonnull(f);
	k = fread(buf, 1, n - 1, f);
	buf[k] = 0;
	fclose(f);
}

START_TEST(test_parse)
{
	TraceLine l;

	ck_assert_int_eq(tracefs_parse_line(PFX "entry_write_start: 0000:00:03.0[0] target " SL_DID2
						", current " SL_DID1,
					    &l),
			 TRACE_WRITE_START);
	ck_assert_str_eq(l.dev, "0000:00:03.0");
	ck_assert_uint_eq(l.pasid, 0);
	ck_assert_uint_eq(l.target[0], 0x2000081);
	ck_assert_uint_eq(l.target[1], 2);
	ck_assert_uint_eq(l.current[0], 0x1000081);
	ck_assert_int_eq(tracefs_parse_line(PFX "entry_sync: 0000:00:03.0[12] was present, is now "
						"non-present",
					    &l),
			 TRACE_SYNC);
	ck_assert_uint_eq(l.pasid, 12);
	ck_assert(l.was_present && !l.is_present);
	ck_assert_int_eq(tracefs_parse_line(PFX "entry_sync: 0000:00:03.0[12] was maybe", &l),
			 TRACE_OTHER);
	ck_assert_int_eq(
		tracefs_parse_line(PFX "entry_write_start: 0000:00:03.0[0] target 12:34", &l),
		TRACE_OTHER);
	ck_assert_int_eq(tracefs_parse_line(PFX "entry_sync: [3] was present, is now present", &l),
			 TRACE_OTHER);
	ck_assert_int_eq(tracefs_parse_line("", &l), TRACE_OTHER);
}
END_TEST

START_TEST(test_fixture_tree)
{
	_cleanup_free_ char *root = make_root(true), *why = NULL;
	TraceSource *t = NULL;
	const TraceStats *st;
	char buf[256];

	ck_assert_int_eq(trace_source_new(NULL, root, "0000:00:03.0", 7, &t, &why), 0);
	/* Events enabled in our instance only, filtered to the device. */
	read_file(root, "instances/iommutestd-run-7/events/intel_iommu/entry_sync/enable", buf,
		  sizeof(buf));
	ck_assert_str_eq(buf, "1");
	read_file(root, "instances/iommutestd-run-7/events/intel_iommu/entry_write_start/filter",
		  buf, sizeof(buf));
	ck_assert_str_eq(buf, "dev == \"0000:00:03.0\"");
	read_file(root, "events/intel_iommu/entry_sync/enable", buf, sizeof(buf));
	ck_assert_str_eq(buf, "0\n");

	trace_source_poll(t);
	st = trace_source_stats(t);
	ck_assert_uint_eq(st->writes, 2);
	ck_assert_uint_eq(st->hitless, 1);
	ck_assert_uint_eq(st->disruptive, 1);
	ck_assert_uint_eq(st->syncs, 4);
	ck_assert_uint_eq(st->predicted_hitless, 1);
	ck_assert_uint_eq(st->predicted_disruptive, 1);
	ck_assert_uint_eq(st->prediction_agrees, 2);
	ck_assert_uint_eq(st->unmatched, 1);
	t = trace_source_free(t);
	/* Freed: the events are turned off again. */
	read_file(root, "instances/iommutestd-run-7/events/intel_iommu/entry_sync/enable", buf,
		  sizeof(buf));
	ck_assert_str_eq(buf, "0");
	{
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
		ck_assert_int_eq(system(cmd), 0);
	}
}
END_TEST

START_TEST(test_unavailable)
{
	_cleanup_free_ char *root = make_root(false), *why = NULL, *why2 = NULL;
	TraceSource *t = NULL;
	char cmd[600];

	ck_assert_int_eq(trace_source_new(NULL, root, "0000:00:03.0", 7, &t, &why), -EOPNOTSUPP);
	ck_assert_ptr_null(t);
	ck_assert_ptr_nonnull(strstr(why, "entry_sync"));
	ck_assert_int_eq(
		trace_source_new(NULL, "/nonexistent/tracing", "0000:00:03.0", 7, &t, &why2),
		-ENOENT);
	ck_assert_ptr_nonnull(strstr(why2, "not mounted"));
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tracefs");
	TCase *tc = tcase_create("tracefs");

	tcase_add_test(tc, test_parse);
	tcase_add_test(tc, test_fixture_tree);
	tcase_add_test(tc, test_unavailable);
	suite_add_tcase(s, tc);
	return check_run(s);
}
