/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Runs a Check suite the same way in every unit test; returns the process exit status. */

#include <check.h>
#include <stdlib.h>

static inline int check_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
