/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json-parse.h"
#include "json.h"
#include "macro.h"
#include "check-run.h"

static JsonValue *parse_ok(const char *text)
{
	JsonValue *v = NULL;
	size_t off = 0;
	int r = json_parse_string(text, &v, &off);

	ck_assert_msg(r == 0, "parsing '%s' failed: %d at %zu", text, r, off);
	ck_assert_ptr_nonnull(v);
	return v;
}

START_TEST(test_scalars)
{
	_cleanup_(json_value_freep) JsonValue *t = parse_ok("true");
	_cleanup_(json_value_freep) JsonValue *f = parse_ok(" false ");
	_cleanup_(json_value_freep) JsonValue *n = parse_ok("\n\t\r null");
	_cleanup_(json_value_freep) JsonValue *s = parse_ok("\"hello\"");
	bool b = false;

	ck_assert(json_value_bool(t, &b) && b);
	ck_assert(json_value_bool(f, &b) && !b);
	ck_assert(json_value_is(n, JSON_TYPE_NULL));
	ck_assert_str_eq(json_value_string(s), "hello");
	ck_assert_uint_eq(s->string.len, 5);
	/* Mistyped reads report absence rather than coercing. */
	ck_assert_ptr_null(json_value_string(t));
	ck_assert(!json_value_u64(s, NULL));
	ck_assert(!json_value_bool(n, NULL));
	ck_assert_str_eq(json_type_to_string(JSON_TYPE_OBJECT), "object");
}
END_TEST

START_TEST(test_object_lookup)
{
	_cleanup_(json_value_freep) JsonValue *v =
		parse_ok("{ \"id\": 3, \"path\": \"/org/iommutest1/run/3\", \"rate\": 1234567.8,"
			 "  \"latency_ns\": {\"p50\": 400, \"p999\": 4000},"
			 "  \"attach_points\": [ {\"name\": \"RID\", \"pasid\": null},"
			 "                     {\"name\": \"PASID 1\", \"pasid\": 1} ],"
			 "  \"empty\": {}, \"none\": [], \"ok\": true }");
	const JsonValue *aps, *ap;
	uint64_t u = 0;

	ck_assert(json_value_is(v, JSON_TYPE_OBJECT));
	ck_assert_uint_eq(json_value_size(v), 8);
	ck_assert_uint_eq(json_value_get_u64(v, "id", 0), 3);
	ck_assert_str_eq(json_value_get_string(v, "path", NULL), "/org/iommutest1/run/3");
	ck_assert_double_eq_tol(json_value_get_double(v, "rate", 0), 1234567.8, 1e-9);
	ck_assert(!json_value_u64(json_value_get(v, "rate"), NULL));
	ck_assert_uint_eq(json_value_get_u64(json_value_get(v, "latency_ns"), "p999", 0), 4000);
	ck_assert(json_value_get_bool(v, "ok", false));

	aps = json_value_get(v, "attach_points");
	ck_assert_uint_eq(json_value_size(aps), 2);
	ap = json_value_index(aps, 1);
	ck_assert_str_eq(json_value_get_string(ap, "name", ""), "PASID 1");
	ck_assert(json_value_u64(json_value_get(ap, "pasid"), &u));
	ck_assert_uint_eq(u, 1);
	ck_assert(json_value_is(json_value_get(json_value_index(aps, 0), "pasid"), JSON_TYPE_NULL));
	ck_assert_ptr_null(json_value_index(aps, 2));

	ck_assert(json_value_is(json_value_get(v, "empty"), JSON_TYPE_OBJECT));
	ck_assert_uint_eq(json_value_size(json_value_get(v, "empty")), 0);
	ck_assert_uint_eq(json_value_size(json_value_get(v, "none")), 0);

	/* Missing or mistyped members fall back. */
	ck_assert_ptr_null(json_value_get(v, "missing"));
	ck_assert_str_eq(json_value_get_string(v, "id", "fb"), "fb");
	ck_assert_uint_eq(json_value_get_u64(v, "path", 77), 77);
	ck_assert(isnan(json_value_get_double(v, "missing", NAN)));
	ck_assert(json_value_get_bool(v, "id", true));
	ck_assert_ptr_null(json_value_get(aps, "name"));
	ck_assert_ptr_null(json_value_index(v, 0));
	ck_assert_ptr_null(json_value_get(NULL, "x"));
	ck_assert_uint_eq(json_value_size(NULL), 0);
}
END_TEST

