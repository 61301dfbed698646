/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A small streaming JSON writer. Describe() and every --json output go through
 * it so that one shape is produced whatever the counts. Errors (OOM) are
 * sticky and reported once by json_finish().
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 32

typedef struct JsonWriter {
	char *buf;
	size_t len, cap;
	unsigned depth;
	bool need_comma[JSON_MAX_DEPTH];
	int error;
} JsonWriter;

void json_init(JsonWriter *j);
void json_done(JsonWriter *j);

/* "key" is NULL for array members and for the top-level value. */
void json_object_begin(JsonWriter *j, const char *key);
void json_object_end(JsonWriter *j);
void json_array_begin(JsonWriter *j, const char *key);
void json_array_end(JsonWriter *j);
void json_string(JsonWriter *j, const char *key, const char *value); /* NULL → null */
void json_u64(JsonWriter *j, const char *key, uint64_t v);
void json_i64(JsonWriter *j, const char *key, int64_t v);
void json_double(JsonWriter *j, const char *key, double v); /* NaN/inf → null */
void json_bool(JsonWriter *j, const char *key, bool v);
void json_null(JsonWriter *j, const char *key);
/* Inserts already-serialized JSON text as a value. */
void json_raw(JsonWriter *j, const char *key, const char *json);

/* Returns the text (caller frees) or NULL with *ret_error set (-ENOMEM, -EINVAL). */
char *json_finish(JsonWriter *j, int *ret_error);

/* Re-indents compact JSON text for humans (--json=pretty). */
void json_pretty_print(FILE *f, const char *text);
