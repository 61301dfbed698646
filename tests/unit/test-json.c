/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "check-run.h"

START_TEST(test_shapes)
{
	JsonWriter j;
	char *t;
	int r;

	json_init(&j);
	json_object_begin(&j, NULL);
	json_string(&j, "s", "a\"b\\c\n\x01");
	json_u64(&j, "u", UINT64_MAX);
	json_i64(&j, "i", -5);
	json_double(&j, "d", 1.5);
	json_double(&j, "nan", NAN);
	json_bool(&j, "b", true);
	json_null(&j, "n");
	json_string(&j, "null_string", NULL);
	json_array_begin(&j, "a");
	json_u64(&j, NULL, 1);
	json_object_begin(&j, NULL);
	json_object_end(&j);
	json_array_begin(&j, NULL);
	json_array_end(&j);
	json_array_end(&j);
	json_raw(&j, "raw", "{\"x\":1}");
	json_object_end(&j);
	t = json_finish(&j, &r);
	ck_assert_int_eq(r, 0);
	ck_assert_str_eq(t, "{\"s\":\"a\\\"b\\\\c\\n\\u0001\",\"u\":18446744073709551615,\"i\":-5,"
			    "\"d\":1.5,\"nan\":null,\"b\":true,\"n\":null,\"null_string\":null,"
			    "\"a\":[1,{},[]],\"raw\":{\"x\":1}}");
	free(t);
}
END_TEST

START_TEST(test_unbalanced)
{
	JsonWriter j;
	int r;

	json_init(&j);
	json_object_begin(&j, NULL);
	ck_assert_ptr_null(json_finish(&j, &r));
	ck_assert_int_eq(r, -EINVAL);

	json_init(&j);
	json_object_end(&j);
	ck_assert_ptr_null(json_finish(&j, &r));
	ck_assert_int_eq(r, -EINVAL);

	/* Deeper than JSON_MAX_DEPTH is refused, not overflowed. */
	json_init(&j);
	for (int i = 0; i < JSON_MAX_DEPTH + 2; i++)
		json_array_begin(&j, NULL);
	ck_assert_ptr_null(json_finish(&j, &r));
	ck_assert_int_eq(r, -EINVAL);
}
END_TEST

START_TEST(test_pretty)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);

	json_pretty_print(f, "{\"a\":[1,2],\"b\":{},\"c\":\"x,{y}\"}");
	fclose(f);
	ck_assert_str_eq(
		buf, "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": {},\n  \"c\": \"x,{y}\"\n}\n");
	free(buf);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("json");
	TCase *tc = tcase_create("writer");

	tcase_add_test(tc, test_shapes);
	tcase_add_test(tc, test_unbalanced);
	tcase_add_test(tc, test_pretty);
	suite_add_tcase(s, tc);
	return check_run(s);
}
