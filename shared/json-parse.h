/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A minimal DOM JSON reader (RFC 8259), the counterpart of the writer in
 * json.h: iommuctl reads the daemon's Describe() output back with it.
 *
 * It is strict, because its input crosses a trust boundary and ends up on a
 * terminal: no comments, no trailing commas, no byte-order mark, strings must
 * be valid UTF-8 without control characters, and NUL is rejected even as
 * \u0000 so that every string stays a C string. Nesting is limited to
 * JSON_PARSE_MAX_DEPTH arrays/objects. Any byte sequence may be passed in.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_PARSE_MAX_DEPTH 128

typedef enum JsonType {
	JSON_TYPE_NULL,
	JSON_TYPE_BOOLEAN,
	JSON_TYPE_NUMBER,
	JSON_TYPE_STRING,
	JSON_TYPE_ARRAY,
	JSON_TYPE_OBJECT,
} JsonType;

typedef struct JsonValue JsonValue;

typedef struct JsonMember {
	char *key;
	JsonValue *value;
} JsonMember;

struct JsonValue {
	JsonType type;
	union {
		bool boolean;
		struct {
			double real;
			/* Exact value when the number is a non-negative integer below 2^64. */
			uint64_t u64;
			bool is_u64;
		} number;
		struct {
			char *str; /* NUL-terminated, valid UTF-8 */
			size_t len;
		} string;
		struct {
			JsonValue **items;
			size_t n;
		} array;
		struct {
			JsonMember *members; /* in document order, duplicates kept */
			size_t n;
		} object;
	};
};

/*
 * Parses exactly one JSON value from text[0..len), surrounded by optional
 * whitespace. Returns 0, -EINVAL (malformed), -ERANGE (a number too large
 * for a double), -ELNRNG (nested too deeply) or -ENOMEM. On failure
 * *ret_error_offset (may be NULL) is the byte offset where parsing stopped.
 */
int json_parse(const char *text, size_t len, JsonValue **ret, size_t *ret_error_offset);
int json_parse_string(const char *text, JsonValue **ret, size_t *ret_error_offset);

JsonValue *json_value_free(JsonValue *v);
static inline void json_value_freep(JsonValue **v)
{
	if (*v)
		*v = json_value_free(*v);
}

/* NULL-safe accessors: a NULL or mistyped value reads as missing. */
const char *json_type_to_string(JsonType t);
bool json_value_is(const JsonValue *v, JsonType t);
/* Member of an object; the last one wins when a key is duplicated, as in most parsers. */
const JsonValue *json_value_get(const JsonValue *object, const char *key);
/* Element i of an array, or NULL. */
const JsonValue *json_value_index(const JsonValue *array, size_t i);
/* Member i of an object in document order (its key in *ret_key), or NULL. */
const JsonValue *json_value_member(const JsonValue *object, size_t i, const char **ret_key);
/* Number of array elements or object members; 0 for anything else. */
size_t json_value_size(const JsonValue *v);

const char *json_value_string(const JsonValue *v); /* NULL unless a string */
bool json_value_u64(const JsonValue *v, uint64_t *ret);
bool json_value_double(const JsonValue *v, double *ret);
bool json_value_bool(const JsonValue *v, bool *ret);

/* Member shortcuts with a fallback for a missing or mistyped member. */
const char *json_value_get_string(const JsonValue *object, const char *key, const char *fallback);
uint64_t json_value_get_u64(const JsonValue *object, const char *key, uint64_t fallback);
double json_value_get_double(const JsonValue *object, const char *key, double fallback);
bool json_value_get_bool(const JsonValue *object, const char *key, bool fallback);
