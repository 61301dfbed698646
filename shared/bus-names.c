/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>

#include "bus-names.h"

int run_id_parse(const char *s, uint32_t *ret)
{
	uint64_t v = 0;

	/* Not parse_u32(): it takes "0x3" and leading zeros, which name no run. */
	if (!s || s[0] < '1' || s[0] > '9')
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > UINT32_MAX)
			return -EINVAL;
	}
	*ret = (uint32_t)v;
	return 0;
}

int run_path_parse(const char *path, uint32_t *ret)
{
	static const char prefix[] = RUN_PATH_PREFIX "/";

	if (!path || strncmp(path, prefix, strlen(prefix)) != 0)
		return -EINVAL;
	return run_id_parse(path + strlen(prefix), ret);
}
