/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "macro.h"

void json_init(JsonWriter *j)
{
	*j = (JsonWriter){};
}

void json_done(JsonWriter *j)
{
	free(j->buf);
	*j = (JsonWriter){};
}

static void put(JsonWriter *j, const char *s, size_t n)
{
	if (j->error)
		return;
	if (j->len + n + 1 > j->cap) {
		size_t cap = MAX(j->cap * 2, j->len + n + 256);
		char *b = realloc(j->buf, cap);
		if (!b) {
			j->error = -ENOMEM;
			return;
		}
		j->buf = b;
		j->cap = cap;
	}
	memcpy(j->buf + j->len, s, n);
	j->len += n;
	j->buf[j->len] = 0;
}

static void puts_(JsonWriter *j, const char *s)
{
	put(j, s, strlen(s));
}

static void put_escaped(JsonWriter *j, const char *s)
{
	put(j, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char esc[8];

		switch (*p) {
		case '"':
			puts_(j, "\\\"");
			break;
		case '\\':
			puts_(j, "\\\\");
			break;
		case '\n':
			puts_(j, "\\n");
			break;
		case '\t':
			puts_(j, "\\t");
			break;
		case '\r':
			puts_(j, "\\r");
			break;
		default:
			if (*p < 0x20) {
				snprintf(esc, sizeof(esc), "\\u%04x", *p);
				puts_(j, esc);
			} else
				put(j, (const char *)p, 1);
		}
	}
	put(j, "\"", 1);
}

/* Emits the separator and the key that go before any value. */
static void prefix(JsonWriter *j, const char *key)
{
	if (j->depth > 0 && j->need_comma[j->depth - 1])
		put(j, ",", 1);
	if (j->depth > 0)
		j->need_comma[j->depth - 1] = true;
	if (key) {
		put_escaped(j, key);
		put(j, ":", 1);
	}
}

static void open_(JsonWriter *j, const char *key, const char *bracket)
{
	prefix(j, key);
	puts_(j, bracket);
	if (j->depth >= JSON_MAX_DEPTH) {
		j->error = -EINVAL;
		return;
	}
	j->need_comma[j->depth++] = false;
}

static void close_(JsonWriter *j, const char *bracket)
{
	if (j->depth == 0) {
		j->error = -EINVAL;
		return;
	}
	j->depth--;
	puts_(j, bracket);
}

void json_object_begin(JsonWriter *j, const char *key)
{
	open_(j, key, "{");
}

void json_object_end(JsonWriter *j)
{
	close_(j, "}");
}

void json_array_begin(JsonWriter *j, const char *key)
{
	open_(j, key, "[");
}

void json_array_end(JsonWriter *j)
{
	close_(j, "]");
}

void json_string(JsonWriter *j, const char *key, const char *value)
{
	prefix(j, key);
	if (value)
		put_escaped(j, value);
	else
		puts_(j, "null");
}

void json_u64(JsonWriter *j, const char *key, uint64_t v)
{
	char b[32];

	prefix(j, key);
	snprintf(b, sizeof(b), "%" PRIu64, v);
	puts_(j, b);
}

void json_i64(JsonWriter *j, const char *key, int64_t v)
{
	char b[32];

	prefix(j, key);
	snprintf(b, sizeof(b), "%" PRIi64, v);
	puts_(j, b);
}

void json_double(JsonWriter *j, const char *key, double v)
{
	char b[64];

	prefix(j, key);
	if (!isfinite(v)) {
		puts_(j, "null");
		return;
	}
	snprintf(b, sizeof(b), "%.17g", v);
	/* Keep a value that happens to be integral recognisable as a number either way. */
	puts_(j, b);
}

void json_bool(JsonWriter *j, const char *key, bool v)
{
	prefix(j, key);
	puts_(j, v ? "true" : "false");
}

void json_null(JsonWriter *j, const char *key)
{
	prefix(j, key);
	puts_(j, "null");
}

void json_raw(JsonWriter *j, const char *key, const char *json)
{
	prefix(j, key);
	puts_(j, json);
}

char *json_finish(JsonWriter *j, int *ret_error)
{
	int r = j->error;

	if (r == 0 && j->depth != 0)
		r = -EINVAL;
	if (r == 0 && !j->buf)
		r = -EINVAL;
	if (r < 0) {
		json_done(j);
		if (ret_error)
			*ret_error = r;
		return NULL;
	}
	if (ret_error)
		*ret_error = 0;
	char *b = j->buf;
	*j = (JsonWriter){};
	return b;
}

static void indent(FILE *f, unsigned n)
{
	fputc('\n', f);
	for (unsigned i = 0; i < n; i++)
		fputs("  ", f);
}

void json_pretty_print(FILE *f, const char *text)
{
	unsigned depth = 0;
	bool in_string = false, escaped = false;

	for (const char *p = text; *p; p++) {
		char c = *p;

		if (in_string) {
			fputc(c, f);
			if (escaped)
				escaped = false;
			else if (c == '\\')
				escaped = true;
			else if (c == '"')
				in_string = false;
			continue;
		}
		switch (c) {
		case '"':
			in_string = true;
			fputc(c, f);
			break;
		case '{':
		case '[':
			fputc(c, f);
			/* Keep empty containers on one line. */
			if (p[1] == (c == '{' ? '}' : ']')) {
				fputc(*++p, f);
				break;
			}
			indent(f, ++depth);
			break;
		case '}':
		case ']':
			indent(f, depth ? --depth : 0);
			fputc(c, f);
			break;
		case ',':
			fputc(c, f);
			indent(f, depth);
			break;
		case ':':
			fputs(": ", f);
			break;
		case ' ':
		case '\n':
		case '\t':
		case '\r':
			break;
		default:
			fputc(c, f);
		}
	}
	fputc('\n', f);
}
