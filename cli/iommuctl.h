/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* State shared by iommuctl's verbs: parsed options and the verb entry points. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json-parse.h"

/* Exit statuses, documented in iommuctl(1). */
#define EXIT_VERDICT_PASS 0
#define EXIT_VERDICT_FAIL 1
#define EXIT_ERROR	  2

typedef enum JsonMode {
	JSON_MODE_OFF,
	JSON_MODE_SHORT,
	JSON_MODE_PRETTY,
} JsonMode;

/* --set=Section.Key=VALUE, sent as a StartScenario() override. */
typedef struct Override {
	char *key;
	char *value;
} Override;

extern JsonMode arg_json;
extern bool arg_pager;
extern bool arg_legend;
extern bool arg_quiet;
extern bool arg_follow;
extern const char *arg_source; /* faults --source= */
extern uint32_t arg_max;
extern bool arg_openmetrics;   /* metrics --openmetrics */
extern const char *arg_textfile; /* metrics --textfile=DIR */
extern const char *arg_output;	 /* report -o FILE */
extern uint64_t arg_timeout_ns;
extern Override *arg_overrides;
extern size_t arg_n_overrides;

/*
 * Verbs take the connected sd_bus as userdata and return an exit status
 * (EXIT_*) or a negative errno, which main() turns into EXIT_ERROR.
 */
int verb_status(int argc, char *argv[], void *userdata);
int verb_backends(int argc, char *argv[], void *userdata);
int verb_devices(int argc, char *argv[], void *userdata);
int verb_runs(int argc, char *argv[], void *userdata);
int verb_show(int argc, char *argv[], void *userdata);
int verb_faults(int argc, char *argv[], void *userdata);
int verb_start(int argc, char *argv[], void *userdata);
int verb_run(int argc, char *argv[], void *userdata);
int verb_stop(int argc, char *argv[], void *userdata);
int verb_caps(int argc, char *argv[], void *userdata);
int verb_metrics(int argc, char *argv[], void *userdata);
int verb_report(int argc, char *argv[], void *userdata);

/* The human view of a Run.Describe() object, shared by show and run. */
int show_run(const JsonValue *d);