START_TEST(test_duplicate_keys)
{
	_cleanup_(json_value_freep) JsonValue *v = parse_ok("{\"a\":1,\"b\":2,\"a\":3}");

	ck_assert_uint_eq(json_value_size(v), 3);
	ck_assert_uint_eq(json_value_get_u64(v, "a", 0), 3);
}
END_TEST

START_TEST(test_member_iteration)
{
	_cleanup_(json_value_freep) JsonValue *v = NULL;
	const char *key = "unchanged";
	uint64_t n = 0;

	ck_assert_int_eq(json_parse_string("{\"b\": 2, \"a\": {\"x\": 1}, \"b\": 3}", &v, NULL), 0);
	ck_assert_uint_eq(json_value_size(v), 3);
	/* Document order, duplicates kept: iteration sees what lookup hides. */
	ck_assert_uint_eq(json_value_get_u64(v, "b", 0), 3);
	ck_assert_ptr_nonnull(json_value_member(v, 0, &key));
	ck_assert_str_eq(key, "b");
	ck_assert(json_value_u64(json_value_member(v, 0, NULL), &n));
	ck_assert_uint_eq(n, 2);
	ck_assert(json_value_is(json_value_member(v, 1, &key), JSON_TYPE_OBJECT));
	ck_assert_str_eq(key, "a");
	key = "unchanged";
	ck_assert_ptr_null(json_value_member(v, 3, &key));
	ck_assert_str_eq(key, "unchanged");
	/* Not an object: nothing to iterate. */
	ck_assert_ptr_null(json_value_member(json_value_get(json_value_get(v, "a"), "x"), 0, &key));
	ck_assert_ptr_null(json_value_member(NULL, 0, &key));
}
END_TEST

