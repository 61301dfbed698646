/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json-parse.h"
#include "macro.h"

typedef struct Parser {
	const char *start, *p, *end;
	unsigned depth;
} Parser;

static int parse_value(Parser *ps, JsonValue **ret);

static JsonValue *value_new(JsonType type)
{
	JsonValue *v = calloc(1, sizeof(*v));

	if (v)
		v->type = type;
	return v;
}

JsonValue *json_value_free(JsonValue *v)
{
	if (!v)
		return NULL;

	switch (v->type) {
	case JSON_TYPE_STRING:
		free(v->string.str);
		break;
	case JSON_TYPE_ARRAY:
		for (size_t i = 0; i < v->array.n; i++)
			json_value_free(v->array.items[i]);
		free(v->array.items);
		break;
	case JSON_TYPE_OBJECT:
		for (size_t i = 0; i < v->object.n; i++) {
			free(v->object.members[i].key);
			json_value_free(v->object.members[i].value);
		}
		free(v->object.members);
		break;
	default:
		break;
	}
	free(v);
	return NULL;
}

static bool at_end(const Parser *ps)
{
	return ps->p >= ps->end;
}

static void skip_whitespace(Parser *ps)
{
	while (!at_end(ps) && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

/* Grows *array (of elem_size elements) so that one more fits; doubling keeps appends O(1). */
static int grow(void **array, size_t elem_size, size_t n, size_t *cap)
{
	size_t new_cap;
	void *a;

	if (n < *cap)
		return 0;
	new_cap = *cap ? *cap * 2 : 4;
	if (new_cap > SIZE_MAX / elem_size)
		return -ENOMEM;
	a = realloc(*array, new_cap * elem_size);
	if (!a)
		return -ENOMEM;
	*array = a;
	*cap = new_cap;
	return 0;
}

/* Reads the 4 hex digits after "\u"; ps->p points at the first digit. */
static int parse_hex4(Parser *ps, uint32_t *ret)
{
	uint32_t v = 0;

	if (ps->end - ps->p < 4)
		return -EINVAL;
	for (int i = 0; i < 4; i++) {
		int d = unhexchar(ps->p[i]);

		if (d < 0)
			return -EINVAL;
		v = v << 4 | (uint32_t)d;
	}
	ps->p += 4;
	*ret = v;
	return 0;
}

static size_t utf8_encode(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/*
 * Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlong forms,
 * no surrogates, nothing above U+10FFFF), or 0 if there is none.
 */
static size_t utf8_valid_length(const unsigned char *p, const unsigned char *end)
{
	unsigned char lo = 0x80, hi = 0xBF;
	size_t n;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xC2 && p[0] <= 0xDF)
		n = 2;
	else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
		n = 3;
		if (p[0] == 0xE0)
			lo = 0xA0;
		else if (p[0] == 0xED)
			hi = 0x9F;
	} else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
		n = 4;
		if (p[0] == 0xF0)
			lo = 0x90;
		else if (p[0] == 0xF4)
			hi = 0x8F;
	} else
		return 0;

	if ((size_t)(end - p) < n)
		return 0;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xBF)
			return 0;
	return n;
}

