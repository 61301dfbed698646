/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * iommuctl: drives iommutestd over D-Bus. Option parsing, the verbs table and
 * dispatch live here; the verbs are in verb-*.c.
 */
#include <getopt.h>
#include <inttypes.h>
#include <systemd/sd-bus.h>

#include "cli-bus.h"
#include "cli-output.h"
#include "config.h"
#include "iommuctl.h"
#include "log.h"
#include "parse-util.h"

JsonMode arg_json = JSON_MODE_OFF;
bool arg_pager = true;
bool arg_legend = true;
bool arg_quiet;
bool arg_follow;
const char *arg_source;
uint32_t arg_max;
uint64_t arg_timeout_ns;
Override *arg_overrides;
size_t arg_n_overrides;
bool arg_openmetrics;
const char *arg_textfile;
const char *arg_output;
static bool arg_user;
static const char *arg_bus_address;

/* Options that only make sense for some verbs; the verbs table says which. */
enum {
	OPTION_SET = 1 << 0,
	OPTION_TIMEOUT = 1 << 1,
	OPTION_MAX = 1 << 2,
	OPTION_FOLLOW = 1 << 3,
	OPTION_SOURCE = 1 << 4,
	OPTION_OPENMETRICS = 1 << 5,
	OPTION_TEXTFILE = 1 << 6,
	OPTION_OUTPUT = 1 << 7,
};
static unsigned arg_options_given;

#define VERB_ANY     ((unsigned)-1)
#define VERB_DEFAULT (1 << 0) /* runs when no verb is given */
#define VERB_NO_BUS  (1 << 1) /* needs no connection */

typedef struct Verb {
	const char *name;
	unsigned min_args, max_args; /* counting the verb itself, as in argv */
	unsigned flags;
	unsigned options; /* OPTION_* it accepts */
	int (*fn)(int argc, char *argv[], void *userdata);
	const char *args; /* for --help */
	const char *help;
} Verb;

static int verb_help(int argc, char *argv[], void *userdata);

static const Verb verbs[] = {
	{"status", VERB_ANY, 1, VERB_DEFAULT, 0, verb_status, "",
	 "Show daemon version, backends, devices, recent runs"},
	{"backends", VERB_ANY, 1, 0, 0, verb_backends, "",
	 "List backends and whether they can run here"},
	{"devices", VERB_ANY, 1, 0, 0, verb_devices, "", "List devices and which run uses them"},
	{"caps", 2, 2, 0, 0, verb_caps, "DEVICE",
	 "Show a device's identity and IOMMU capabilities"},
	{"runs", VERB_ANY, 1, 0, 0, verb_runs, "", "List runs with their counters"},
	{"show", 2, 2, 0, 0, verb_show, "RUN",
	 "Show a run: counters, latency, faults, expectations"},
	{"faults", 2, 2, 0, OPTION_MAX | OPTION_FOLLOW | OPTION_SOURCE, verb_faults, "RUN",
	 "List a run's fault records"},
	{"run", 2, 2, 0, OPTION_SET | OPTION_TIMEOUT, verb_run, "FILE",
	 "Start a scenario, follow it, exit with its verdict"},
	{"start", 2, 2, 0, OPTION_SET, verb_start, "FILE",
	 "Start a scenario and print the run's object path"},
	{"stop", 2, 2, 0, 0, verb_stop, "RUN", "Stop a run"},
	{"report", 2, 2, 0, OPTION_OUTPUT, verb_report, "RUN",
	 "Write a run's report: one HTML file with plots"},
	{"metrics", VERB_ANY, 1, 0, OPTION_OPENMETRICS | OPTION_TEXTFILE, verb_metrics, "",
	 "Print the daemon's Prometheus metrics"},
	{"help", VERB_ANY, VERB_ANY, VERB_NO_BUS, 0, verb_help, "", "Show this help"},
};

