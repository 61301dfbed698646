/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The only copy of the names in docs/dbus-api.md: bus name, object paths,
 * interfaces and error names, for the daemon and iommuctl alike, so the two
 * cannot drift apart.
 */

#include <stdint.h>

#define BUS_NAME	    "org.iommutest1"
#define MANAGER_PATH	    "/org/iommutest1"
#define MANAGER_INTERFACE   "org.iommutest1.Manager"
#define RUN_INTERFACE	    "org.iommutest1.Run"
#define DEVICE_INTERFACE    "org.iommutest1.Device"
/* Run N is RUN_PATH_PREFIX "/N"; devices are sd_bus_path_encode()d below DEVICE_PATH_PREFIX. */
#define RUN_PATH_PREFIX	    "/org/iommutest1/run"
#define DEVICE_PATH_PREFIX  "/org/iommutest1/device"

#define BUS_ERROR_INVALID_SCENARIO    "org.iommutest1.Error.InvalidScenario"
#define BUS_ERROR_DEVICE_BUSY	      "org.iommutest1.Error.DeviceBusy"
#define BUS_ERROR_BACKEND_UNAVAILABLE "org.iommutest1.Error.BackendUnavailable"
#define BUS_ERROR_SETUP_FAILED	      "org.iommutest1.Error.SetupFailed"
#define BUS_ERROR_NO_SUCH_RUN	      "org.iommutest1.Error.NoSuchRun"
#define BUS_ERROR_NOT_RUNNING	      "org.iommutest1.Error.NotRunning"
#define BUS_ERROR_NO_SUCH_DEVICE      "org.iommutest1.Error.NoSuchDevice"

/*
 * A run number from a run's object path. Paths are canonical: RUN_PATH_PREFIX
 * "/" and a decimal number from 1 on, without sign, leading zeros or anything
 * after it; every other spelling (".../run/0x3", ".../run/03") is no run.
 * 0 or -EINVAL.
 */
int run_path_parse(const char *path, uint32_t *ret);

/* Run id as a run number argument ("3"): the same canonical decimal. 0 or -EINVAL. */
int run_id_parse(const char *s, uint32_t *ret);
