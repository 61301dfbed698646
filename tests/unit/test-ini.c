/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "ini.h"
#include "macro.h"
#include "check-run.h"

/* What one line lexes to; NULL where the field does not apply. */
typedef struct Want {
	IniLineType type;
	size_t raw_len;
	const char *text, *section, *key, *value;
} Want;

static const struct {
	const char *name, *text;
	size_t size; /* 0: strlen(text) */
	IniFlags flags;
	Want lines[8];
	size_t n_lines;
} cases[] = {
	{"empty", "", 0, 0, {}, 0},
	{"one line, no newline",
	 "a=b",
	 0,
	 0,
	 {{INI_ASSIGNMENT, 3, "a=b", .key = "a", .value = "b"}},
	 1},
	{"a final newline is not an empty line",
	 "a=b\n",
	 0,
	 0,
	 {{INI_ASSIGNMENT, 3, "a=b", .key = "a", .value = "b"}},
	 1},
	{"empty lines count",
	 "\n\n[S]\n",
	 0,
	 0,
	 {{INI_BLANK, 0, ""}, {INI_BLANK, 0, ""}, {INI_SECTION, 3, "[S]", .section = "S"}},
	 3},
	{"comments",
	 "# x=y\n  ; [S]\n\t#\n",
	 0,
	 0,
	 {{INI_BLANK, 5, "# x=y"}, {INI_BLANK, 7, "; [S]"}, {INI_BLANK, 2, "#"}},
	 3},
	{"a comment only at the start",
	 "a=b # c\n",
	 0,
	 0,
	 {{INI_ASSIGNMENT, 7, "a=b # c", .key = "a", .value = "b # c"}},
	 1},
	{"trimming",
	 " \t Key \t= \t Value with  spaces \t\n",
	 0,
	 0,
	 {{INI_ASSIGNMENT, 32, "Key \t= \t Value with  spaces", .key = "Key",
	   .value = "Value with  spaces"}},
	 1},
	{"split at the first =",
	 "a==b=c\n=v\nk=\n=\n",
	 0,
	 0,
	 {{INI_ASSIGNMENT, 6, "a==b=c", .key = "a", .value = "=b=c"},
	  {INI_ASSIGNMENT, 2, "=v", .key = "", .value = "v"},
	  {INI_ASSIGNMENT, 2, "k=", .key = "k", .value = ""},
	  {INI_ASSIGNMENT, 1, "=", .key = "", .value = ""}},
	 4},
	{"headers",
	 "[Scenario]\n  [Two Words]  \n[]\n[ S ]\n[a]b]\n",
	 0,
	 0,
	 {{INI_SECTION, 10, "[Scenario]", .section = "Scenario"},
	  {INI_SECTION, 15, "[Two Words]", .section = "Two Words"},
	  {INI_SECTION, 2, "[]", .section = ""},
	  {INI_SECTION, 5, "[ S ]", .section = " S "},
	  {INI_SECTION, 5, "[a]b]", .section = "a]b"}},
	 5},
	{"bad headers",
	 "[\n[S\n[S]x\n[a=b\n",
	 0,
	 0,
	 {{INI_BAD_SECTION, 1, "["},
	  {INI_BAD_SECTION, 2, "[S"},
	  {INI_BAD_SECTION, 4, "[S]x"},
	  {INI_BAD_SECTION, 4, "[a=b"}},
	 4},
	{"not an assignment",
	 "word\nS]\n",
	 0,
	 0,
	 {{INI_NO_ASSIGNMENT, 4, "word"}, {INI_NO_ASSIGNMENT, 2, "S]"}},
	 2},
	{"CR LF: one CR goes with the newline",
	 "[S]\r\na=b\r\nc=d\r\r\n\r",
	 0,
	 0,
	 {{INI_SECTION, 3, "[S]", .section = "S"},
	  {INI_ASSIGNMENT, 3, "a=b", .key = "a", .value = "b"},
	  {INI_ASSIGNMENT, 4, "c=d", .key = "c", .value = "d"},
	  {INI_BLANK, 0, ""}},
	 4},
	{"all C-locale blanks are trimmed, nothing else",
	 "\v\f a = b\v\f\n\xc2\xa0k=v\n",
	 0,
	 0,
	 {{INI_ASSIGNMENT, 10, "a = b", .key = "a", .value = "b"},
	  {INI_ASSIGNMENT, 5, "\xc2\xa0k=v", .key = "\xc2\xa0k", .value = "v"}},
	 2},
	{"a NUL ends the line's text, not the line",
	 "ab\0=c\nk=v",
	 9,
	 0,
	 {{INI_NO_ASSIGNMENT, 5, "ab"}, {INI_ASSIGNMENT, 3, "k=v", .key = "k", .value = "v"}},
	 2},
	{"size bounds the text",
	 "a=b\nc=d",
	 5,
	 0,
	 {{INI_ASSIGNMENT, 3, "a=b", .key = "a", .value = "b"}, {INI_NO_ASSIGNMENT, 1, "c"}},
	 2},
	{"BOM skipped",
	 "\xef\xbb\xbf[S]\n",
	 0,
	 INI_SKIP_BOM,
	 {{INI_SECTION, 3, "[S]", .section = "S"}},
	 1},
	{"BOM only at the start",
	 "a=b\n\xef\xbb\xbf[S]\n",
	 0,
	 INI_SKIP_BOM,
	 {{INI_ASSIGNMENT, 3, "a=b", .key = "a", .value = "b"},
	  {INI_NO_ASSIGNMENT, 6, "\xef\xbb\xbf[S]"}},
	 2},
	/* A kept BOM is text: the line does not start with '[', so it is no header. */
	{"BOM kept without INI_SKIP_BOM",
	 "\xef\xbb\xbf[S]\n",
	 0,
	 0,
	 {{INI_NO_ASSIGNMENT, 6, "\xef\xbb\xbf[S]"}},
	 1},
	{"BOM alone", "\xef\xbb\xbf", 0, INI_SKIP_BOM, {}, 0},
};