static const struct {
	unsigned option;
	const char *name;
} option_names[] = {
	{OPTION_SET, "--set="},	     {OPTION_TIMEOUT, "--timeout="}, {OPTION_MAX, "--max="},
	{OPTION_FOLLOW, "--follow"}, {OPTION_SOURCE, "--source="},
	{OPTION_OPENMETRICS, "--openmetrics"}, {OPTION_TEXTFILE, "--textfile="},
	{OPTION_OUTPUT, "--output="},
};

static int help(void)
{
	printf("%s [OPTIONS...] COMMAND ...\n\n"
	       "%sDrive iommutestd, the IOMMU attachment replacement tester.%s\n\n"
	       "Commands:\n",
	       program_invocation_short_name, ansi(ANSI_HIGHLIGHT), ansi(ANSI_NORMAL));
	for (size_t i = 0; i < ELEMENTSOF(verbs); i++) {
		char name[32];

		snprintf(name, sizeof(name), "%s%s%s", verbs[i].name,
			 isempty(verbs[i].args) ? "" : " ", verbs[i].args);
		printf("  %-22s %s%s\n", name, verbs[i].help,
		       verbs[i].flags & VERB_DEFAULT ? " (default)" : "");
	}
	printf("\nOptions:\n"
	       "  -h --help              Show this help\n"
	       "     --version           Show package version\n"
	       "     --json=MODE         Output JSON: short (one line, the default for bare\n"
	       "                         --json), pretty, or off\n"
	       "     --no-pager          Do not pipe output into a pager\n"
	       "     --no-legend         Do not show column headers and footers\n"
	       "     --user              Talk to the daemon on the user bus\n"
	       "     --bus-address=ADDR  Talk to the daemon on the bus at ADDR\n"
	       "     --set=SECTION.KEY=VALUE\n"
	       "                         Override a scenario setting (run, start; repeatable)\n"
	       "  -q --quiet             Do not show the progress line or notices (run)\n"
	       "     --timeout=DURATION  Stop the run after DURATION and exit with 2 (run)\n"
	       "     --max=N             List at most N fault records (faults)\n"
	       "     --follow            Keep listing faults until the run ends (faults)\n"
	       "     --source=SOURCE     Only faults from model, dma-verify, kmsg, iommufd or\n"
	       "                         tracefs (faults)\n"
	       "     --openmetrics       OpenMetrics 1.0 instead of the Prometheus text format\n"
	       "                         (metrics)\n"
	       "     --textfile=DIR      Write DIR/iommutest.prom atomically, for node_exporter's\n"
	       "                         textfile collector (metrics)\n"
	       "  -o --output=FILE       Write the report to FILE instead of standard output\n"
	       "                         (report)\n"
	       "\nRUN is a run number or its object path, e.g. 3 or %s/3.\n"
	       "FILE is a scenario file, or - for standard input.\n"
	       "Exit status: 0 on success or verdict pass/none, 1 on verdict fail, 2 on error.\n"
	       "\nSee the iommuctl(1) man page for details.\n",
	       RUN_PATH_PREFIX);
	return 0;
}

static int verb_help(int argc, char *argv[], void *userdata)
{
	return help();
}

static int add_override(const char *arg)
{
	const char *eq = strchr(arg, '='), *dot;
	_cleanup_free_ char *key = NULL, *value = NULL;
	Override *o;

	dot = eq ? memchr(arg, '.', (size_t)(eq - arg)) : NULL;
	if (!eq || !dot || dot == arg || dot + 1 == eq ||
	    strcspn(arg, " \t\n") < (size_t)(eq - arg))
		return log_error_errno(
			SYNTHETIC_ERRNO(EINVAL),
			"Invalid --set=%s: expected SECTION.KEY=VALUE, e.g. Replace.Count=1000.",
			arg);
	key = strndup(arg, (size_t)(eq - arg));
	value = strdup(eq + 1);
	if (!key || !value)
		return log_oom();

	/* The last --set= for a key wins, as a later line would in the file. */
	for (size_t i = 0; i < arg_n_overrides; i++)
		if (streq(arg_overrides[i].key, key)) {
			free(arg_overrides[i].value);
			arg_overrides[i].value = TAKE_PTR(value);
			return 0;
		}

	o = reallocarray(arg_overrides, arg_n_overrides + 1, sizeof(Override));
	if (!o)
		return log_oom();
	arg_overrides = o;
	arg_overrides[arg_n_overrides++] = (Override){TAKE_PTR(key), TAKE_PTR(value)};
	return 0;
}