START_TEST(test_escapes)
{
	_cleanup_(json_value_freep) JsonValue *v =
		parse_ok("\"q\\\" b\\\\ s\\/ \\b\\f\\n\\r\\t A\\u0041 e\\u00e9 euro\\u20AC "
			 "smile\\ud83d\\ude00 raw\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
	const char *expect =
		"q\" b\\ s/ \b\f\n\r\t AA e\xc3\xa9 euro\xe2\x82\xac smile\xf0\x9f\x98\x80 "
		"raw\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";

	ck_assert_str_eq(json_value_string(v), expect);
	ck_assert_uint_eq(v->string.len, strlen(expect));
}
END_TEST

START_TEST(test_escape_boundaries)
{
	_cleanup_(json_value_freep) JsonValue *a =
		parse_ok("\"\\u007f\\u0080\\u07ff\\u0800\\uffff\"");
	_cleanup_(json_value_freep) JsonValue *b = parse_ok("\"\\udbff\\udfff\\u0001\"");
	_cleanup_(json_value_freep) JsonValue *k = parse_ok("{\"k\\u00e9y\\n\":1}");

	ck_assert_str_eq(json_value_string(a), "\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf");
	ck_assert_str_eq(json_value_string(b), "\xf4\x8f\xbf\xbf\x01");
	ck_assert_uint_eq(json_value_get_u64(k, "k\xc3\xa9y\n", 0), 1);
}
END_TEST

static const struct {
	const char *text;
	double real;
	bool is_u64;
	uint64_t u64;
} numbers[] = {
	{"0", 0, true, 0},
	{"-0", 0, true, 0},
	{"1", 1, true, 1},
	{"-1", -1, false, 0},
	{"1.5", 1.5, false, 0},
	{"2.0", 2, true, 2},
	{"1e3", 1000, true, 1000},
	{"1E+3", 1000, true, 1000},
	{"1.5e1", 15, true, 15},
	{"1e-3", 0.001, false, 0},
	{"-2.5E-2", -0.025, false, 0},
	{"1e-400", 0, true, 0}, /* underflows to zero */
	{"4294967296", 4294967296.0, true, UINT64_C(4294967296)},
	/* Not representable as a double: the integer must still be exact. */
	{"9007199254740993", 9007199254740992.0, true, UINT64_C(9007199254740993)},
	{"18446744073709551615", 18446744073709551615.0, true, UINT64_MAX},
	{"18446744073709551616", 18446744073709551616.0, false, 0},
	{"123456789012345678901234567890", 1.2345678901234568e29, false, 0},
	{"1e19", 1e19, true, UINT64_C(10000000000000000000)},
	{"1e20", 1e20, false, 0},
};

START_TEST(test_numbers)
{
	_cleanup_(json_value_freep) JsonValue *v = parse_ok(numbers[_i].text);
	uint64_t u = 0;
	double d = -1;

	ck_assert(json_value_double(v, &d));
	ck_assert_msg(d == numbers[_i].real || fabs(d - numbers[_i].real) <= fabs(d) * 1e-15,
		      "%s: %.17g", numbers[_i].text, d);
	ck_assert_msg(json_value_u64(v, &u) == numbers[_i].is_u64, "%s", numbers[_i].text);
	if (numbers[_i].is_u64)
		ck_assert_uint_eq(u, numbers[_i].u64);
}
END_TEST

START_TEST(test_number_locale)
{
	_cleanup_(json_value_freep) JsonValue *v = NULL;

	/* A decimal-comma locale must not change how "1.5" reads; skip quietly if absent. */
	if (!setlocale(LC_NUMERIC, "de_DE.UTF-8") && !setlocale(LC_NUMERIC, "fr_FR.UTF-8"))
		return;
	v = parse_ok("[1.5]");
	setlocale(LC_NUMERIC, "C");
	ck_assert_double_eq(json_value_index(v, 0)->number.real, 1.5);
}
END_TEST

static const char *const malformed[] = {
	"",
	" ",
	"{",
	"}",
	"[",
	"]",
	"[1",
	"[1,",
	"[1,]",
	"[,1]",
	"[1 2]",
	"{\"a\"",
	"{\"a\":",
	"{\"a\":1",
	"{\"a\":1,}",
	"{,}",
	"{\"a\" 1}",
	"{a:1}",
	"{1:1}",
	"{\"a\":1 \"b\":2}",
	"'a'",
	"\"abc",
	"\"\\",
	"\"\\\"",
	"\"\\x\"",
	"\"\\u12\"",
	"\"\\u12G4\"",
	"\"\\ud800\"",
	"\"\\udc00\"",
	"\"\\ud800\\u0041\"",
	"\"\\ud800\\n\"",
	"\"\\u0000\"",
	"\"a\tb\"",
	"\"a\nb\"",
	"\"\x7f\x01\"",
	"\"\xff\"",
	"\"\xc3\"",
	"\"\xc0\xaf\"",
	"\"\xe0\x80\xaf\"",
	"\"\xed\xa0\x80\"",
	"\"\xf4\x90\x80\x80\"",
	"\"\xf8\x88\x80\x80\x80\"",
	"\xef\xbb\xbf{}",
	"01",
	"-01",
	"1.",
	".1",
	"+1",
	"-",
	"1e",
	"1e+",
	"1.e3",
	"0x10",
	"1e400",
	"-1e400",
	"NaN",
	"Infinity",
	"-Infinity",
	"tru",
	"nul",
	"truex",
	"True",
	"null null",
	"{} {}",
	"[1]x",
	"/*c*/1",
	"1 // c",
	"[\"a\",]",
};

START_TEST(test_malformed)
{
	JsonValue *v = NULL;
	int r = json_parse_string(malformed[_i], &v, NULL);

	ck_assert_msg(r < 0, "'%s' was accepted", malformed[_i]);
	ck_assert_ptr_null(v);
}
END_TEST

START_TEST(test_embedded_nul)
{
	static const char doc[] = "[1,\0 2]";
	static const char str[] = "\"a\0b\"";
	JsonValue *v = NULL;
	size_t off = 0;

	ck_assert_int_eq(json_parse(doc, sizeof(doc) - 1, &v, &off), -EINVAL);
	ck_assert_uint_eq(off, 3);
	ck_assert_int_eq(json_parse(str, sizeof(str) - 1, &v, NULL), -EINVAL);
	/* The length bounds the parse: the text need not be NUL-terminated. */
	ck_assert_int_eq(json_parse("[7]garbage", 3, &v, NULL), 0);
	ck_assert_uint_eq(json_value_get_u64(v, "x", 5), 5);
	ck_assert(json_value_u64(json_value_index(v, 0), NULL));
	v = json_value_free(v);
	ck_assert_int_eq(json_parse("12345", 2, &v, NULL), 0);
	ck_assert_uint_eq(v->number.u64, 12);
	v = json_value_free(v);
	ck_assert_int_eq(json_parse(NULL, 0, &v, NULL), -EINVAL);
}
END_TEST

START_TEST(test_error_offset)
{
	JsonValue *v = NULL;
	size_t off = 0;

	ck_assert_int_eq(json_parse_string("{\"a\": [1, 2, x]}", &v, &off), -EINVAL);
	ck_assert_uint_eq(off, 13);
	ck_assert_int_eq(json_parse_string("[1] 2", &v, &off), -EINVAL);
	ck_assert_uint_eq(off, 4);
}
END_TEST

static char *nested(const char *open, const char *close, unsigned depth)
{
	size_t lo = strlen(open), lc = strlen(close);
	char *s = malloc(depth * (lo + lc) + 2), *p = s;

	ck_assert_ptr_nonnull(s);
	for (unsigned i = 0; i < depth; i++)
		p = mempcpy(p, open, lo);
	*p++ = '1';
	for (unsigned i = 0; i < depth; i++)
		p = mempcpy(p, close, lc);
	*p = 0;
	return s;
}

START_TEST(test_depth_limit)
{
	static const struct {
		const char *open, *close;
	} kinds[] = {{"[", "]"}, {"{\"k\":", "}"}, {"[{\"k\":", "}]"}};

	for (size_t k = 0; k < ELEMENTSOF(kinds); k++) {
		unsigned per = k == 2 ? 2 : 1, max = JSON_PARSE_MAX_DEPTH / per;
		_cleanup_free_ char *ok = nested(kinds[k].open, kinds[k].close, max);
		_cleanup_free_ char *deep = nested(kinds[k].open, kinds[k].close, max + 1);
		_cleanup_free_ char *huge = nested(kinds[k].open, kinds[k].close, 200000);
		_cleanup_(json_value_freep) JsonValue *v = NULL;
		const JsonValue *w;
		JsonValue *bad = NULL;
		unsigned d = 0;

		ck_assert_int_eq(json_parse_string(ok, &v, NULL), 0);
		for (w = v; !json_value_is(w, JSON_TYPE_NUMBER); d++)
			w = w->type == JSON_TYPE_ARRAY ? json_value_index(w, 0)
						       : json_value_get(w, "k");
		ck_assert_uint_eq(d, JSON_PARSE_MAX_DEPTH);
		ck_assert_int_eq(json_parse_string(deep, &bad, NULL), -ELNRNG);
		ck_assert_int_eq(json_parse_string(huge, &bad, NULL), -ELNRNG);
		ck_assert_ptr_null(bad);
	}
}
END_TEST

START_TEST(test_big_array)
{
	_cleanup_(json_value_freep) JsonValue *v = NULL;
	_cleanup_free_ char *text = NULL;
	size_t n = 100000, len = 0;
	FILE *f = open_memstream(&text, &len);

	ck_assert_ptr_nonnull(f);
	fputc('[', f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s{\"i\":%zu}", i ? "," : "", i);
	fputc(']', f);
	fclose(f);

	ck_assert_int_eq(json_parse(text, len, &v, NULL), 0);
	ck_assert_uint_eq(json_value_size(v), n);
	ck_assert_uint_eq(json_value_get_u64(json_value_index(v, n - 1), "i", 0), n - 1);
}
END_TEST

START_TEST(test_writer_roundtrip)
{
	_cleanup_(json_value_freep) JsonValue *v = NULL;
	_cleanup_free_ char *text = NULL;
	JsonWriter j;
	int r;

	json_init(&j);
	json_object_begin(&j, NULL);
	json_string(&j, "s", "tab\there \"quoted\" \x01 \xc2\xb5s");
	json_u64(&j, "big", UINT64_MAX);
	json_i64(&j, "neg", -42);
	json_double(&j, "rate", 1234567.875);
	json_double(&j, "nan", NAN);
	json_bool(&j, "yes", true);
	json_string(&j, "nothing", NULL);
	json_array_begin(&j, "a");
	json_u64(&j, NULL, 1);
	json_object_begin(&j, NULL);
	json_object_end(&j);
	json_array_end(&j);
	json_raw(&j, "raw", "{\"x\":[true,false]}");
	json_object_end(&j);
	text = json_finish(&j, &r);
	ck_assert_int_eq(r, 0);

	ck_assert_int_eq(json_parse_string(text, &v, NULL), 0);
	ck_assert_str_eq(json_value_get_string(v, "s", ""), "tab\there \"quoted\" \x01 \xc2\xb5s");
	ck_assert_uint_eq(json_value_get_u64(v, "big", 0), UINT64_MAX);
	ck_assert_double_eq(json_value_get_double(v, "neg", 0), -42);
	ck_assert_double_eq(json_value_get_double(v, "rate", 0), 1234567.875);
	ck_assert(json_value_is(json_value_get(v, "nan"), JSON_TYPE_NULL));
	ck_assert(json_value_get_bool(v, "yes", false));
	ck_assert(json_value_is(json_value_get(v, "nothing"), JSON_TYPE_NULL));
	ck_assert_uint_eq(json_value_size(json_value_get(v, "a")), 2);
	ck_assert_uint_eq(json_value_size(json_value_get(json_value_get(v, "raw"), "x")), 2);
	ck_assert(json_value_bool(
		json_value_index(json_value_get(json_value_get(v, "raw"), "x"), 0), NULL));
}
END_TEST

/* Walks a parsed tree and checks what a consumer relies on. */
static void check_tree(const JsonValue *v, unsigned depth)
{
	ck_assert_ptr_nonnull(v);
	ck_assert_uint_le(depth, JSON_PARSE_MAX_DEPTH);
	switch (v->type) {
	case JSON_TYPE_STRING:
		ck_assert_uint_eq(strlen(v->string.str), v->string.len);
		break;
	case JSON_TYPE_NUMBER:
		ck_assert(isfinite(v->number.real));
		break;
	case JSON_TYPE_ARRAY:
		for (size_t i = 0; i < v->array.n; i++)
			check_tree(v->array.items[i], depth + 1);
		break;
	case JSON_TYPE_OBJECT:
		for (size_t i = 0; i < v->object.n; i++) {
			ck_assert_ptr_nonnull(v->object.members[i].key);
			check_tree(v->object.members[i].value, depth + 1);
		}
		break;
	default:
		break;
	}
}

static uint64_t rng_state;

static uint64_t rng(void)
{
	/* xorshift64*: deterministic, so a failing iteration can be replayed. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(2685821657736338717);
}

static const char *const seeds[] = {
	"{\"id\":1,\"path\":\"/org/iommutest1/run/1\",\"scenario\":\"model-hitless\","
	"\"state\":\"finished\",\"verdict\":\"pass\",\"rate\":1234567.8,"
	"\"latency_ns\":{\"min\":120,\"mean\":410.2,\"p50\":400},"
	"\"faults_by_source\":{\"model\":{\"total\":0}},"
	"\"attach_points\":[{\"name\":\"RID\",\"pasid\":null}],"
	"\"expectations\":[{\"key\":\"Faults\",\"expect\":\"=0\",\"actual\":0,\"pass\":true}]}",
	"[\"\\u00e9\\ud83d\\ude00\\n\",-1.5e-3,18446744073709551615,true,false,null,[[[]]],{}]",
	"\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"",
};

START_TEST(test_fuzz_mutations)
{
	static const char alphabet[] =
		"{}[]\":,\\u0123456789abcdefABCDEF-+.eE tfnrl\x01\x7f\x80\xbf\xc3\xed\xf0\xff";
	char buf[1024];

	rng_state = UINT64_C(0x9E3779B97F4A7C15) + (uint64_t)_i;
	for (unsigned iter = 0; iter < 20000; iter++) {
		const char *seed = seeds[rng() % ELEMENTSOF(seeds)];
		size_t len = strlen(seed);
		unsigned n_mut = 1 + (unsigned)(rng() % 8);
		JsonValue *v = NULL;
		size_t off = SIZE_MAX;
		int r;

		memcpy(buf, seed, len);
		for (unsigned m = 0; m < n_mut; m++) {
			size_t pos = len ? rng() % len : 0;
			char c = rng() % 4 ? alphabet[rng() % (sizeof(alphabet) - 1)] : (char)rng();

			switch (rng() % 4) {
			case 0: /* replace */
				if (len)
					buf[pos] = c;
				break;
			case 1: /* insert */
				if (len + 1 < sizeof(buf)) {
					memmove(buf + pos + 1, buf + pos, len - pos);
					buf[pos] = c;
					len++;
				}
				break;
			case 2: /* delete */
				if (len) {
					memmove(buf + pos, buf + pos + 1, len - pos - 1);
					len--;
				}
				break;
			default: /* truncate */
				len = pos;
			}
		}

		r = json_parse(buf, len, &v, &off);
		if (r == 0)
			check_tree(v, 0);
		else {
			ck_assert(r == -EINVAL || r == -ERANGE || r == -ELNRNG);
			ck_assert_ptr_null(v);
			ck_assert_uint_le(off, len);
		}
		json_value_free(v);
	}
}
END_TEST

