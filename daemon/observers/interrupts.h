/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * /proc/interrupts as a cross-check for fault counts: every VT-d primary
 * fault raises the DRHD's fault-event interrupt ("DMAR-MSI … dmarN"), whether
 * or not the kernel's rate limiter lets the fault be printed. The count is
 * sampled when a run starts and ends.
 */

#include <stdint.h>
#include <stdio.h>

/* Sums, over all CPUs, the interrupts of the DMAR fault-event lines in f. -ENOENT if there are
 * none. */
int interrupts_parse_dmar(FILE *f, uint64_t *ret_count, unsigned *ret_lines);

/* The same for PROC/interrupts. */
int interrupts_read_dmar(const char *proc, uint64_t *ret_count);
