/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Human and JSON output for iommuctl: aligned tables, a pager that is only
 * used on a terminal, colors that are only used on a terminal, and the
 * --json writer. Everything prints to stdout.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "json-parse.h"
#include "json.h"
#include "macro.h"

#define ANSI_RED       "\x1B[0;31m"
#define ANSI_GREEN     "\x1B[0;32m"
#define ANSI_YELLOW    "\x1B[0;33m"
#define ANSI_HIGHLIGHT "\x1B[0;1;39m"
#define ANSI_UNDERLINE "\x1B[0;4m"
#define ANSI_NORMAL    "\x1B[0m"

/* Decided once, before a pager replaces stdout: a TTY, TERM not dumb, $NO_COLOR unset. */
bool colors_enabled(void);
/* The escape sequence, or "" when colors are off. */
const char *ansi(const char *sequence);
/* Green for pass, red for fail/error/failed, nothing otherwise. */
const char *verdict_color(const char *verdict_or_state);

/* Pipes stdout into $SYSTEMD_PAGER/$PAGER/less, unless --no-pager, --json or not a TTY. */
void pager_open(void);
/* Flushes and waits for the pager to exit; safe to call when none was started. */
void pager_close(void);

typedef struct Table Table;

/* Column headers, NULL-terminated; more can be added before the first cell. */
Table *table_new(const char *header, ...);
int table_add_column(Table *t, const char *header, bool right);
Table *table_free(Table *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(Table *, table_free);
void table_align_right(Table *t, size_t column);
/*
 * Cells fill rows left to right; NULL or "" shows as "-". color may be NULL.
 * An allocation failure is remembered and reported by table_print(), so that
 * rows can be filled without checking every cell.
 */
void table_add(Table *t, const char *text);
void table_add_colored(Table *t, const char *color, const char *text);
void table_addf(Table *t, const char *format, ...) _printf_(2, 3);
/* A JSON number, exact when it is an integer; "-" when absent. */
void table_add_number(Table *t, const JsonValue *v);
size_t table_rows(const Table *t);
/* Headers are left out with --no-legend. Returns the first error from filling the table. */
int table_print(Table *t, FILE *f);

/*
 * "        Version: 0.1.0": a right-aligned label as in systemctl status; a NULL
 * label continues the previous field on a new line. color may be NULL.
 */
void print_field(const char *label, const char *color, const char *format, ...) _printf_(3, 4);

/* Prints JSON text per --json: compact on one line, or indented. */
void output_json_text(const char *text);
/* Finishes the writer and prints the result. */
int output_json_writer(JsonWriter *j);
/*
 * The end of a list verb: closes the {"what":[…]} object begun in j and
 * prints it with --json, or else prints the table (paged) with its legend.
 */
int output_list(JsonWriter *j, Table *t, const char *what);
/* Re-serializes a parsed value into a writer (for --json outputs built from several replies). */
void json_write_value(JsonWriter *j, const char *key, const JsonValue *v);

/* "Mon 2024-05-06 10:00:00 CEST", or "-" for 0. */
char *format_timestamp_usec(char *buf, size_t n, uint64_t usec);
/* "2024-05-06 10:00:00.123456" for fault records. */
char *format_timestamp_precise(char *buf, size_t n, uint64_t usec);
/* "4.20s", from µs. */
char *format_usec(char *buf, size_t n, uint64_t usec);
/* A JSON number as text: exact for integers, %g otherwise; "-" when not a number. */
char *format_json_number(char *buf, size_t n, const JsonValue *v);
/* A latency member (ns) of a "latency_ns" object, with units; "-" when absent. */
char *format_latency(char *buf, size_t n, const JsonValue *latency, const char *key);
/* "1.23M/s". */
char *format_rate(char *buf, size_t n, double per_second);

#define FORMAT_BUF 64