START_TEST(test_fuzz_random)
{
	char buf[256];

	rng_state = UINT64_C(0xD1B54A32D192ED03) + (uint64_t)_i;
	for (unsigned iter = 0; iter < 20000; iter++) {
		size_t len = rng() % sizeof(buf);
		JsonValue *v = NULL;

		/* Mostly structural characters so that parses get past the first byte. */
		for (size_t k = 0; k < len; k++)
			buf[k] = rng() % 2 ? "[]{}\",:0-1e.tnu\\ "[rng() % 18] : (char)rng();
		if (json_parse(buf, len, &v, NULL) == 0)
			check_tree(v, 0);
		json_value_free(v);
	}
}
END_TEST

static Suite *json_parse_suite(void)
{
	Suite *s = suite_create("json-parse");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_scalars);
	tcase_add_test(tc, test_object_lookup);
	tcase_add_test(tc, test_duplicate_keys);
	tcase_add_test(tc, test_member_iteration);
	tcase_add_test(tc, test_escapes);
	tcase_add_test(tc, test_escape_boundaries);
	tcase_add_loop_test(tc, test_numbers, 0, ELEMENTSOF(numbers));
	tcase_add_test(tc, test_number_locale);
	tcase_add_loop_test(tc, test_malformed, 0, ELEMENTSOF(malformed));
	tcase_add_test(tc, test_embedded_nul);
	tcase_add_test(tc, test_error_offset);
	tcase_add_test(tc, test_depth_limit);
	tcase_add_test(tc, test_big_array);
	tcase_add_test(tc, test_writer_roundtrip);
	suite_add_tcase(s, tc);

	tc = tcase_create("fuzz");
	tcase_add_loop_test(tc, test_fuzz_mutations, 0, 4);
	tcase_add_loop_test(tc, test_fuzz_random, 0, 4);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(json_parse_suite());
}
