/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "manager.h"
#include "log.h"

#define DEFAULT_CONFIG SYSCONFDIR "/iommutest/iommutestd.conf"

static void help(void)
{
	printf("%s [OPTIONS…]\n\n"
	       "IOMMU attachment replacement test daemon (D-Bus service %s).\n\n"
	       "  -h --help              Show this help\n"
	       "     --version           Show package version\n"
	       "     --bus-address=ADDR  Connect to the bus at ADDR instead of the system bus\n"
	       "     --user              Connect to the user bus instead of the system bus\n"
	       "     --config=PATH       Configuration file (default: %s)\n"
	       "     --admin-group=NAME  Group allowed to start and stop runs (overrides AdminGroup=)\n"
	       "     --log-level=LEVEL   debug, info, notice, warning, err (default: info)\n"
	       "     --log-target=T      console, journal or auto (default: auto)\n"
	       "     --dev-iommu=PATH    iommufd device node (default: /dev/iommu)\n"
	       "     --sysfs=PATH        sysfs root (default: /sys)\n"
	       "     --kmsg=PATH         kernel log device (default: /dev/kmsg)\n"
	       "     --tracefs=PATH      tracefs root (default: /sys/kernel/tracing)\n"
	       "     --dev-vfio=PATH     VFIO device nodes (default: /dev/vfio)\n"
	       "     --proc=PATH         procfs root (default: /proc)\n",
	       program_invocation_short_name, BUS_NAME, DEFAULT_CONFIG);
}

enum {
	ARG_VERSION = 0x100,
	ARG_BUS_ADDRESS,
	ARG_USER,
	ARG_CONFIG,
	ARG_ADMIN_GROUP,
	ARG_LOG_LEVEL,
	ARG_LOG_TARGET,
	ARG_DEV_IOMMU,
	ARG_SYSFS,
	ARG_KMSG,
	ARG_TRACEFS,
	ARG_DEV_VFIO,
	ARG_PROC,
};

static int parse_argv(Manager *d, int argc, char *argv[], char **admin_group)
{
	static const struct option options[] = {
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, ARG_VERSION},
		{"bus-address", required_argument, NULL, ARG_BUS_ADDRESS},
		{"user", no_argument, NULL, ARG_USER},
		{"config", required_argument, NULL, ARG_CONFIG},
		{"admin-group", required_argument, NULL, ARG_ADMIN_GROUP},
		{"log-level", required_argument, NULL, ARG_LOG_LEVEL},
		{"log-target", required_argument, NULL, ARG_LOG_TARGET},
		{"dev-iommu", required_argument, NULL, ARG_DEV_IOMMU},
		{"sysfs", required_argument, NULL, ARG_SYSFS},
		{"kmsg", required_argument, NULL, ARG_KMSG},
		{"tracefs", required_argument, NULL, ARG_TRACEFS},
		{"dev-vfio", required_argument, NULL, ARG_DEV_VFIO},
		{"proc", required_argument, NULL, ARG_PROC},
		{}};
	int c, k;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
		switch (c) {
		case 'h':
			help();
			return 0;
		case ARG_VERSION:
			printf("iommutestd %s\n", PACKAGE_VERSION);
			return 0;
		case ARG_BUS_ADDRESS:
			free(d->bus_address);
			d->bus_address = strdup(optarg);
			if (!d->bus_address)
				return log_oom();
			break;
		case ARG_USER:
			d->user_bus = true;
			break;
		case ARG_CONFIG:
			free(d->config_path);
			d->config_path = strdup(optarg);
			if (!d->config_path)
				return log_oom();
			break;
		case ARG_ADMIN_GROUP:
			*admin_group = optarg;
			break;
		case ARG_LOG_LEVEL:
			k = log_parse_level(optarg);
			if (k < 0)
				return log_error_errno(k, "Unknown log level '%s'.", optarg);
			log_set_max_level(k);
			break;
		case ARG_LOG_TARGET:
			if (streq(optarg, "console"))
				log_set_target(LOG_TARGET_CONSOLE);
			else if (streq(optarg, "journal"))
				log_set_target(LOG_TARGET_JOURNAL);
			else if (streq(optarg, "auto"))
				log_set_target(LOG_TARGET_AUTO);
			else
				return log_error_errno(SYNTHETIC_ERRNO(EINVAL),
						       "Unknown log target '%s'.", optarg);
			break;
		case ARG_DEV_IOMMU:
			d->env.dev_iommu = optarg;
			break;
		case ARG_SYSFS:
			d->env.sysfs = optarg;
			break;
		case ARG_KMSG:
			d->env.dev_kmsg = optarg;
			break;
		case ARG_TRACEFS:
			d->env.tracefs = optarg;
			break;
		case ARG_DEV_VFIO:
			d->env.dev_vfio = optarg;
			break;
		case ARG_PROC:
			d->env.proc = optarg;
			break;
		case '?':
			return -EINVAL;
		default:
			return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "Unhandled option.");
		}
	if (optind < argc)
		return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "%s takes no arguments.",
				       program_invocation_short_name);
	if (d->bus_address && d->user_bus)
		return log_error_errno(SYNTHETIC_ERRNO(EINVAL),
				       "--bus-address= and --user are mutually exclusive.");
	return 1;
}

int main(int argc, char *argv[])
{
	_cleanup_(manager_freep) Manager *d = NULL;
	char *admin_group = NULL;
	int k;

	log_open();
	k = manager_new(&d);
	if (k < 0)
		return log_oom(), EXIT_FAILURE;
	k = parse_argv(d, argc, argv, &admin_group);
	if (k <= 0)
		return k < 0 ? EXIT_FAILURE : EXIT_SUCCESS;

	k = manager_config_load(&d->config, d->config_path ?: DEFAULT_CONFIG);
	if (k < 0)
		return EXIT_FAILURE;
	if (admin_group) {
		free(d->config.admin_group);
		d->config.admin_group = strdup(admin_group);
		if (!d->config.admin_group)
			return log_oom(), EXIT_FAILURE;
	}

	k = manager_start(d);
	if (k < 0)
		return EXIT_FAILURE;
	k = manager_run(d);
	return k < 0 ? EXIT_FAILURE : k;
}