static void free_overrides(void)
{
	for (size_t i = 0; i < arg_n_overrides; i++) {
		free(arg_overrides[i].key);
		free(arg_overrides[i].value);
	}
	arg_overrides = mfree(arg_overrides);
	arg_n_overrides = 0;
}

static int usage_error(void)
{
	log_error("See '%s --help' for usage.", program_invocation_short_name);
	return -EINVAL;
}

/* Returns 1 to go on, 0 to exit successfully (--help, --version), or a negative errno. */
static int parse_argv(int argc, char *argv[])
{
	enum {
		ARG_VERSION = 0x100,
		ARG_JSON,
		ARG_NO_PAGER,
		ARG_NO_LEGEND,
		ARG_USER,
		ARG_BUS_ADDRESS,
		ARG_SET,
		ARG_TIMEOUT,
		ARG_MAX,
		ARG_FOLLOW,
		ARG_SOURCE,
		ARG_OPENMETRICS,
		ARG_TEXTFILE,
	};
	static const struct option options[] = {
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, ARG_VERSION},
		{"json", optional_argument, NULL, ARG_JSON},
		{"no-pager", no_argument, NULL, ARG_NO_PAGER},
		{"no-legend", no_argument, NULL, ARG_NO_LEGEND},
		{"user", no_argument, NULL, ARG_USER},
		{"bus-address", required_argument, NULL, ARG_BUS_ADDRESS},
		{"set", required_argument, NULL, ARG_SET},
		{"quiet", no_argument, NULL, 'q'},
		{"timeout", required_argument, NULL, ARG_TIMEOUT},
		{"max", required_argument, NULL, ARG_MAX},
		{"follow", no_argument, NULL, ARG_FOLLOW},
		{"source", required_argument, NULL, ARG_SOURCE},
		{"openmetrics", no_argument, NULL, ARG_OPENMETRICS},
		{"textfile", required_argument, NULL, ARG_TEXTFILE},
		{"output", required_argument, NULL, 'o'},
		{}};
	int c, r;

	/* Options may follow the verb, as with systemctl; "--" ends them. */
	while ((c = getopt_long(argc, argv, "hqo:", options, NULL)) >= 0) {
		switch (c) {
		case 'h':
			help();
			return 0;
		case ARG_VERSION:
			printf("iommuctl %s\n", PACKAGE_VERSION);
			return 0;
		case ARG_JSON:
			if (!optarg || streq(optarg, "short"))
				arg_json = JSON_MODE_SHORT;
			else if (streq(optarg, "pretty"))
				arg_json = JSON_MODE_PRETTY;
			else if (streq(optarg, "off"))
				arg_json = JSON_MODE_OFF;
			else if (streq(optarg, "help")) {
				puts("short\npretty\noff");
				return 0;
			} else {
				log_error(
					"Unknown --json= mode '%s': expected short, pretty or off.",
					optarg);
				return usage_error();
			}
			break;
		case ARG_NO_PAGER:
			arg_pager = false;
			break;
		case ARG_NO_LEGEND:
			arg_legend = false;
			break;
		case ARG_USER:
			arg_user = true;
			break;
		case ARG_BUS_ADDRESS:
			if (isempty(optarg)) {
				log_error(
					"--bus-address= needs an address, e.g. unix:path=/run/bus.");
				return usage_error();
			}
			arg_bus_address = optarg;
			break;
		case ARG_SET:
			r = add_override(optarg);
			if (r < 0)
				return r;
			arg_options_given |= OPTION_SET;
			break;
		case 'q':
			arg_quiet = true;
			break;
		case ARG_TIMEOUT:
			r = parse_duration_ns(optarg, &arg_timeout_ns);
			if (r < 0) {
				log_error(
					"Invalid --timeout=%s: expected a duration such as 90s or 5min.",
					optarg);
				return usage_error();
			}
			arg_options_given |= OPTION_TIMEOUT;
			break;
		case ARG_MAX:
			r = parse_u32(optarg, &arg_max);
			if (r < 0) {
				log_error(
					"Invalid --max=%s: expected a number of records, 0 to %" PRIu32
					".",
					optarg, UINT32_MAX);
				return usage_error();
			}
			arg_options_given |= OPTION_MAX;
			break;
		case ARG_SOURCE:
			if (!STR_IN_SET(optarg, "model", "dma-verify", "kmsg", "iommufd",
					"tracefs"))
				return log_error_errno(SYNTHETIC_ERRNO(EINVAL),
						       "Unknown fault source '%s'; one of model, "
						       "dma-verify, kmsg, iommufd, tracefs.",
						       optarg);
			arg_source = optarg;
			arg_options_given |= OPTION_SOURCE;
			break;
		case 'o':
			if (isempty(optarg)) {
				log_error("--output= needs a file name, or - for standard output.");
				return usage_error();
			}
			arg_output = optarg;
			arg_options_given |= OPTION_OUTPUT;
			break;
		case ARG_OPENMETRICS:
			arg_openmetrics = true;
			arg_options_given |= OPTION_OPENMETRICS;
			break;
		case ARG_TEXTFILE:
			if (isempty(optarg)) {
				log_error("--textfile= needs a directory, e.g. "
					  "/var/lib/prometheus/node-exporter.");
				return usage_error();
			}
			arg_textfile = optarg;
			arg_options_given |= OPTION_TEXTFILE;
			break;
		case ARG_FOLLOW:
			arg_follow = true;
			arg_options_given |= OPTION_FOLLOW;
			break;
		case '?':
			/* getopt_long() has said what was wrong. */
			return usage_error();
		default:
			return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "Unhandled option %c.", c);
		}
	}

	if (arg_user && arg_bus_address) {
		log_error("--user and --bus-address= cannot be combined.");
		return usage_error();
	}
	return 1;
}

