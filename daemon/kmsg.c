/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "kmsg.h"
#include "shared/macro.h"

int kmsg_parse_record(char *buf, size_t n, KmsgRecord *ret)
{
	unsigned long long prio, seq, ts;
	char *semi, *nl;
	int consumed = 0;

	if (n == 0)
		return -EINVAL;
	buf[n] = 0; /* the caller's buffer has room for it (see kmsg.h) */
	/* "prio,seq,ts,flags[,…];" — later kernels may append fields before ';'. */
	semi = memchr(buf, ';', n);
	if (!semi)
		return -EINVAL;
	*semi = 0;
	if (sscanf(buf, "%llu,%llu,%llu,%n", &prio, &seq, &ts, &consumed) != 3 || consumed == 0)
		return -EINVAL;
	nl = strchr(semi + 1, '\n');
	if (nl)
		*nl = 0;
	*ret = (KmsgRecord){
		.prio = (int)(prio & 7),
		.seq = seq,
		.ts_usec = ts,
		.text = semi + 1,
	};
	return 0;
}

/* Copies the rest of the line as reason text, trimmed. */
static void copy_text(char *dst, size_t n, const char *src)
{
	size_t len;

	while (*src == ' ')
		src++;
	len = strlen(src);
	while (len > 0 && isspace((unsigned char)src[len - 1]))
		len--;
	if (len >= n)
		len = n - 1;
	memcpy(dst, src, len);
	dst[len] = 0;
}

static const char *skip_prefix(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(s, prefix, n) == 0 ? s + n : NULL;
}

/* " Request device [bb:dd.f] fault addr 0x… [fault reason 0x..] TEXT" (or "fault index" for
 * interrupts) */
static bool parse_vtd_tail(const char *p, bool intr, KmsgFault *f)
{
	unsigned bus, dev, fn, reason;
	unsigned long long addr;
	int end = 0, n;

	if (intr)
		n = sscanf(
			p,
			" Request device [%2x:%2x.%1u] fault index 0x%llx [fault reason 0x%2x]%n",
			&bus, &dev, &fn, &addr, &reason, &end);
	else
		n = sscanf(p,
			   " Request device [%2x:%2x.%1u] fault addr 0x%llx [fault reason 0x%2x]%n",
			   &bus, &dev, &fn, &addr, &reason, &end);
	if (n != 5 || end == 0)
		return false;
	if (bus > 0xff || dev > 0x1f || fn > 7)
		return false;
	f->bus = (uint8_t)bus;
	f->dev = (uint8_t)dev;
	f->fn = (uint8_t)fn;
	f->addr = addr;
	f->reason = reason;
	copy_text(f->reason_text, sizeof(f->reason_text), p + end);
	return true;
}

KmsgKind kmsg_parse_fault(const char *text, KmsgFault *ret)
{
	KmsgFault f = {};
	const char *p;

	p = skip_prefix(text, "DMAR: ");
	if (p) {
		const char *q;
		unsigned pasid, status;

		if ((q = skip_prefix(p, "[INTR-REMAP]"))) {
			if (parse_vtd_tail(q, true, &f)) {
				f.kind = KMSG_VTD_INTR_FAULT;
				*ret = f;
				return f.kind;
			}
			return KMSG_OTHER;
		}
		if ((q = skip_prefix(p, "[DMA Read ")))
			f.access = FAULT_ACCESS_READ;
		else if ((q = skip_prefix(p, "[DMA Write ")))
			f.access = FAULT_ACCESS_WRITE;
		if (q) {
			const char *r;
			int n = 0;

			if ((r = skip_prefix(q, "NO_PASID]")))
				f.has_pasid = false;
			else if (sscanf(q, "PASID 0x%x]%n", &pasid, &n) == 1 && n > 0) {
				f.has_pasid = true;
				f.pasid = pasid;
				r = q + n;
			} else
				return KMSG_OTHER;
			if (!parse_vtd_tail(r, false, &f))
				return KMSG_OTHER;
			f.kind = KMSG_VTD_DMA_FAULT;
			*ret = f;
			return f.kind;
		}
		if (sscanf(p, "DRHD: handling fault status reg %x", &status) == 1) {
			f.kind = KMSG_VTD_FAULT_STATUS;
			f.fault_status = status;
			*ret = f;
			return f.kind;
		}
		return KMSG_OTHER;
	}

	/* lib/ratelimit.c: "%s: %d callbacks suppressed" */
	p = strstr(text, ": ");
	if (p && (size_t)(p - text) < sizeof(f.func)) {
		unsigned n;
		int end = 0;

		if (sscanf(p, ": %u callbacks suppressed%n", &n, &end) == 1 && end > 0 && !p[end]) {
			memcpy(f.func, text, (size_t)(p - text));
			f.func[p - text] = 0;
			f.suppressed = n;
			f.kind = KMSG_RATELIMIT;
			*ret = f;
			return f.kind;
		}
	}
	return KMSG_OTHER;
}

int pci_bdf_parse(const char *s, uint16_t *segment, uint8_t *bus, uint8_t *dev, uint8_t *fn)
{
	unsigned seg = 0, b, d, f;
	int end = 0;

	if (sscanf(s, "%4x:%2x:%2x.%1u%n", &seg, &b, &d, &f, &end) == 4 && !s[end])
		;
	else if (end = 0, seg = 0, sscanf(s, "%2x:%2x.%1u%n", &b, &d, &f, &end) == 3 && !s[end])
		;
	else
		return -EINVAL;
	if (b > 0xff || d > 0x1f || f > 7)
		return -EINVAL;
	if (segment)
		*segment = (uint16_t)seg;
	*bus = (uint8_t)b;
	*dev = (uint8_t)d;
	*fn = (uint8_t)f;
	return 0;
}