/* ps->p points at the opening quote. */
static int parse_string_raw(Parser *ps, char **ret, size_t *ret_len)
{
	_cleanup_free_ char *buf = NULL;
	const char *q;
	size_t n = 0;

	/*
	 * Find the closing quote first: the decoded text is never longer than
	 * the escaped one (\uXXXX is 6 bytes for at most 3, a surrogate pair 12
	 * for 4), so one allocation of that size is enough.
	 */
	for (q = ps->p + 1; q < ps->end && *q != '"'; q++)
		if (*q == '\\' && ++q >= ps->end)
			break;
	if (q >= ps->end)
		return -EINVAL;

	buf = malloc((size_t)(q - ps->p));
	if (!buf)
		return -ENOMEM;

	ps->p++;
	while (ps->p < q) {
		unsigned char c = (unsigned char)*ps->p;
		uint32_t cp, lo;
		size_t l;

		if (c < 0x20)
			return -EINVAL; /* control characters must be escaped */
		if (c != '\\') {
			l = utf8_valid_length((const unsigned char *)ps->p,
					      (const unsigned char *)q);
			if (l == 0)
				return -EINVAL;
			memcpy(buf + n, ps->p, l);
			n += l;
			ps->p += l;
			continue;
		}

		ps->p++; /* the scan above guarantees a character after the backslash */
		switch (*ps->p++) {
		case '"':
			buf[n++] = '"';
			break;
		case '\\':
			buf[n++] = '\\';
			break;
		case '/':
			buf[n++] = '/';
			break;
		case 'b':
			buf[n++] = '\b';
			break;
		case 'f':
			buf[n++] = '\f';
			break;
		case 'n':
			buf[n++] = '\n';
			break;
		case 'r':
			buf[n++] = '\r';
			break;
		case 't':
			buf[n++] = '\t';
			break;
		case 'u':
			if (parse_hex4(ps, &cp) < 0 || ps->p > q)
				return -EINVAL;
			if (cp == 0)
				return -EINVAL;
			if (cp >= 0xDC00 && cp <= 0xDFFF)
				return -EINVAL; /* a low surrogate on its own */
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				/* A high surrogate must be followed by an escaped low one. */
				if (q - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u')
					return -EINVAL;
				ps->p += 2;
				if (parse_hex4(ps, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF)
					return -EINVAL;
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			}
			n += utf8_encode(buf + n, cp);
			break;
		default:
			return -EINVAL;
		}
	}
	ps->p = q + 1;
	buf[n] = 0;
	*ret = TAKE_PTR(buf);
	if (ret_len)
		*ret_len = n;
	return 0;
}

/* strtod() follows LC_NUMERIC; JSON always uses '.', whatever the program's locale. */
static locale_t c_locale(void)
{
	static locale_t cached;
	locale_t l = __atomic_load_n(&cached, __ATOMIC_ACQUIRE), expected = (locale_t)0;

	if (l)
		return l;
	l = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
	if (!l)
		return (locale_t)0;
	if (!__atomic_compare_exchange_n(&cached, &expected, l, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		freelocale(l);
		return expected;
	}
	return l;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int parse_number(Parser *ps, JsonValue **ret)
{
	_cleanup_free_ char *heap = NULL;
	const char *s = ps->p, *p = ps->p;
	bool plain = true; /* only digits: exact integer parsing applies */
	uint64_t u = 0;
	bool overflow = false;
	char stack[64], *copy;
	locale_t loc;
	double d;
	JsonValue *v;
	size_t len;

	/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
	if (p < ps->end && *p == '-') {
		plain = false;
		p++;
	}
	if (p >= ps->end || !is_digit(*p))
		return -EINVAL;
	if (*p == '0')
		p++;
	else
		for (; p < ps->end && is_digit(*p); p++) {
			unsigned digit = (unsigned)(*p - '0');

			if (u > (UINT64_MAX - digit) / 10)
				overflow = true;
			else
				u = u * 10 + digit;
		}
	if (p < ps->end && is_digit(*p))
		return -EINVAL; /* leading zero */
	if (p < ps->end && *p == '.') {
		plain = false;
		p++;
		if (p >= ps->end || !is_digit(*p))
			return -EINVAL;
		while (p < ps->end && is_digit(*p))
			p++;
	}
	if (p < ps->end && (*p == 'e' || *p == 'E')) {
		plain = false;
		p++;
		if (p < ps->end && (*p == '+' || *p == '-'))
			p++;
		if (p >= ps->end || !is_digit(*p))
			return -EINVAL;
		while (p < ps->end && is_digit(*p))
			p++;
	}

	/* strtod() needs a terminated string and the input need not be one. */
	len = (size_t)(p - s);
	if (len < sizeof(stack))
		copy = stack;
	else {
		heap = malloc(len + 1);
		if (!heap)
			return -ENOMEM;
		copy = heap;
	}
	memcpy(copy, s, len);
	copy[len] = 0;

	loc = c_locale();
	if (!loc)
		return -ENOMEM;
	d = strtod_l(copy, NULL, loc);
	if (!isfinite(d))
		return -ERANGE; /* underflow to 0 or a denormal is fine, overflow is not */

	v = value_new(JSON_TYPE_NUMBER);
	if (!v)
		return -ENOMEM;
	v->number.real = d;
	if (plain) {
		v->number.is_u64 = !overflow;
		v->number.u64 = u;
	} else if (d >= 0 && d < 18446744073709551616.0 && d == floor(d)) {
		/* "1e3" or "2.0": integral, and a double below 2^64 converts exactly. */
		v->number.is_u64 = true;
		v->number.u64 = (uint64_t)d;
	}
	ps->p = p;
	*ret = v;
	return 0;
}

static int parse_literal(Parser *ps, JsonValue **ret)
{
	static const struct {
		const char *text;
		JsonType type;
		bool boolean;
	} literals[] = {
		{"true", JSON_TYPE_BOOLEAN, true},
		{"false", JSON_TYPE_BOOLEAN, false},
		{"null", JSON_TYPE_NULL, false},
	};

	for (size_t i = 0; i < ELEMENTSOF(literals); i++) {
		size_t l = strlen(literals[i].text);
		JsonValue *v;

		if ((size_t)(ps->end - ps->p) < l || memcmp(ps->p, literals[i].text, l) != 0)
			continue;
		v = value_new(literals[i].type);
		if (!v)
			return -ENOMEM;
		v->boolean = literals[i].boolean;
		ps->p += l;
		*ret = v;
		return 0;
	}
	return -EINVAL;
}

static int parse_array(Parser *ps, JsonValue **ret)
{
	_cleanup_(json_value_freep) JsonValue *v = NULL;
	size_t cap = 0;
	int r;

	v = value_new(JSON_TYPE_ARRAY);
	if (!v)
		return -ENOMEM;
	ps->p++;
	skip_whitespace(ps);
	if (!at_end(ps) && *ps->p == ']') {
		ps->p++;
		*ret = TAKE_PTR(v);
		return 0;
	}
	for (;;) {
		JsonValue *item = NULL;

		r = grow((void **)&v->array.items, sizeof(JsonValue *), v->array.n, &cap);
		if (r < 0)
			return r;
		r = parse_value(ps, &item);
		if (r < 0)
			return r;
		v->array.items[v->array.n++] = item;

		skip_whitespace(ps);
		if (at_end(ps))
			return -EINVAL;
		if (*ps->p == ']') {
			ps->p++;
			break;
		}
		if (*ps->p != ',')
			return -EINVAL;
		ps->p++;
	}
	*ret = TAKE_PTR(v);
	return 0;
}

static int parse_object(Parser *ps, JsonValue **ret)
{
	_cleanup_(json_value_freep) JsonValue *v = NULL;
	size_t cap = 0;
	int r;

	v = value_new(JSON_TYPE_OBJECT);
	if (!v)
		return -ENOMEM;
	ps->p++;
	skip_whitespace(ps);
	if (!at_end(ps) && *ps->p == '}') {
		ps->p++;
		*ret = TAKE_PTR(v);
		return 0;
	}
	for (;;) {
		JsonMember *m;

		skip_whitespace(ps);
		if (at_end(ps) || *ps->p != '"')
			return -EINVAL;
		r = grow((void **)&v->object.members, sizeof(JsonMember), v->object.n, &cap);
		if (r < 0)
			return r;
		/* Count the member as soon as it has a key, so that errors below free it. */
		m = &v->object.members[v->object.n];
		*m = (JsonMember){};
		r = parse_string_raw(ps, &m->key, NULL);
		if (r < 0)
			return r;
		v->object.n++;

		skip_whitespace(ps);
		if (at_end(ps) || *ps->p != ':')
			return -EINVAL;
		ps->p++;
		r = parse_value(ps, &m->value);
		if (r < 0)
			return r;

		skip_whitespace(ps);
		if (at_end(ps))
			return -EINVAL;
		if (*ps->p == '}') {
			ps->p++;
			break;
		}
		if (*ps->p != ',')
			return -EINVAL;
		ps->p++;
	}
	*ret = TAKE_PTR(v);
	return 0;
}

static int parse_value(Parser *ps, JsonValue **ret)
{
	int r;

	skip_whitespace(ps);
	if (at_end(ps))
		return -EINVAL;

	switch (*ps->p) {
	case '{':
	case '[':
		/* Recursion is bounded here, so hostile input cannot exhaust the stack. */
		if (ps->depth >= JSON_PARSE_MAX_DEPTH)
			return -ELNRNG;
		ps->depth++;
		r = *ps->p == '{' ? parse_object(ps, ret) : parse_array(ps, ret);
		ps->depth--;
		return r;
	case '"': {
		_cleanup_free_ char *s = NULL;
		JsonValue *v;
		size_t len;

		r = parse_string_raw(ps, &s, &len);
		if (r < 0)
			return r;
		v = value_new(JSON_TYPE_STRING);
		if (!v)
			return -ENOMEM;
		v->string.str = TAKE_PTR(s);
		v->string.len = len;
		*ret = v;
		return 0;
	}
	case 't':
	case 'f':
	case 'n':
		return parse_literal(ps, ret);
	default:
		return parse_number(ps, ret);
	}
}

int json_parse(const char *text, size_t len, JsonValue **ret, size_t *ret_error_offset)
{
	_cleanup_(json_value_freep) JsonValue *v = NULL;
	Parser ps = {
		.start = text,
		.p = text,
		.end = text + len,
	};
	int r;

	if (!text || !ret)
		return -EINVAL;

	r = parse_value(&ps, &v);
	if (r >= 0) {
		skip_whitespace(&ps);
		if (!at_end(&ps))
			r = -EINVAL; /* trailing garbage */
	}
	if (r < 0) {
		if (ret_error_offset)
			*ret_error_offset = (size_t)(ps.p - ps.start);
		return r;
	}
	*ret = TAKE_PTR(v);
	return 0;
}

int json_parse_string(const char *text, JsonValue **ret, size_t *ret_error_offset)
{
	if (!text)
		return -EINVAL;
	return json_parse(text, strlen(text), ret, ret_error_offset);
}

const char *json_type_to_string(JsonType t)
{
	static const char *const names[] = {
		[JSON_TYPE_NULL] = "null",     [JSON_TYPE_BOOLEAN] = "boolean",
		[JSON_TYPE_NUMBER] = "number", [JSON_TYPE_STRING] = "string",
		[JSON_TYPE_ARRAY] = "array",   [JSON_TYPE_OBJECT] = "object",
	};

	if ((unsigned)t >= ELEMENTSOF(names))
		return NULL;
	return names[t];
}

bool json_value_is(const JsonValue *v, JsonType t)
{
	return v && v->type == t;
}

const JsonValue *json_value_get(const JsonValue *object, const char *key)
{
	if (!json_value_is(object, JSON_TYPE_OBJECT) || !key)
		return NULL;
	for (size_t i = object->object.n; i > 0; i--)
		if (streq(object->object.members[i - 1].key, key))
			return object->object.members[i - 1].value;
	return NULL;
}

const JsonValue *json_value_index(const JsonValue *array, size_t i)
{
	if (!json_value_is(array, JSON_TYPE_ARRAY) || i >= array->array.n)
		return NULL;
	return array->array.items[i];
}

const JsonValue *json_value_member(const JsonValue *object, size_t i, const char **ret_key)
{
	if (!json_value_is(object, JSON_TYPE_OBJECT) || i >= object->object.n)
		return NULL;
	if (ret_key)
		*ret_key = object->object.members[i].key;
	return object->object.members[i].value;
}

size_t json_value_size(const JsonValue *v)
{
	if (json_value_is(v, JSON_TYPE_ARRAY))
		return v->array.n;
	if (json_value_is(v, JSON_TYPE_OBJECT))
		return v->object.n;
	return 0;
}

const char *json_value_string(const JsonValue *v)
{
	return json_value_is(v, JSON_TYPE_STRING) ? v->string.str : NULL;
}

bool json_value_u64(const JsonValue *v, uint64_t *ret)
{
	if (!json_value_is(v, JSON_TYPE_NUMBER) || !v->number.is_u64)
		return false;
	if (ret)
		*ret = v->number.u64;
	return true;
}

bool json_value_double(const JsonValue *v, double *ret)
{
	if (!json_value_is(v, JSON_TYPE_NUMBER))
		return false;
	if (ret)
		*ret = v->number.real;
	return true;
}

bool json_value_bool(const JsonValue *v, bool *ret)
{
	if (!json_value_is(v, JSON_TYPE_BOOLEAN))
		return false;
	if (ret)
		*ret = v->boolean;
	return true;
}

const char *json_value_get_string(const JsonValue *object, const char *key, const char *fallback)
{
	const char *s = json_value_string(json_value_get(object, key));

	return s ? s : fallback;
}

uint64_t json_value_get_u64(const JsonValue *object, const char *key, uint64_t fallback)
{
	uint64_t u;

	return json_value_u64(json_value_get(object, key), &u) ? u : fallback;
}

double json_value_get_double(const JsonValue *object, const char *key, double fallback)
{
	double d;

	return json_value_double(json_value_get(object, key), &d) ? d : fallback;
}

bool json_value_get_bool(const JsonValue *object, const char *key, bool fallback)
{
	bool b;

	return json_value_bool(json_value_get(object, key), &b) ? b : fallback;
}