static void check_str(int c, const char *what, size_t i, const char *got, const char *want)
{
	if (!want)
		return;
	ck_assert_msg(got && streq(got, want), "%s: line %zu: %s \"%s\", want \"%s\"",
		      cases[c].name, i + 1, what, strempty(got), want);
}

START_TEST(test_lex)
{
	_cleanup_(ini_lexer_done) IniLexer lx = {};
	const char *text = cases[_i].text;
	size_t size = cases[_i].size ?: strlen(text), n = 0;
	const IniLine *l;
	int r;

	ini_lexer_init(&lx, text, size, cases[_i].flags);
	while ((r = ini_lexer_next(&lx, &l)) > 0) {
		const Want *w = &cases[_i].lines[n];

		ck_assert_msg(n < cases[_i].n_lines, "%s: more lines than %zu", cases[_i].name,
			      cases[_i].n_lines);
		ck_assert_uint_eq(l->number, n + 1);
		ck_assert_msg(l->type == w->type, "%s: line %zu: type %d, want %d", cases[_i].name,
			      n + 1, l->type, w->type);
		ck_assert_uint_eq(l->raw_len, w->raw_len);
		/* raw points into the text. */
		ck_assert(l->raw >= text && l->raw + l->raw_len <= text + size);
		check_str(_i, "text", n, l->text, w->text);
		check_str(_i, "section", n, l->section, w->section);
		check_str(_i, "key", n, l->key, w->key);
		check_str(_i, "value", n, l->value, w->value);
		if (w->type != INI_SECTION)
			ck_assert_ptr_null(l->section);
		if (w->type != INI_ASSIGNMENT)
			ck_assert(!l->key && !l->value);
		n++;
	}
	ck_assert_int_eq(r, 0);
	ck_assert_uint_eq(n, cases[_i].n_lines);
	ck_assert_uint_eq(lx.number, n);
	/* The end stays the end. */
	ck_assert_int_eq(ini_lexer_next(&lx, &l), 0);
}
END_TEST

START_TEST(test_raw)
{
	_cleanup_(ini_lexer_done) IniLexer lx = {};
	static const char text[] = "a = b \r\n\t# c\xff\n";
	const IniLine *l;

	/* The raw bytes are the line as written, for callers that check every byte. */
	ini_lexer_init(&lx, text, strlen(text), 0);
	ck_assert_int_eq(ini_lexer_next(&lx, &l), 1);
	ck_assert_ptr_eq(l->raw, text);
	ck_assert_uint_eq(l->raw_len, strlen("a = b "));
	ck_assert_int_eq(ini_lexer_next(&lx, &l), 1);
	ck_assert_ptr_eq(l->raw, text + strlen("a = b \r\n"));
	ck_assert(l->raw_len == 5 && memcmp(l->raw, "\t# c\xff", 5) == 0);
	ck_assert_int_eq(ini_lexer_next(&lx, &l), 0);
}
END_TEST

START_TEST(test_long_line)
{
	_cleanup_(ini_lexer_done) IniLexer lx = {};
	static char text[20000];
	const IniLine *l;

	/* No length limit, and the buffer grows from a short line to a long one. */
	memcpy(text, "k=v\nKey=", 8);
	memset(text + 8, 'x', sizeof(text) - 8 - 1);
	ini_lexer_init(&lx, text, strlen(text), 0);
	ck_assert_int_eq(ini_lexer_next(&lx, &l), 1);
	ck_assert_str_eq(l->value, "v");
	ck_assert_int_eq(ini_lexer_next(&lx, &l), 1);
	ck_assert_str_eq(l->key, "Key");
	ck_assert_uint_eq(strlen(l->value), sizeof(text) - 8 - 1);
	ck_assert_uint_eq(l->raw_len, sizeof(text) - 4 - 1);
}
END_TEST

START_TEST(test_too_many_lines)
{
	_cleanup_(ini_lexer_done) IniLexer lx = {};
	const IniLine *l;

	/* Not 4 Gi lines of text: the lexer as if it had read them. */
	ini_lexer_init(&lx, "a\nb\n", 4, 0);
	lx.number = UINT_MAX - 1;
	ck_assert_int_eq(ini_lexer_next(&lx, &l), 1);
	ck_assert_uint_eq(l->number, UINT_MAX);
	ck_assert_int_eq(ini_lexer_next(&lx, &l), -EOVERFLOW);
	ck_assert_uint_eq(lx.number, UINT_MAX);

	/* At the end of the text, the end: no overflow for a line that is not there. */
	ini_lexer_done(&lx);
	ini_lexer_init(&lx, "a", 1, 0);
	lx.number = UINT_MAX - 1;
	ck_assert_int_eq(ini_lexer_next(&lx, &l), 1);
	ck_assert_int_eq(ini_lexer_next(&lx, &l), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ini");
	TCase *tc = tcase_create("ini");

	tcase_add_loop_test(tc, test_lex, 0, (int)ELEMENTSOF(cases));
	tcase_add_test(tc, test_raw);
	tcase_add_test(tc, test_long_line);
	tcase_add_test(tc, test_too_many_lines);
	suite_add_tcase(s, tc);
	return check_run(s);
}