static const Verb *find_verb(const char *name)
{
	for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
		if (name ? streq(verbs[i].name, name) : (verbs[i].flags & VERB_DEFAULT))
			return &verbs[i];
	return NULL;
}

static int dispatch_verb(int argc, char *argv[])
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	char *default_argv[] = {NULL, NULL};
	const Verb *verb;
	unsigned n;
	int r;

	verb = find_verb(argc > 0 ? argv[0] : NULL);
	if (!verb) {
		log_error("Unknown command '%s'.", argv[0]);
		return usage_error();
	}
	if (argc == 0) {
		default_argv[0] = (char *)verb->name;
		argv = default_argv;
		argc = 1;
	}

	n = (unsigned)argc;
	if (verb->min_args != VERB_ANY && n < verb->min_args) {
		log_error("Missing argument: usage is '%s %s %s'.", program_invocation_short_name,
			  verb->name, verb->args);
		return usage_error();
	}
	if (verb->max_args != VERB_ANY && n > verb->max_args) {
		log_error("Too many arguments for '%s': '%s' is not expected.", verb->name,
			  argv[verb->max_args]);
		return usage_error();
	}
	for (size_t i = 0; i < ELEMENTSOF(option_names); i++)
		if ((arg_options_given & option_names[i].option) &&
		    !(verb->options & option_names[i].option)) {
			log_error("%s is not supported by '%s'.", option_names[i].name, verb->name);
			return usage_error();
		}

	if (!(verb->flags & VERB_NO_BUS)) {
		r = bus_connect(arg_user, arg_bus_address, &bus);
		if (r < 0)
			return r;
	}
	return verb->fn(argc, argv, bus);
}

int main(int argc, char *argv[])
{
	int r;

	/* Messages are for the person at the terminal, even under systemd-run. */
	log_set_target(LOG_TARGET_CONSOLE);

	r = parse_argv(argc, argv);
	if (r > 0)
		r = dispatch_verb(argc - optind, argv + optind);

	pager_close();
	free_overrides();
	if (r < 0)
		return EXIT_ERROR;
	return r;
}
