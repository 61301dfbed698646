/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The scenario parser: every key's good and bad values, every shape of error
 * message with its line number, overrides, the shipped examples, and a
 * bounded fuzz loop that feeds random and mutated files.
 */

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/scenario.h"
#include "macro.h"
#include "check-run.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(Scenario *, scenario_free);

/* Line 1-2 of most test files. */
#define MODEL "[Scenario]\nBackend=model\n"
#define MOCK  "[Scenario]\nBackend=mock\n"
/* Lines 1-3. */
#define VFIO "[Scenario]\nBackend=vfio\nDevice=0000:00:03.0\n"

static Scenario *parse_ok(const char *text, const char *source, char *const *overrides)
{
	_cleanup_free_ char *error = NULL;
	Scenario *s = NULL;
	int r;

	r = scenario_parse(text, source, overrides, &s, &error);
	ck_assert_msg(r == 0, "parse failed (%d): %s\n--- text:\n%s", r, strempty(error), text);
	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_null(error);
	return s;
}

static void parse_fail(const char *text, char *const *overrides, const char *expected)
{
	_cleanup_free_ char *error = NULL;
	Scenario *s = NULL;
	int r;

	r = scenario_parse(text, "x.conf", overrides, &s, &error);
	ck_assert_msg(r == -EINVAL, "expected -EINVAL, got %d\n--- text:\n%s", r, text);
	ck_assert_ptr_null(s);
	ck_assert_ptr_nonnull(error);
	ck_assert_str_eq(error, expected);
}

/* ---- error messages: exact text, line and key ---- */

static const struct bad_case {
	const char *text;
	const char *error;
	const char *overrides[3];
} bad_cases[] = {
	/* Lines that are not assignments, and where they are. */
	{"Backend=model\n",
	 "x.conf:1: Backend=model: assignment outside of any section (Backend= belongs in [Scenario])"},
	{"# hi\nFoo=1\n", "x.conf:2: Foo=1: assignment outside of any section"},
	{"# hi\nCount=1\n",
	 "x.conf:2: Count=1: assignment outside of any section (Count= belongs in [Domains] or [Replace])"},
	{MODEL "garbage here\n",
	 "x.conf:3: \"garbage here\": not a Key=value assignment or a [Section] header"},
	{MODEL "=5\n", "x.conf:3: \"=5\": no key before the '='"},
	{"[Scenario\nBackend=model\n", "x.conf:1: \"[Scenario\": not a [Section] header"},
	{MODEL "[Replace] # comment\n",
	 "x.conf:3: \"[Replace] # comment\": not a [Section] header"},
	{MODEL "\n[Replce]\nCount=5\n",
	 "x.conf:4: [Replce]: unknown section (did you mean Replace?)"},
	{MODEL "[Foo]\n", "x.conf:3: [Foo]: unknown section"},
	{MODEL "[]\n", "x.conf:3: []: unknown section"},
	{MODEL "[replace]\n", "x.conf:3: [replace]: unknown section (did you mean Replace?)"},
	{MODEL "[Replace]\n\n# c\n\nCout=5\n",
	 "x.conf:7: [Replace] Cout=5: unknown key (did you mean Count?)"},
	{MODEL "[Replace]\ncount=5\n",
	 "x.conf:4: [Replace] count=5: unknown key (did you mean Count?)"},
	{MODEL "[Replace]\nFrobnicate=1\n", "x.conf:4: [Replace] Frobnicate=1: unknown key"},
	{MODEL "[Replace]\nEngine=edu\n",
	 "x.conf:4: [Replace] Engine=edu: unknown key (Engine= belongs in [Traffic])"},
	{MODEL "[Traffic]\nCount=5\n",
	 "x.conf:4: [Traffic] Count=5: unknown key (Count= belongs in [Domains] or [Replace])"},
	{MODEL "[Expect]\nFaults>=1\n",
	 "x.conf:4: [Expect] Faults>=1: the comparison goes after the '=': Faults=>=1"},
	{MODEL "[Expect]\nFaults != 0\n",
	 "x.conf:4: [Expect] Faults !=0: the comparison goes after the '=': Faults=!=0"},
	{MODEL "[Expect]\nFault=0\n",
	 "x.conf:4: [Expect] Fault=0: unknown key (did you mean Faults?)"},

	/* [Scenario] */
	{"[Scenario]\nName=x\n", "x.conf: [Scenario] Backend= is required"},
	{"[Scenario]\nBackend=model\nBackend=\n", "x.conf: [Scenario] Backend= is required"},
	{"", "x.conf: [Scenario] Backend= is required"},
	{"[Scenario]\nBackend=modle\n",
	 "x.conf:2: [Scenario] Backend=modle: unknown backend (did you mean model?)"},
	{"[Scenario]\nBackend=vifo\n",
	 "x.conf:2: [Scenario] Backend=vifo: unknown backend (did you mean vfio?)"},
	{"[Scenario]\nBackend=kvm\n",
	 "x.conf:2: [Scenario] Backend=kvm: unknown backend (expected model, vfio or mock)"},
	{"[Scenario]\nBackend=vfio\n", "x.conf: [Scenario] Device= is required for Backend=vfio"},
	{"[Scenario]\nBackend=vfio\nDevice=00:3.0\n",
	 "x.conf:3: [Scenario] Device=00:3.0: not a PCI address like 0000:00:03.0 or 00:03.0"},
	{"[Scenario]\nBackend=vfio\nDevice=eth0\n",
	 "x.conf:3: [Scenario] Device=eth0: not a PCI address like 0000:00:03.0 or 00:03.0"},
	{"[Scenario]\nBackend=vfio\nDevice=0000:00:03.0x\n",
	 "x.conf:3: [Scenario] Device=0000:00:03.0x: not a PCI address like 0000:00:03.0 or 00:03.0"},
	{"[Scenario]\nBackend=vfio\nDevice=0000:00:20.0\n",
	 "x.conf:3: [Scenario] Device=0000:00:20.0: device number 0x20 out of range (00..1f)"},
	{"[Scenario]\nBackend=vfio\nDevice=00:03.8\n",
	 "x.conf:3: [Scenario] Device=00:03.8: function 8 out of range (0..7)"},
	{"[Scenario]\nDevice=model 0\nBackend=model\n",
	 "x.conf:2: [Scenario] Device=model 0: not a device name (letters, digits, '.', '_', ':' and '-')"},
	{"[Scenario]\nBackend=vfio\nDevice=0000-00:03.0\n",
	 "x.conf:3: [Scenario] Device=0000-00:03.0: not a PCI address like 0000:00:03.0 or 00:03.0"},
	{"[Scenario]\nBackend=vfio\nDevice=é00:00:03.0\n",
	 "x.conf:3: [Scenario] Device=é00:00:03.0: not a PCI address like 0000:00:03.0 or 00:03.0"},
	{MODEL "Device="
	       "0123456789012345678901234567890123456789012345678901234567890123"
	       "4\n",
	 "x.conf:3: [Scenario] Device=01234567890123456789012345678901234567890123456789012345678901234: too long (at most 64 characters)"},
	{MODEL "Bind=yes\n",
	 "x.conf:3: [Scenario] Bind=yes: only applies to Backend=vfio (this scenario is Backend=model)"},
	{VFIO "Bind=maybe\n", "x.conf:4: [Scenario] Bind=maybe: not a boolean (yes or no)"},

	/* [Attach] */
	{MODEL "[Attach]\nPoints=RID 0\n",
	 "x.conf:4: [Attach] Points=RID 0: PASID 0 is not a PASID; write RID for the attachment without a PASID"},
	{MODEL "[Attach]\nPoints=0-3\n",
	 "x.conf:4: [Attach] Points=0-3: PASID 0 is not a PASID; write RID for the attachment without a PASID"},
	{MODEL "[Attach]\nPoints=1048576\n",
	 "x.conf:4: [Attach] Points=1048576: PASID 1048576 out of range (PASIDs are 1..1048575)"},
	{MODEL "[Attach]\nPoints=0x100000\n",
	 "x.conf:4: [Attach] Points=0x100000: PASID 0x100000 out of range (PASIDs are 1..1048575)"},
	{MODEL "[Attach]\nPoints=1-1048576\n",
	 "x.conf:4: [Attach] Points=1-1048576: PASID 1048576 out of range (PASIDs are 1..1048575)"},
	{MODEL "[Attach]\nPoints=99999999999999999999999\n",
	 "x.conf:4: [Attach] Points=99999999999999999999999: PASID 99999999999999999999999 out of range (PASIDs are 1..1048575)"},
	{MODEL "[Attach]\nPoints=1-5 3\n", "x.conf:4: [Attach] Points=1-5 3: PASID 3 listed twice"},
	{MODEL "[Attach]\nPoints=RID 1-10 5-20\n",
	 "x.conf:4: [Attach] Points=RID 1-10 5-20: PASID 5 listed twice"},
	{MODEL "[Attach]\nPoints=16 0x10\n",
	 "x.conf:4: [Attach] Points=16 0x10: PASID 16 listed twice"},
	{MODEL "[Attach]\nPoints=RID 1 RID\n",
	 "x.conf:4: [Attach] Points=RID 1 RID: RID listed twice"},
	{MODEL "[Attach]\nPoints=10-1\n",
	 "x.conf:4: [Attach] Points=10-1: range 10-1 is backwards (write 1-10)"},
	{MODEL "[Attach]\nPoints=abc\n",
	 "x.conf:4: [Attach] Points=abc: \"abc\" is not RID, a PASID or a range of PASIDs like 1-63"},
	{MODEL "[Attach]\nPoints=rid\n",
	 "x.conf:4: [Attach] Points=rid: \"rid\" is not RID, a PASID or a range of PASIDs like 1-63"},
	{MODEL "[Attach]\nPoints=1- 5\n",
	 "x.conf:4: [Attach] Points=1- 5: \"1-\" is not RID, a PASID or a range of PASIDs like 1-63"},
	{MODEL "[Attach]\nPoints=-3\n",
	 "x.conf:4: [Attach] Points=-3: \"-3\" is not RID, a PASID or a range of PASIDs like 1-63"},
	{MODEL "[Attach]\nPoints=1-2-3\n",
	 "x.conf:4: [Attach] Points=1-2-3: \"1-2-3\" is not RID, a PASID or a range of PASIDs like 1-63"},
	{MODEL "[Attach]\nPoints=1,2\n",
	 "x.conf:4: [Attach] Points=1,2: \"1,2\" is not RID, a PASID or a range of PASIDs like 1-63"},
	{MODEL "[Attach]\nPoints=RID 1-4096\n",
	 "x.conf:4: [Attach] Points=RID 1-4096: too many attachment points (at most 4096)"},
	{MODEL "[Attach]\nPoints=1-1048575\n",
	 "x.conf:4: [Attach] Points=1-1048575: too many attachment points (at most 4096)"},
	{MODEL "[Attach]\nWorkers=0\n", "x.conf:4: [Attach] Workers=0: out of range (1..256)"},
	{MODEL "[Attach]\nWorkers=257\n", "x.conf:4: [Attach] Workers=257: out of range (1..256)"},
	{MODEL "[Attach]\nWorkers=four\n", "x.conf:4: [Attach] Workers=four: not a number"},
	{MODEL "[Attach]\nWorkers=2\n",
	 "x.conf:4: [Attach] Workers=2: more workers than attachment points (1); each point is driven by one worker"},
	{MODEL "[Attach]\nWorkers=4\nPoints=1-3\n",
	 "x.conf:4: [Attach] Workers=4: more workers than attachment points (3); each point is driven by one worker"},

	/* [Domains] */
	{MODEL "[Domains]\nCount=1\n",
	 "x.conf:4: [Domains] Count=1: a replacement needs at least 2 domains"},
	{MODEL "[Domains]\nCount=0\n",
	 "x.conf:4: [Domains] Count=0: a replacement needs at least 2 domains"},
	{MODEL "[Domains]\nCount=4097\n", "x.conf:4: [Domains] Count=4097: out of range (2..4096)"},
	{MODEL "[Domains]\nCount=two\n", "x.conf:4: [Domains] Count=two: not a number"},
	{MODEL "[Domains]\nLayout=same\n",
	 "x.conf:4: [Domains] Layout=same: unknown layout (expected identical or missing-range)"},
	{MODEL "[Domains]\nLayout=identicle\n",
	 "x.conf:4: [Domains] Layout=identicle: unknown layout (did you mean identical?)"},
	{MODEL "[Domains]\nIOVA=0x1001\n",
	 "x.conf:4: [Domains] IOVA=0x1001: not page aligned (a multiple of 4096)"},
	{MODEL "[Domains]\nIOVA=here\n",
	 "x.conf:4: [Domains] IOVA=here: not an address (e.g. 0x100000 or 1M)"},
	{MODEL "[Domains]\nIOVA=0x1ffffffffffffffff\n",
	 "x.conf:4: [Domains] IOVA=0x1ffffffffffffffff: out of range"},
	{MODEL "[Domains]\nIOVA=0xfffffffffffff000\n",
	 "x.conf:4: [Domains] IOVA=0xfffffffffffff000: IOVA + MapSize runs past the end of the address space"},
	{MODEL "[Domains]\nIOVA=0xffffffffff000000\nMapSize=1G\n",
	 "x.conf:5: [Domains] MapSize=1G: IOVA + MapSize runs past the end of the address space"},
	{MODEL "[Domains]\nMapSize=1000\n",
	 "x.conf:4: [Domains] MapSize=1000: not a whole number of 4096-byte pages"},
	{MODEL "[Domains]\nMapSize=0\n",
	 "x.conf:4: [Domains] MapSize=0: not a whole number of 4096-byte pages"},
	{MODEL "[Domains]\nMapSize=2G\n", "x.conf:4: [Domains] MapSize=2G: too large (at most 1G)"},
	{MODEL "[Domains]\nMapSize=99999999999999999999\n",
	 "x.conf:4: [Domains] MapSize=99999999999999999999: out of range"},
	{MODEL "[Domains]\nMapSize=lots\n",
	 "x.conf:4: [Domains] MapSize=lots: not a size (e.g. 65536, 64K or 2M)"},

	/* [Replace] */
	{MODEL "[Replace]\nPattern=pingpong\n",
	 "x.conf:4: [Replace] Pattern=pingpong: unknown pattern (did you mean ping-pong?)"},
	{MODEL "[Replace]\nPattern=zigzag\n",
	 "x.conf:4: [Replace] Pattern=zigzag: unknown pattern (expected ping-pong, round-robin or random)"},
	{MODEL "[Replace]\nRate=fast\n", "x.conf:4: [Replace] Rate=fast: not a number or \"max\""},
	{MODEL "[Replace]\nRate=100Hz\n",
	 "x.conf:4: [Replace] Rate=100Hz: not a number or \"max\""},
	{MODEL "[Replace]\nRate=-5\n", "x.conf:4: [Replace] Rate=-5: not a number or \"max\""},
	{MODEL "[Replace]\nRate=0\n",
	 "x.conf:4: [Replace] Rate=0: must be more than 0 Hz (write \"max\" for no limit)"},
	{MODEL "[Replace]\nRate=1e999\n", "x.conf:4: [Replace] Rate=1e999: out of range"},
	{MODEL "[Replace]\nCount=abc\n", "x.conf:4: [Replace] Count=abc: not a number"},
	{MODEL "[Replace]\nCount=1.5\n", "x.conf:4: [Replace] Count=1.5: not a number"},
	{MODEL "[Replace]\nCount=0\n",
	 "x.conf:4: [Replace] Count=0: must be at least 1 (an empty Count= means no limit)"},
	{MODEL "[Replace]\nCount=99999999999999999999\n",
	 "x.conf:4: [Replace] Count=99999999999999999999: out of range"},
	{MODEL "[Replace]\nDuration=forever\n",
	 "x.conf:4: [Replace] Duration=forever: not a duration (e.g. 30s, 5min, 250ms)"},
	{MODEL "[Replace]\nDuration=0\n",
	 "x.conf:4: [Replace] Duration=0: must be longer than 0 (an empty Duration= means no limit)"},
	{MODEL "[Replace]\nDuration=10000000000\n",
	 "x.conf:4: [Replace] Duration=10000000000: out of range"},
	{MODEL "[Replace]\nSeed=lucky\n", "x.conf:4: [Replace] Seed=lucky: not a number"},
	{MODEL "[Replace]\nSeed=0x1ffffffffffffffff\n",
	 "x.conf:4: [Replace] Seed=0x1ffffffffffffffff: out of range"},
	{MODEL "[Replace]\nMaxErrors=some\n", "x.conf:4: [Replace] MaxErrors=some: not a number"},
	{MODEL "[Replace]\nMaxErrors=99999999999999999999\n",
	 "x.conf:4: [Replace] MaxErrors=99999999999999999999: out of range"},
	{MODEL "[Replace]\nSettleTime=5000000000\n",
	 "x.conf:4: [Replace] SettleTime=5000000000: out of range"},
	{MODEL "[Replace]\nDuration=36600d\n", "x.conf:4: [Replace] Duration=36600d: out of range"},
	{MODEL "[Replace]\nSettleTime=a bit\n",
	 "x.conf:4: [Replace] SettleTime=a bit: not a duration (e.g. 30s, 5min, 250ms)"},

	/* [Traffic] */
	{MODEL "[Traffic]\nEnable=maybe\n",
	 "x.conf:4: [Traffic] Enable=maybe: not a boolean (yes or no)"},
	{MODEL "[Traffic]\nVerify=perhaps\n",
	 "x.conf:4: [Traffic] Verify=perhaps: not a boolean (yes or no)"},
	/* Engine=nvme's keys: theirs only, with line and key in each error. */
	{VFIO "[Traffic]\nEngine=edu\nNvmeMode=read-verify\n",
	 "x.conf:6: [Traffic] NvmeMode=read-verify: only applies to [Traffic] Engine=nvme (this scenario's is edu)"},
	{MODEL "[Traffic]\nQueueDepth=8\n",
	 "x.conf:4: [Traffic] QueueDepth=8: only applies to [Traffic] Engine=nvme (this scenario's is model)"},
	{VFIO "[Traffic]\nEngine=nvme\nNvmeMode=read-only\n",
	 "x.conf:6: [Traffic] NvmeMode=read-only: unknown mode (expected read-verify or write-verify)"},
	{VFIO "[Traffic]\nEngine=nvme\nNvmeMode=write-verify\n",
	 "x.conf:6: [Traffic] NvmeMode=write-verify: write-verify overwrites the namespace: it needs NvmeLBA=START+COUNT naming the blocks it may destroy (not set) and NvmeAllowWrite=yes (not set)"},
	{VFIO "[Traffic]\nEngine=nvme\nNvmeMode=write-verify\nNvmeLBA=0+64\n",
	 "x.conf:6: [Traffic] NvmeMode=write-verify: write-verify overwrites the namespace: it needs NvmeLBA=START+COUNT naming the blocks it may destroy and NvmeAllowWrite=yes (not set)"},
	{VFIO "[Traffic]\nEngine=nvme\nNvmeLBA=100\n",
	 "x.conf:6: [Traffic] NvmeLBA=100: not START+COUNT (in logical blocks, e.g. 0+2048)"},
	{VFIO "[Traffic]\nEngine=nvme\nNvmeLBA=1+0\n",
	 "x.conf:6: [Traffic] NvmeLBA=1+0: COUNT must be at least 1 block"},
	{VFIO "[Traffic]\nEngine=nvme\nNamespace=0\n",
	 "x.conf:6: [Traffic] Namespace=0: out of range (1..4294967294)"},
	{VFIO "[Traffic]\nEngine=nvme\nNvmeCompletions=irq\n",
	 "x.conf:6: [Traffic] NvmeCompletions=irq: unknown completion method (expected poll or msix)"},
	{MODEL "[Traffic]\nNvmeCompletions=msix\n",
	 "x.conf:4: [Traffic] NvmeCompletions=msix: only applies to [Traffic] Engine=nvme (this scenario's is model)"},
	{VFIO "[Traffic]\nEngine=nvme\nQueues=17\n",
	 "x.conf:6: [Traffic] Queues=17: at most 16 (this driver's limit; the controller's own, Set Features Number of Queues, is checked when it is enabled)"},
	{VFIO "[Traffic]\nEngine=nvme\nQueues=0\n",
	 "x.conf:6: [Traffic] Queues=0: out of range (1..65535)"},
	{MODEL "[Traffic]\nQueues=2\n",
	 "x.conf:4: [Traffic] Queues=2: only applies to [Traffic] Engine=nvme (this scenario's is model)"},
	{VFIO "[Traffic]\nEngine=nvme\nQueueDepth=4096\n",
	 "x.conf:6: [Traffic] QueueDepth=4096: at most 1024 (the controller's own limit, CAP.MQES, is checked when it is enabled)"},
	{VFIO "[Traffic]\nEngine=nvme\nSize=1000\n",
	 "x.conf:6: [Traffic] Size=1000: Engine=nvme moves whole logical blocks: a multiple of 512 bytes (the namespace's LBA size is checked when it is identified)"},
	{VFIO "[Domains]\nMapSize=4K\n[Traffic]\nEngine=nvme\nNvmeMode=write-verify\nNvmeLBA=0+64\nNvmeAllowWrite=yes\nSize=4K\n",
	 "x.conf:11: [Traffic] Size=4K: MapSize=4096 holds no command's data: write-verify needs 8192 bytes per command"},
	{MODEL "[Traffic]\nEngine=dsa\n",
	 "x.conf:4: [Traffic] Engine=dsa: unknown DMA engine (expected model, edu, nvme, iopf or none)"},
	{MODEL "[Traffic]\nEngine=ed\n",
	 "x.conf:4: [Traffic] Engine=ed: unknown DMA engine (did you mean edu?)"},
	{MODEL "[Traffic]\nEngine=edu\n",
	 "x.conf:4: [Traffic] Engine=edu: only works with Backend=vfio (this scenario is Backend=model)"},
	{VFIO "[Traffic]\nEngine=model\n",
	 "x.conf:5: [Traffic] Engine=model: only works with Backend=model (this scenario is Backend=vfio)"},
	{MODEL "[Traffic]\nEnable=yes\nEngine=none\n",
	 "x.conf:4: [Traffic] Enable=yes: no DMA engine to generate traffic with (Engine=none)"},
	{MOCK "[Traffic]\nEnable=yes\n",
	 "x.conf:4: [Traffic] Enable=yes: no DMA engine to generate traffic with (Backend=mock has none)"},
	/* Engine=iopf: page requests through the mock's fault queue */
	{MODEL "[Traffic]\nEngine=iopf\n",
	 "x.conf:4: [Traffic] Engine=iopf: only works with Backend=mock, whose selftest device injects the page requests (this scenario is Backend=model)"},
	{VFIO "[Traffic]\nEngine=iopf\n",
	 "x.conf:5: [Traffic] Engine=iopf: only works with Backend=mock, whose selftest device injects the page requests (this scenario is Backend=vfio)"},
	{MOCK "[Traffic]\nEngine=iopf\nSize=64\n",
	 "x.conf:5: [Traffic] Size=64: does not apply to Engine=iopf (a page request carries no data)"},
	{MOCK "[Traffic]\nVerify=no\nEngine=iopf\n",
	 "x.conf:4: [Traffic] Verify=no: does not apply to Engine=iopf (a page request carries no data)"},
	{MOCK "[Domains]\nLayout=missing-range\n[Traffic]\nEngine=iopf\n",
	 "x.conf:6: [Traffic] Engine=iopf: Layout=missing-range cannot be combined with Engine=iopf: the nested domains share one nest parent, so none can lack the range"},
	{MOCK "[Traffic]\nEngine=iopf\n[Domains]\nLayout=missing-range\n",
	 "x.conf:6: [Domains] Layout=missing-range: Layout=missing-range cannot be combined with Engine=iopf: the nested domains share one nest parent, so none can lack the range"},
	{MOCK "[Traffic]\nEngine=iopf\n[Expect]\nDmaTransfers=>0\n",
	 "x.conf:6: [Expect] DmaTransfers=>0: Engine=iopf makes page requests, not DMA transfers (they count as Faults)"},
	{MOCK "[Traffic]\nEngine=iopf\nEnable=no\n[Expect]\nDmaErrors=0\n",
	 "x.conf:7: [Expect] DmaErrors=0: this scenario makes no DMA traffic ([Traffic] is off)"},
	{MODEL "[Traffic]\nSize=0\n", "x.conf:4: [Traffic] Size=0: must be at least 1 byte"},
	{MODEL "[Traffic]\nSize=big\n",
	 "x.conf:4: [Traffic] Size=big: not a size (e.g. 1024 or 2K)"},
	{MODEL "[Traffic]\nSize=8G\n", "x.conf:4: [Traffic] Size=8G: out of range"},
	{MODEL "[Traffic]\nSize=128K\n",
	 "x.conf:4: [Traffic] Size=128K: larger than the mapping ([Domains] MapSize=65536)"},
	{MODEL "[Traffic]\nSize=8K\n[Domains]\nMapSize=4K\n",
	 "x.conf:4: [Traffic] Size=8K: larger than the mapping ([Domains] MapSize=4096)"},
	{VFIO "[Traffic]\nSize=4096\n",
	 "x.conf:5: [Traffic] Size=4096: Engine=edu moves at most 2048 bytes at a time (QEMU 7.2's edu device aborts on larger DMA)"},
	{VFIO "[Domains]\nMapSize=512M\n",
	 "x.conf:5: [Domains] MapSize=512M: Engine=edu reaches only the first 256M of IOVA space (28-bit DMA mask), this mapping ends at 0x20100000"},
	{VFIO "[Domains]\nIOVA=0x10000000\n",
	 "x.conf:5: [Domains] IOVA=0x10000000: Engine=edu reaches only the first 256M of IOVA space (28-bit DMA mask), this mapping ends at 0x10010000"},
	{MODEL "[Traffic]\nRate=fast\n", "x.conf:4: [Traffic] Rate=fast: not a number or \"max\""},
	{MODEL "[Traffic]\nRate=0\n",
	 "x.conf:4: [Traffic] Rate=0: must be more than 0 Hz (write \"max\" for no limit)"},
	{MODEL "[Traffic]\nEnable=no\n[Domains]\nLayout=missing-range\n",
	 "x.conf:6: [Domains] Layout=missing-range: the missing range only faults when DMA runs, and [Traffic] is off"},

	/* [Model] */
	{MODEL "[Model]\nWriter=fast\n",
	 "x.conf:4: [Model] Writer=fast: unknown writer (expected entry-sync, clear-then-update or direct)"},
	{MODEL "[Model]\nWriter=entry_sync\n",
	 "x.conf:4: [Model] Writer=entry_sync: unknown writer (did you mean entry-sync?)"},
	{MODEL "[Model]\nTransitions=ss-did bogus\n",
	 "x.conf:4: [Model] Transitions=ss-did bogus: unknown transition kind \"bogus\" (expected ss-ptr, ss-did, fs-ptr, fs-did, nested-s1, nested-s2, nested-both, ss-pt, ss-fs, fs-pt or pt-did)"},
	{MODEL "[Model]\nTransitions=nested-bth\n",
	 "x.conf:4: [Model] Transitions=nested-bth: unknown transition kind \"nested-bth\" (did you mean nested-both?)"},
	{MODEL "[Model]\nTransitions=ss-did fs-did\n",
	 "x.conf:4: [Model] Transitions=ss-did fs-did: 2 transition kinds for 1 attachment point: kinds are handed to points round-robin, so the kinds after the first 1 would never run"},
	{MOCK "[Model]\n\nTransitions=ss-did\nWriter=direct\n",
	 "x.conf:5: [Model] Transitions=ss-did: [Model] only applies to Backend=model (this scenario is Backend=mock)"},
	{VFIO "[Model]\nWriter=direct\n",
	 "x.conf:5: [Model] Writer=direct: [Model] only applies to Backend=model (this scenario is Backend=vfio)"},

	/* [Expect] */
	{MODEL "[Expect]\nFaults=lots\n",
	 "x.conf:4: [Expect] Faults=lots: not a count or a comparison (N, =N, !=N, <N, <=N, >N or >=N)"},
	{MODEL "[Expect]\nFaults=>\n",
	 "x.conf:4: [Expect] Faults=>: not a count or a comparison (N, =N, !=N, <N, <=N, >N or >=N)"},
	{MODEL "[Expect]\nFaults==>1\n",
	 "x.conf:4: [Expect] Faults==>1: not a count or a comparison (N, =N, !=N, <N, <=N, >N or >=N)"},
	{MODEL "[Expect]\nFaults=-1\n",
	 "x.conf:4: [Expect] Faults=-1: not a count or a comparison (N, =N, !=N, <N, <=N, >N or >=N)"},
	{MODEL "[Expect]\nFaults=<0\n",
	 "x.conf:4: [Expect] Faults=<0: can never hold: counts are never negative"},
	{MODEL "[Expect]\nReplacements=>99999999999999999999\n",
	 "x.conf:4: [Expect] Replacements=>99999999999999999999: out of range"},
	{MODEL "[Expect]\nMinRate=fast\n",
	 "x.conf:4: [Expect] MinRate=fast: not a number (replacements per second)"},
	{MODEL "[Expect]\nMinRate=>=5\n",
	 "x.conf:4: [Expect] MinRate=>=5: not a number (replacements per second)"},
	{MODEL "[Expect]\nMinRate=0\n", "x.conf:4: [Expect] MinRate=0: must be more than 0"},
	{MODEL "[Expect]\nMaxLatencyP99=soon\n",
	 "x.conf:4: [Expect] MaxLatencyP99=soon: not a duration (e.g. 500us, 2ms)"},
	{MODEL "[Expect]\nMaxLatencyP99=1000000000000\n",
	 "x.conf:4: [Expect] MaxLatencyP99=1000000000000: out of range"},
	{MODEL "[Expect]\nMinRate=1e400\n", "x.conf:4: [Expect] MinRate=1e400: out of range"},
	{MODEL "[Expect]\nMaxLatencyP99=0\n",
	 "x.conf:4: [Expect] MaxLatencyP99=0: must be longer than 0"},
	{MOCK "[Expect]\nFaults=0\nDmaErrors=0\n",
	 "x.conf:5: [Expect] DmaErrors=0: this scenario makes no DMA traffic ([Traffic] is off)"},
	{MODEL "[Traffic]\nEnable=no\n[Expect]\nDmaTransfers=>0\n",
	 "x.conf:6: [Expect] DmaTransfers=>0: this scenario makes no DMA traffic ([Traffic] is off)"},

	/* The first error in file order wins, even when a later line would replace the value. */
	{MODEL "[Replace]\nCount=abc\nCount=5\nRate=fast\n",
	 "x.conf:4: [Replace] Count=abc: not a number"},
	{MODEL "[Replace]\nRate=fast\n[Expect]\nFaults=lots\n",
	 "x.conf:4: [Replace] Rate=fast: not a number or \"max\""},

	/* Overrides. */
	{MODEL, "override Replace.Count=abc: not a number", {"Replace.Count=abc"}},
	{MODEL,
	 "override Replace.Count=abc: not a number",
	 {"Replace.Count=5", " Replace . Count = abc "}},
	{MODEL, "override Replace.Cout=5: unknown key (did you mean Count?)", {"Replace.Cout=5"}},
	{MODEL,
	 "override Replace.Engine=edu: unknown key (Engine= belongs in [Traffic])",
	 {"Replace.Engine=edu"}},
	{MODEL,
	 "override Replce.Count=5: unknown section (did you mean Replace?)",
	 {"Replce.Count=5"}},
	{MODEL, "override Nowhere.Count=5: unknown section", {"Nowhere.Count=5"}},
	{MODEL, "override ReplaceCount=5: not Section.Key=value", {"ReplaceCount=5"}},
	{MODEL, "override Replace.Count: not Section.Key=value", {"Replace.Count"}},
	{MODEL, "override Count=1.5: not Section.Key=value", {"Count=1.5"}},
	{MODEL, "override Replace.=5: no key between the '.' and the '='", {"Replace.=5"}},
	{MODEL,
	 "override Traffic.Size=128K: larger than the mapping ([Domains] MapSize=65536)",
	 {"Traffic.Size=128K"}},
	{MODEL,
	 "override Attach.Points=RID 0: PASID 0 is not a PASID; write RID for the attachment without a PASID",
	 {"Attach.Points=RID 0"}},
	{MODEL,
	 "override Scenario.Bakcend=vfio: unknown key (did you mean Backend?)",
	 {"Scenario.Backend=vfio", "Scenario.Bakcend=vfio"}},
	{MODEL,
	 "x.conf: [Scenario] Device= is required for Backend=vfio",
	 {"Scenario.Backend=vfio"}},
	{MODEL "[Model]\nWriter=direct\n",
	 "x.conf:4: [Model] Writer=direct: [Model] only applies to Backend=model (this scenario is Backend=mock)",
	 {"Scenario.Backend=mock"}},
	{MODEL,
	 "override Model.Writer=direct: [Model] only applies to Backend=model (this scenario is Backend=mock)",
	 {"Model.Writer=direct", "Scenario.Backend=mock"}},
	{MODEL "[Domains]\nMapSize=8K\n",
	 "override Traffic.Size=16K: larger than the mapping ([Domains] MapSize=8192)",
	 {"Traffic.Size=16K"}},
	{MODEL, "override #1: contains a control character (0x0a)", {"Replace.Count=1\n"}},
	{MODEL, "override #2: not valid UTF-8", {"Scenario.Name=ok", "Scenario.Name=\xff"}},
	{MODEL "[Replace]\nCount=abc\n",
	 "x.conf:4: [Replace] Count=abc: not a number",
	 {"Replace.Count=5"}},
};

START_TEST(test_errors)
{
	const struct bad_case *c = &bad_cases[_i];

	parse_fail(c->text, c->overrides[0] ? (char *const *)c->overrides : NULL, c->error);
}
END_TEST

START_TEST(test_error_text_limits)
{
	_cleanup_free_ char *text = NULL, *expected = NULL, *override = NULL;
	char buf[256];
	size_t n;

	/* A line longer than 4096 bytes is an error, exactly at the limit it is not. */
	n = 5000;
	text = malloc(strlen(MODEL) + n + 2);
	ck_assert_ptr_nonnull(text);
	strcpy(text, MODEL);
	memset(text + strlen(MODEL), '#', n);
	strcpy(text + strlen(MODEL) + n, "\n");
	parse_fail(text, NULL, "x.conf:3: line is too long (5000 bytes, at most 4096)");

	text[strlen(MODEL) + 4096] = '\n';
	text[strlen(MODEL) + 4097] = 0;
	scenario_free(parse_ok(text, "x.conf", NULL));

	/* The same for overrides. */
	override = malloc(5001);
	ck_assert_ptr_nonnull(override);
	memset(override, 'x', 5000);
	override[5000] = 0;
	parse_fail(MODEL, (char *const[]){override, NULL},
		   "override #1: too long (5000 bytes, at most 4096)");

	/* Control characters, anywhere on the line, and broken UTF-8. */
	parse_fail(MODEL "[Scenario]\nName=a\x01z\n", NULL,
		   "x.conf:4: line contains a control character (0x01)");
	parse_fail(MODEL "Name=a\rb\n", NULL, "x.conf:3: line contains a control character (0x0d)");
	parse_fail(MODEL "Name=\x7f\n", NULL, "x.conf:3: line contains a control character (0x7f)");
	parse_fail(MODEL "Name=\xc3\n", NULL, "x.conf:3: line is not valid UTF-8");
	parse_fail(MODEL "Name=\xc0\xaf\n", NULL, "x.conf:3: line is not valid UTF-8");
	parse_fail(MODEL "Name=\xed\xa0\x80\n", NULL, "x.conf:3: line is not valid UTF-8");
	parse_fail(MODEL "Name=\xf4\x90\x80\x80\n", NULL, "x.conf:3: line is not valid UTF-8");
	parse_fail("# \xfe\n" MODEL, NULL, "x.conf:1: line is not valid UTF-8");

	/* Long values are cut in messages at a character boundary. */
	snprintf(buf, sizeof(buf), "%s[Replace]\nRate=%s\n", MODEL,
		 "ééééééééééééééééééééééééééééééééééééééééééééééééééééééééé");
	ck_assert_int_ge(asprintf(&expected,
				  "x.conf:4: [Replace] Rate=%s…: not a number or \"max\"",
				  "éééééééééééééééééééééééééééééééééééééééé"),
			 0);
	parse_fail(buf, NULL, expected);

	/* Cutting in the middle of a character backs off to its start. */
	snprintf(buf, sizeof(buf), "%s[Replace]\nRate=x%s\n", MODEL,
		 "ééééééééééééééééééééééééééééééééééééééééééééééééééééééééé");
	free(expected);
	ck_assert_int_ge(asprintf(&expected,
				  "x.conf:4: [Replace] Rate=x%s…: not a number or \"max\"",
				  "ééééééééééééééééééééééééééééééééééééééé"),
			 0);
	parse_fail(buf, NULL, expected);
}
END_TEST

/* ---- good values, one key at a time ---- */

enum { T_U64, T_U32, T_UNS, T_DBL, T_BOOL, T_STR, T_ENUM };

static const struct good_case {
	const char *backend;
	const char *section;
	const char *assignment;
	int type;
	size_t offset;
	uint64_t u;
	double d;
	const char *str;
} good_cases[] = {
#define F(field) offsetof(Scenario, field)
	{"model", "Scenario", "Name=hello world", T_STR, F(name), .str = "hello world"},
	{"model", "Scenario", "Name=  spaced  ", T_STR, F(name), .str = "spaced"},
	{"model", "Scenario", "Description=Ünïcode ✓ = fine", T_STR, F(description),
	 .str = "Ünïcode ✓ = fine"},
	{"model", "Scenario", "Device=model1", T_STR, F(device), .str = "model1"},
	{"mock", "Scenario", "Device=mock_0.a:b-c", T_STR, F(device), .str = "mock_0.a:b-c"},
	{"vfio", "Scenario", "Device=00:03.0", T_STR, F(device), .str = "0000:00:03.0"},
	{"vfio", "Scenario", "Device=0000:0A:1F.7", T_STR, F(device), .str = "0000:0a:1f.7"},
	{"vfio", "Scenario", "Device=abcd:ef:00.1", T_STR, F(device), .str = "abcd:ef:00.1"},
	{"vfio", "Scenario", "Bind=yes", T_BOOL, F(bind), 1},
	{"vfio", "Scenario", "Bind=off", T_BOOL, F(bind), 0},
	{"model", "Attach", "Workers=1", T_UNS, F(workers), 1},
	{"model", "Domains", "Count=2", T_UNS, F(n_domains), 2},
	{"model", "Domains", "Count=4096", T_UNS, F(n_domains), 4096},
	{"model", "Domains", "Count=0x10", T_UNS, F(n_domains), 16},
	{"model", "Domains", "Count=010", T_UNS, F(n_domains), 10},
	{"model", "Domains", "Layout=identical", T_ENUM, F(layout), LAYOUT_IDENTICAL},
	{"model", "Domains", "Layout=missing-range", T_ENUM, F(layout), LAYOUT_MISSING_RANGE},
	{"model", "Domains", "IOVA=0", T_U64, F(iova), 0},
	{"model", "Domains", "IOVA=0x200000", T_U64, F(iova), 0x200000},
	{"model", "Domains", "IOVA=1M", T_U64, F(iova), 1 << 20},
	{"model", "Domains", "IOVA=8192", T_U64, F(iova), 8192},
	{"model", "Domains", "MapSize=4096", T_U64, F(map_size), 4096},
	{"model", "Domains", "MapSize=2M", T_U64, F(map_size), 2 << 20},
	{"model", "Domains", "MapSize=1G", T_U64, F(map_size), 1 << 30},
	{"model", "Domains", "MapSize=0x3000", T_U64, F(map_size), 0x3000},
	{"model", "Domains", "MapSize=08192", T_U64, F(map_size), 8192},
	{"model", "Replace", "Pattern=ping-pong", T_ENUM, F(pattern), PATTERN_PING_PONG},
	{"model", "Replace", "Pattern=round-robin", T_ENUM, F(pattern), PATTERN_ROUND_ROBIN},
	{"model", "Replace", "Pattern=random", T_ENUM, F(pattern), PATTERN_RANDOM},
	{"model", "Replace", "Rate=max", T_DBL, F(rate), .d = 0},
	{"model", "Replace", "Rate=1000", T_DBL, F(rate), .d = 1000},
	{"model", "Replace", "Rate=0.5", T_DBL, F(rate), .d = 0.5},
	{"model", "Replace", "Rate=2.5e3", T_DBL, F(rate), .d = 2500},
	{"model", "Replace", "Count=1", T_U64, F(count), 1},
	{"model", "Replace", "Count=1M", T_U64, F(count), 1000000},
	{"model", "Replace", "Count=10k", T_U64, F(count), 10000},
	{"model", "Replace", "Count=1000000", T_U64, F(count), 1000000},
	{"model", "Replace", "Count=2G", T_U64, F(count), 2000000000},
	{"model", "Replace", "Count=18446744073709551615", T_U64, F(count), UINT64_MAX},
	{"model", "Replace", "Duration=5s", T_U64, F(duration_ns), 5000000000ull},
	{"model", "Replace", "Duration=250ms", T_U64, F(duration_ns), 250000000ull},
	{"model", "Replace", "Duration=1min 30s", T_U64, F(duration_ns), 90000000000ull},
	{"model", "Replace", "Duration=2", T_U64, F(duration_ns), 2000000000ull},
	{"model", "Replace", "Seed=42", T_U64, F(seed), 42},
	{"model", "Replace", "Seed=0xdeadbeefcafef00d", T_U64, F(seed), 0xdeadbeefcafef00dull},
	{"model", "Replace", "Seed=0", T_U64, F(seed), 0},
	{"model", "Replace", "MaxErrors=0", T_U64, F(max_errors), 0},
	{"model", "Replace", "MaxErrors=100", T_U64, F(max_errors), 100},
	{"model", "Replace", "MaxErrors=1k", T_U64, F(max_errors), 1000},
	{"model", "Replace", "SettleTime=0", T_U64, F(settle_ns), 0},
	{"model", "Replace", "SettleTime=1ms", T_U64, F(settle_ns), 1000000},
	{"model", "Replace", "SettleTime=500us", T_U64, F(settle_ns), 500000},
	{"model", "Traffic", "Enable=no", T_BOOL, F(traffic), 0},
	{"model", "Traffic", "Enable=yes", T_BOOL, F(traffic), 1},
	{"model", "Traffic", "Enable=true", T_BOOL, F(traffic), 1},
	{"model", "Traffic", "Engine=none", T_BOOL, F(traffic), 0},
	{"model", "Traffic", "Engine=model", T_STR, F(engine), .str = "model"},
	{"vfio", "Traffic", "Engine=edu", T_STR, F(engine), .str = "edu"},
	{"vfio", "Traffic", "Engine=none", T_STR, F(engine), .str = "none"},
	{"mock", "Traffic", "Engine=none", T_STR, F(engine), .str = "none"},
	{"mock", "Traffic", "Engine=iopf", T_STR, F(engine), .str = "iopf"},
	{"mock", "Traffic", "Engine=iopf", T_BOOL, F(traffic), 1},
	{"mock", "Traffic", "Engine=iopf", T_BOOL, F(verify), 0},
	{"mock", "Traffic", "Rate=5000\nEngine=iopf", T_DBL, F(dma_rate), .d = 5000},
	{"model", "Traffic", "Size=1", T_U32, F(dma_size), 1},
	{"model", "Traffic", "Size=4K", T_U32, F(dma_size), 4096},
	{"model", "Traffic", "Size=64K", T_U32, F(dma_size), 65536},
	{"vfio", "Traffic", "Size=2048", T_U32, F(dma_size), 2048},
	/* Traffic keys are only cross-checked when there is traffic. */
	{"mock", "Traffic", "Size=1G", T_U32, F(dma_size), 1u << 30},
	{"model", "Traffic", "Rate=max", T_DBL, F(dma_rate), .d = 0},
	{"model", "Traffic", "Rate=100", T_DBL, F(dma_rate), .d = 100},
	{"model", "Traffic", "Verify=no", T_BOOL, F(verify), 0},
	{"model", "Traffic", "Verify=1", T_BOOL, F(verify), 1},
	{"model", "Model", "Writer=entry-sync", T_ENUM, F(writer), ENTRY_WRITER_ENTRY_SYNC},
	{"model", "Model", "Writer=clear-then-update", T_ENUM, F(writer),
	 ENTRY_WRITER_CLEAR_THEN_UPDATE},
	{"model", "Model", "Writer=direct", T_ENUM, F(writer), ENTRY_WRITER_DIRECT},
	/* An empty value restores the default. */
	{"model", "Replace", "Rate=", T_DBL, F(rate), .d = 0},
	{"model", "Domains", "MapSize=", T_U64, F(map_size), 65536},
	{"model", "Traffic", "Verify=", T_BOOL, F(verify), 1},
	{"model", "Scenario", "Device=", T_STR, F(device), .str = "model0"},
#undef F
};

START_TEST(test_good_values)
{
	const struct good_case *c = &good_cases[_i];
	_cleanup_(scenario_freep) Scenario *s = NULL;
	char text[512];
	const void *field;

	snprintf(text, sizeof(text), "[Scenario]\nBackend=%s\n%s[%s]\n%s\n", c->backend,
		 streq(c->backend, "vfio") ? "Device=00:03.0\n" : "", c->section, c->assignment);
	s = parse_ok(text, "x.conf", NULL);
	field = (const uint8_t *)s + c->offset;

	switch (c->type) {
	case T_U64:
		ck_assert_uint_eq(*(const uint64_t *)field, c->u);
		break;
	case T_U32:
		ck_assert_uint_eq(*(const uint32_t *)field, c->u);
		break;
	case T_UNS:
		ck_assert_uint_eq(*(const unsigned *)field, c->u);
		break;
	case T_DBL:
		ck_assert_double_eq(*(const double *)field, c->d);
		break;
	case T_BOOL:
		ck_assert_int_eq(*(const bool *)field, (bool)c->u);
		break;
	case T_STR:
		ck_assert_str_eq(*(char *const *)field, c->str);
		break;
	case T_ENUM:
		ck_assert_int_eq(*(const int *)field, (int)c->u);
		break;
	default:
		ck_abort();
	}
}
END_TEST

/* ---- defaults ---- */

START_TEST(test_defaults_model)
{
	_cleanup_(scenario_freep) Scenario *s = parse_ok(MODEL, "dir/x.conf", NULL);

	ck_assert_str_eq(s->source, "dir/x.conf");
	ck_assert_uint_eq(s->line_count, 2);
	ck_assert_str_eq(s->name, "x");
	ck_assert_ptr_null(s->description);
	ck_assert_str_eq(s->backend, "model");
	ck_assert_str_eq(s->device, "model0");
	ck_assert(!s->bind);
	ck_assert_uint_eq(s->n_points, 1);
	ck_assert_uint_eq(s->points[0], ATTACH_POINT_RID);
	ck_assert_uint_eq(s->workers, 1);
	ck_assert_uint_eq(s->n_domains, 2);
	ck_assert_int_eq(s->layout, LAYOUT_IDENTICAL);
	ck_assert_uint_eq(s->iova, 0x100000);
	ck_assert_uint_eq(s->map_size, 65536);
	ck_assert_int_eq(s->pattern, PATTERN_PING_PONG);
	ck_assert_double_eq(s->rate, 0);
	ck_assert_uint_eq(s->count, 0);
	ck_assert_uint_eq(s->duration_ns, 0);
	ck_assert_uint_eq(s->seed, 0);
	ck_assert_uint_eq(s->max_errors, 0);
	ck_assert_uint_eq(s->settle_ns, 0);
	ck_assert(s->traffic);
	ck_assert_str_eq(s->engine, "model");
	ck_assert_uint_eq(s->dma_size, 1024);
	ck_assert_double_eq(s->dma_rate, 0);
	ck_assert(s->verify);
	ck_assert_int_eq(s->writer, ENTRY_WRITER_ENTRY_SYNC);
	ck_assert_uint_eq(s->n_transitions, 1);
	ck_assert_int_eq(s->transitions[0], TRANSITION_SS_DID);
	ck_assert_uint_eq(s->n_expect, 0);
	ck_assert_ptr_null(s->expect);
}
END_TEST

START_TEST(test_defaults_mock)
{
	_cleanup_(scenario_freep) Scenario *s = parse_ok(MOCK, "mock.conf", NULL);

	ck_assert_str_eq(s->device, "mock0");
	ck_assert_str_eq(s->engine, "none");
	ck_assert(!s->traffic);
	ck_assert_uint_eq(s->n_transitions, 0);
	ck_assert_ptr_null(s->transitions);
	/* Inside the mock domains' aperture, unless the file says otherwise. */
	ck_assert_uint_eq(s->iova, 0x1000000);
}
END_TEST

START_TEST(test_defaults_vfio)
{
	_cleanup_(scenario_freep) Scenario *s = parse_ok(VFIO, "vfio.conf", NULL);

	ck_assert_str_eq(s->device, "0000:00:03.0");
	ck_assert_str_eq(s->engine, "edu");
	ck_assert(s->traffic);
	ck_assert(!s->bind);
	ck_assert_uint_eq(s->n_transitions, 0);
}
END_TEST

static const struct {
	const char *source;
	const char *name;
} name_cases[] = {
	{NULL, "scenario"},
	{"x.conf", "x"},
	{"/a/b/model-hitless.conf", "model-hitless"},
	{"plain", "plain"},
	{"a.conf.conf", "a.conf"},
	{".conf", "scenario"},
	{"dir/", "scenario"},
	{"x.cnf", "x.cnf"},
};

START_TEST(test_default_name)
{
	_cleanup_(scenario_freep) Scenario *s = parse_ok(MODEL, name_cases[_i].source, NULL);

	ck_assert_str_eq(s->name, name_cases[_i].name);
	ck_assert_str_eq(s->source, name_cases[_i].source ?: "scenario");
}
END_TEST

START_TEST(test_source_null_in_errors)
{
	_cleanup_free_ char *error = NULL;
	Scenario *s = NULL;

	ck_assert_int_eq(scenario_parse("[Scenario]\nBackend=x\n", NULL, NULL, &s, &error),
			 -EINVAL);
	ck_assert_str_eq(
		error,
		"scenario:2: [Scenario] Backend=x: unknown backend (expected model, vfio or mock)");
	ck_assert_ptr_null(s);

	/* A source name that would break the one-line message is not used. */
	error = mfree(error);
	ck_assert_int_eq(scenario_parse("[Scenario]\nBackend=x\n", "a\nb.conf", NULL, &s, &error),
			 -EINVAL);
	ck_assert_str_eq(
		error,
		"scenario:2: [Scenario] Backend=x: unknown backend (expected model, vfio or mock)");
	s = parse_ok(MODEL, "bad\xff.conf", NULL);
	ck_assert_str_eq(s->source, "scenario");
	ck_assert_str_eq(s->name, "scenario");
	s = scenario_free(s);

	/* Callers that do not want the message may pass NULL. */
	ck_assert_int_eq(scenario_parse("[Scenario]\nBackend=x\n", NULL, NULL, &s, NULL), -EINVAL);
	ck_assert_int_eq(scenario_parse(NULL, NULL, NULL, &s, NULL), -EINVAL);
}
END_TEST

/* ---- points and workers ---- */

START_TEST(test_points)
{
	static const uint32_t want[] = {ATTACH_POINT_RID, 1, 2, 3, 16, 7, PASID_MAX};
	_cleanup_(scenario_freep) Scenario *s = NULL;

	s = parse_ok(MODEL
		     "[Attach]\nPoints=RID 1-3\t0x10   7 0xFFFFF\n[Model]\nTransitions=ss-did\n",
		     "x.conf", NULL);
	ck_assert_uint_eq(s->n_points, ELEMENTSOF(want));
	for (size_t i = 0; i < ELEMENTSOF(want); i++)
		ck_assert_uint_eq(s->points[i], want[i]);
	/* One worker per point by default. */
	ck_assert_uint_eq(s->workers, ELEMENTSOF(want));
	scenario_free(TAKE_PTR(s));

	/* A single-PASID range, a range written in hex, and no RID at all. */
	s = parse_ok(MODEL "[Attach]\nPoints=5-5 0x20-0x21\n", "x.conf", NULL);
	ck_assert_uint_eq(s->n_points, 3);
	ck_assert_uint_eq(s->points[0], 5);
	ck_assert_uint_eq(s->points[1], 0x20);
	ck_assert_uint_eq(s->points[2], 0x21);
	scenario_free(TAKE_PTR(s));

	/* Exactly SCENARIO_MAX_POINTS; the workers default stops at SCENARIO_MAX_WORKERS. */
	s = parse_ok(MODEL "[Attach]\nPoints=RID 1-4095\n", "x.conf", NULL);
	ck_assert_uint_eq(s->n_points, SCENARIO_MAX_POINTS);
	ck_assert_uint_eq(s->points[SCENARIO_MAX_POINTS - 1], 4095);
	ck_assert_uint_eq(s->workers, SCENARIO_MAX_WORKERS);
	scenario_free(TAKE_PTR(s));

	s = parse_ok(MODEL "[Attach]\nPoints=1-300\nWorkers=256\n", "x.conf", NULL);
	ck_assert_uint_eq(s->workers, 256);
	scenario_free(TAKE_PTR(s));

	s = parse_ok(MODEL "[Attach]\nPoints=1-3\nWorkers=3\n", "x.conf", NULL);
	ck_assert_uint_eq(s->workers, 3);
	scenario_free(TAKE_PTR(s));

	/* Last one wins, and an empty value goes back to RID. */
	s = parse_ok(MODEL "[Attach]\nPoints=1-3\nPoints=\n", "x.conf", NULL);
	ck_assert_uint_eq(s->n_points, 1);
	ck_assert_uint_eq(s->points[0], ATTACH_POINT_RID);
	ck_assert_uint_eq(s->workers, 1);
	scenario_free(TAKE_PTR(s));

	/* Workers= can be reset to its default, too. */
	s = parse_ok(MODEL "[Attach]\nPoints=1-3\nWorkers=1\nWorkers=\n", "x.conf", NULL);
	ck_assert_uint_eq(s->workers, 3);
}
END_TEST

START_TEST(test_transitions)
{
	_cleanup_(scenario_freep) Scenario *s = NULL;

	s = parse_ok(MODEL
		     "[Attach]\nPoints=RID 1-10\n[Model]\nTransitions=ss-ptr ss-did fs-ptr fs-did "
		     "nested-s1 nested-s2 nested-both ss-pt ss-fs fs-pt pt-did\n",
		     "x.conf", NULL);
	ck_assert_uint_eq(s->n_transitions, _TRANSITION_KIND_MAX);
	for (size_t i = 0; i < s->n_transitions; i++)
		ck_assert_int_eq(s->transitions[i], (int)i);
	scenario_free(TAKE_PTR(s));

	/* Repeats are allowed: they weight the round-robin. */
	s = parse_ok(MODEL "[Attach]\nPoints=RID 1 2\n[Model]\nTransitions=fs-did fs-did  ss-did\n",
		     "x.conf", NULL);
	ck_assert_uint_eq(s->n_transitions, 3);
	ck_assert_int_eq(s->transitions[0], TRANSITION_FS_DID);
	ck_assert_int_eq(s->transitions[1], TRANSITION_FS_DID);
	ck_assert_int_eq(s->transitions[2], TRANSITION_SS_DID);
	scenario_free(TAKE_PTR(s));

	/* Empty goes back to the default. */
	s = parse_ok(MODEL "[Model]\nTransitions=fs-did\nTransitions=\n", "x.conf", NULL);
	ck_assert_uint_eq(s->n_transitions, 1);
	ck_assert_int_eq(s->transitions[0], TRANSITION_SS_DID);
	scenario_free(TAKE_PTR(s));

	/* An empty [Model] key on another backend is not an assignment. */
	s = parse_ok(MOCK "[Model]\nWriter=\n", "x.conf", NULL);
	ck_assert_uint_eq(s->n_transitions, 0);
}
END_TEST

/* ---- expectations ---- */

static const struct {
	const char *assignment;
	ExpectMetric metric;
	Comparison cmp;
	double value;
} expect_cases[] = {
	{"Faults=0", EXPECT_FAULTS, CMP_EQ, 0},
	{"Faults==3", EXPECT_FAULTS, CMP_EQ, 3},
	{"Faults=!=0", EXPECT_FAULTS, CMP_NE, 0},
	{"Faults=<5", EXPECT_FAULTS, CMP_LT, 5},
	{"Faults=<=5", EXPECT_FAULTS, CMP_LE, 5},
	{"Faults=>0", EXPECT_FAULTS, CMP_GT, 0},
	{"Faults=>=1", EXPECT_FAULTS, CMP_GE, 1},
	{"Faults=>= 7", EXPECT_FAULTS, CMP_GE, 7},
	{"Faults=>=0", EXPECT_FAULTS, CMP_GE, 0},
	{"FaultsDuringReplace=>0", EXPECT_FAULTS_DURING_REPLACE, CMP_GT, 0},
	{"FaultsAtRest=0", EXPECT_FAULTS_AT_REST, CMP_EQ, 0},
	{"DmaTransfers=>=10k", EXPECT_DMA_TRANSFERS, CMP_GE, 10000},
	{"DmaErrors=0", EXPECT_DMA_ERRORS, CMP_EQ, 0},
	{"Replacements=>=1M", EXPECT_REPLACEMENTS, CMP_GE, 1e6},
	{"Replacements=>=1000000", EXPECT_REPLACEMENTS, CMP_GE, 1e6},
	{"ReplaceErrors=<=0x10", EXPECT_REPLACE_ERRORS, CMP_LE, 16},
	{"MinRate=1000", EXPECT_RATE, CMP_GE, 1000},
	{"MinRate=0.5", EXPECT_RATE, CMP_GE, 0.5},
	{"MaxLatencyP99=2ms", EXPECT_LATENCY_P99_NS, CMP_LE, 2e6},
	{"MaxLatencyP99=500us", EXPECT_LATENCY_P99_NS, CMP_LE, 5e5},
};

START_TEST(test_expect_forms)
{
	_cleanup_(scenario_freep) Scenario *s = NULL;
	char text[256];

	snprintf(text, sizeof(text), MODEL "[Expect]\n%s\n", expect_cases[_i].assignment);
	s = parse_ok(text, "x.conf", NULL);
	ck_assert_uint_eq(s->n_expect, 1);
	ck_assert_int_eq(s->expect[0].metric, expect_cases[_i].metric);
	ck_assert_int_eq(s->expect[0].cmp, expect_cases[_i].cmp);
	ck_assert_double_eq(s->expect[0].value, expect_cases[_i].value);
	ck_assert_uint_eq(s->expect[0].line, 4);
}
END_TEST

START_TEST(test_expect_last_wins)
{
	_cleanup_(scenario_freep) Scenario *s = NULL;

	/* One expectation per key; they come out in the order of the metrics. */
	s = parse_ok(MODEL
		     "[Expect]\nReplacements=>0\nFaults=0\nDmaErrors=0\n[Expect]\nFaults=>0\n",
		     "x.conf", NULL);
	ck_assert_uint_eq(s->n_expect, 3);
	ck_assert_int_eq(s->expect[0].metric, EXPECT_FAULTS);
	ck_assert_int_eq(s->expect[0].cmp, CMP_GT);
	ck_assert_uint_eq(s->expect[0].line, 8);
	ck_assert_int_eq(s->expect[1].metric, EXPECT_DMA_ERRORS);
	ck_assert_uint_eq(s->expect[1].line, 6);
	ck_assert_int_eq(s->expect[2].metric, EXPECT_REPLACEMENTS);
	ck_assert_uint_eq(s->expect[2].line, 4);
	scenario_free(TAKE_PTR(s));

	/* An empty value drops the expectation; an override has line 0. */
	s = parse_ok(MODEL "[Expect]\nFaults=0\nDmaErrors=0\nDmaErrors=\n", "x.conf",
		     (char *const[]){"Expect.Faults=>=2", "Expect.MinRate=5", NULL});
	ck_assert_uint_eq(s->n_expect, 2);
	ck_assert_int_eq(s->expect[0].metric, EXPECT_FAULTS);
	ck_assert_int_eq(s->expect[0].cmp, CMP_GE);
	ck_assert_double_eq(s->expect[0].value, 2);
	ck_assert_uint_eq(s->expect[0].line, 0);
	ck_assert_int_eq(s->expect[1].metric, EXPECT_RATE);
	ck_assert_uint_eq(s->expect[1].line, 0);
	scenario_free(TAKE_PTR(s));

	s = parse_ok(MODEL "[Expect]\nFaults=0\n", "x.conf",
		     (char *const[]){"Expect.Faults=", NULL});
	ck_assert_uint_eq(s->n_expect, 0);
	ck_assert_ptr_null(s->expect);
}
END_TEST

static const struct {
	Comparison cmp;
	double value, actual;
	bool holds;
} holds_cases[] = {
	{CMP_EQ, 0, 0, true},	   {CMP_EQ, 0, 1, false},    {CMP_NE, 0, 1, true},
	{CMP_NE, 0, 0, false},	   {CMP_LT, 5, 4.9, true},   {CMP_LT, 5, 5, false},
	{CMP_LE, 5, 5, true},	   {CMP_LE, 5, 5.1, false},  {CMP_GT, 0, 1, true},
	{CMP_GT, 0, 0, false},	   {CMP_GE, 1e6, 1e6, true}, {CMP_GE, 1e6, 999999, false},
	{CMP_GE, 0.5, 0.75, true}, {CMP_EQ, 1, NAN, false},  {CMP_NE, 1, NAN, false},
	{CMP_GE, 0, NAN, false},   {_CMP_MAX, 0, 0, false},
};

START_TEST(test_expectation_holds)
{
	Expectation e = {.metric = EXPECT_FAULTS,
			 .cmp = holds_cases[_i].cmp,
			 .value = holds_cases[_i].value};

	ck_assert_int_eq(expectation_holds(&e, holds_cases[_i].actual), holds_cases[_i].holds);
	ck_assert(!expectation_holds(NULL, 0));
}
END_TEST

/* ---- names ---- */

START_TEST(test_strings)
{
	char buf[16];

	ck_assert_str_eq(pattern_to_string(PATTERN_PING_PONG), "ping-pong");
	ck_assert_str_eq(pattern_to_string(PATTERN_ROUND_ROBIN), "round-robin");
	ck_assert_str_eq(pattern_to_string(PATTERN_RANDOM), "random");
	ck_assert_ptr_null(pattern_to_string(_PATTERN_MAX));
	ck_assert_ptr_null(pattern_to_string((Pattern)-1));

	ck_assert_str_eq(layout_to_string(LAYOUT_IDENTICAL), "identical");
	ck_assert_str_eq(layout_to_string(LAYOUT_MISSING_RANGE), "missing-range");
	ck_assert_ptr_null(layout_to_string(_LAYOUT_MAX));

	ck_assert_str_eq(entry_writer_to_string(ENTRY_WRITER_ENTRY_SYNC), "entry-sync");
	ck_assert_str_eq(entry_writer_to_string(ENTRY_WRITER_CLEAR_THEN_UPDATE),
			 "clear-then-update");
	ck_assert_str_eq(entry_writer_to_string(ENTRY_WRITER_DIRECT), "direct");
	ck_assert_ptr_null(entry_writer_to_string(_ENTRY_WRITER_MAX));

	for (int k = 0; k < _TRANSITION_KIND_MAX; k++) {
		const char *n = transition_kind_to_string((TransitionKind)k);

		ck_assert_ptr_nonnull(n);
		ck_assert_int_eq(transition_kind_from_string(n), k);
	}
	ck_assert_str_eq(transition_kind_to_string(TRANSITION_SS_DID), "ss-did");
	ck_assert_str_eq(transition_kind_to_string(TRANSITION_FS_DID), "fs-did");
	ck_assert_str_eq(transition_kind_to_string(TRANSITION_NESTED_BOTH), "nested-both");
	ck_assert_ptr_null(transition_kind_to_string(_TRANSITION_KIND_MAX));
	ck_assert_int_eq(transition_kind_from_string("SS-DID"), -EINVAL);
	ck_assert_int_eq(transition_kind_from_string(""), -EINVAL);
	ck_assert_int_eq(transition_kind_from_string(NULL), -EINVAL);

	ck_assert_str_eq(expect_metric_to_string(EXPECT_FAULTS), "Faults");
	ck_assert_str_eq(expect_metric_to_string(EXPECT_FAULTS_DURING_REPLACE),
			 "FaultsDuringReplace");
	ck_assert_str_eq(expect_metric_to_string(EXPECT_FAULTS_AT_REST), "FaultsAtRest");
	ck_assert_str_eq(expect_metric_to_string(EXPECT_DMA_TRANSFERS), "DmaTransfers");
	ck_assert_str_eq(expect_metric_to_string(EXPECT_DMA_ERRORS), "DmaErrors");
	ck_assert_str_eq(expect_metric_to_string(EXPECT_REPLACEMENTS), "Replacements");
	ck_assert_str_eq(expect_metric_to_string(EXPECT_REPLACE_ERRORS), "ReplaceErrors");
	ck_assert_str_eq(expect_metric_to_string(EXPECT_RATE), "MinRate");
	ck_assert_str_eq(expect_metric_to_string(EXPECT_LATENCY_P99_NS), "MaxLatencyP99");
	ck_assert_ptr_null(expect_metric_to_string(_EXPECT_METRIC_MAX));

	ck_assert_str_eq(comparison_to_string(CMP_EQ), "=");
	ck_assert_str_eq(comparison_to_string(CMP_NE), "!=");
	ck_assert_str_eq(comparison_to_string(CMP_LT), "<");
	ck_assert_str_eq(comparison_to_string(CMP_LE), "<=");
	ck_assert_str_eq(comparison_to_string(CMP_GT), ">");
	ck_assert_str_eq(comparison_to_string(CMP_GE), ">=");
	ck_assert_ptr_null(comparison_to_string(_CMP_MAX));

	ck_assert_str_eq(attach_point_to_string(ATTACH_POINT_RID, buf, sizeof(buf)), "RID");
	ck_assert_str_eq(attach_point_to_string(5, buf, sizeof(buf)), "PASID 5");
	ck_assert_str_eq(attach_point_to_string(PASID_MAX, buf, sizeof(buf)), "PASID 1048575");
	ck_assert_ptr_eq(attach_point_to_string(1, buf, sizeof(buf)), buf);
	/* A short buffer truncates rather than overflows. */
	ck_assert_str_eq(attach_point_to_string(12345, buf, 8), "PASID 1");
}
END_TEST

/* ---- file syntax ---- */

START_TEST(test_syntax)
{
	_cleanup_(scenario_freep) Scenario *s = NULL;

	/* Comments, blank lines, blanks around keys and values, CR LF, a BOM, a missing final
	 * newline. */
	s = parse_ok("\xef\xbb\xbf# comment\r\n; also a comment\r\n\r\n  [Scenario]  \r\n"
		     "\t Backend \t=\t model \r\n  # indented comment\r\nName = a = b\r\n"
		     "Description=\r\n[Replace]\r\nCount = 5",
		     "x.conf", NULL);
	ck_assert_str_eq(s->name, "a = b");
	ck_assert_ptr_null(s->description);
	ck_assert_uint_eq(s->count, 5);
	ck_assert_uint_eq(s->line_count, 10);
	scenario_free(TAKE_PTR(s));

	/* A section may appear more than once; the last assignment of a key wins. */
	s = parse_ok(MODEL "[Replace]\nCount=5\nRate=100\n[Domains]\nCount=3\n[Replace]\nCount=7\n"
			   "[Scenario]\nBackend=mock\nBackend=model\n",
		     "x.conf", NULL);
	ck_assert_uint_eq(s->count, 7);
	ck_assert_double_eq(s->rate, 100);
	ck_assert_uint_eq(s->n_domains, 3);
	ck_assert_str_eq(s->backend, "model");
	scenario_free(TAKE_PTR(s));

	/* Values are taken literally: no quoting, no inline comments. */
	s = parse_ok(MODEL "Description=\"quoted\" # not a comment\n", "x.conf", NULL);
	ck_assert_str_eq(s->description, "\"quoted\" # not a comment");
	scenario_free(TAKE_PTR(s));

	/* Neither a [Replace] Count nor a Duration: runs until stopped. */
	s = parse_ok(MODEL "[Replace]\nCount=5\nCount=\n", "x.conf", NULL);
	ck_assert_uint_eq(s->count, 0);
	ck_assert_uint_eq(s->duration_ns, 0);
}
END_TEST

START_TEST(test_overrides)
{
	_cleanup_(scenario_freep) Scenario *s = NULL;

	/* Applied after the file, in order. */
	s = parse_ok(MODEL "[Replace]\nCount=5\n", "x.conf",
		     (char *const[]){"Replace.Count=6", " Replace . Count = 1M ",
				     "Traffic.Enable=no", "Scenario.Name=renamed",
				     "Attach.Points=RID 1-3", NULL});
	ck_assert_uint_eq(s->count, 1000000);
	ck_assert(!s->traffic);
	ck_assert_str_eq(s->name, "renamed");
	ck_assert_uint_eq(s->n_points, 4);
	ck_assert_uint_eq(s->workers, 4);
	scenario_free(TAKE_PTR(s));

	/* An override may switch the backend; the backend's defaults follow. */
	s = parse_ok(MODEL, "x.conf", (char *const[]){"Scenario.Backend=mock", NULL});
	ck_assert_str_eq(s->device, "mock0");
	ck_assert_str_eq(s->engine, "none");
	ck_assert(!s->traffic);
	scenario_free(TAKE_PTR(s));

	s = parse_ok(MOCK, "x.conf",
		     (char *const[]){"Scenario.Backend=vfio", "Scenario.Device=01:00.0", NULL});
	ck_assert_str_eq(s->device, "0000:01:00.0");
	ck_assert_str_eq(s->engine, "edu");
	scenario_free(TAKE_PTR(s));

	/* An empty value restores the default; a value may contain '.' and '='. */
	s = parse_ok(MODEL "[Replace]\nRate=10\n", "x.conf",
		     (char *const[]){"Replace.Rate=", "Scenario.Description=a.b=c", NULL});
	ck_assert_double_eq(s->rate, 0);
	ck_assert_str_eq(s->description, "a.b=c");
	scenario_free(TAKE_PTR(s));

	/* An empty list is no list. */
	s = parse_ok(MODEL, "x.conf", (char *const[]){NULL});
	ck_assert_str_eq(s->backend, "model");
}
END_TEST

/* ---- the shipped examples ---- */

static char *scenario_dir(void)
{
	const char *e = getenv("SCENARIO_DIR"), *slash;
	char *d;

	if (e)
		return strdup(e);
	e = getenv("MESON_SOURCE_ROOT");
	if (e) {
		if (asprintf(&d, "%s/contrib/scenarios", e) < 0)
			return NULL;
		return d;
	}
	/*
	 * meson test (1.0 does not set MESON_SOURCE_ROOT) runs us in the build
	 * directory, and __FILE__ is this file's path as the compiler was given
	 * it: relative to that directory, or absolute.
	 */
	slash = strrchr(__FILE__, '/');
	if (!slash)
		return strdup("../../contrib/scenarios");
	if (asprintf(&d, "%.*s/../../contrib/scenarios", (int)(slash - __FILE__), __FILE__) < 0)
		return NULL;
	/* Run by hand from the top of the source tree. */
	if (access(d, F_OK) < 0 && access("contrib/scenarios", F_OK) == 0) {
		free(d);
		return strdup("contrib/scenarios");
	}
	return d;
}

static char *read_file(const char *path)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	char *buf;
	long n;

	ck_assert_msg(f, "cannot open %s (set SCENARIO_DIR to contrib/scenarios): %m", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert_int_ge(n, 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = 0;
	/* Scenario text is a C string: a NUL inside a file would silently cut it short. */
	ck_assert_uint_eq(strlen(buf), (size_t)n);
	return buf;
}

static Scenario *parse_example(const char *name)
{
	_cleanup_free_ char *dir = scenario_dir(), *path = NULL, *text = NULL;

	ck_assert_ptr_nonnull(dir);
	ck_assert_int_ge(asprintf(&path, "%s/%s", dir, name), 0);
	text = read_file(path);
	return parse_ok(text, name, NULL);
}

static bool has_expect(const Scenario *s, ExpectMetric m, Comparison c, double v)
{
	for (size_t i = 0; i < s->n_expect; i++)
		if (s->expect[i].metric == m && s->expect[i].cmp == c && s->expect[i].value == v)
			return true;
	return false;
}

START_TEST(test_examples)
{
	_cleanup_(scenario_freep) Scenario *s = NULL;

	s = parse_example("model-hitless.conf");
	ck_assert_str_eq(s->name, "model-hitless");
	ck_assert_str_eq(s->backend, "model");
	ck_assert_int_eq(s->writer, ENTRY_WRITER_ENTRY_SYNC);
	ck_assert_uint_eq(s->n_transitions, 1);
	ck_assert_int_eq(s->transitions[0], TRANSITION_SS_DID);
	ck_assert_uint_eq(s->n_points, 1);
	ck_assert_uint_eq(s->points[0], ATTACH_POINT_RID);
	ck_assert_int_eq(s->layout, LAYOUT_IDENTICAL);
	ck_assert_uint_eq(s->n_domains, 2);
	ck_assert_int_eq(s->pattern, PATTERN_PING_PONG);
	ck_assert_double_eq(s->rate, 0);
	ck_assert_uint_ge(s->count, 1000000);
	ck_assert(s->traffic);
	ck_assert(has_expect(s, EXPECT_FAULTS, CMP_EQ, 0));
	ck_assert(has_expect(s, EXPECT_DMA_ERRORS, CMP_EQ, 0));
	ck_assert(has_expect(s, EXPECT_REPLACEMENTS, CMP_GE, 1e6));
	scenario_free(TAKE_PTR(s));

	s = parse_example("model-clear-then-update.conf");
	ck_assert_int_eq(s->writer, ENTRY_WRITER_CLEAR_THEN_UPDATE);
	ck_assert_int_eq(s->transitions[0], TRANSITION_SS_DID);
	ck_assert_uint_eq(s->count, 1000000);
	ck_assert(s->traffic);
	ck_assert(has_expect(s, EXPECT_FAULTS, CMP_GT, 0));
	scenario_free(TAKE_PTR(s));

	s = parse_example("model-disruptive.conf");
	ck_assert_int_eq(s->writer, ENTRY_WRITER_ENTRY_SYNC);
	ck_assert_uint_eq(s->n_transitions, 1);
	ck_assert_int_eq(s->transitions[0], TRANSITION_FS_DID);
	ck_assert(has_expect(s, EXPECT_FAULTS, CMP_GT, 0));
	scenario_free(TAKE_PTR(s));

	s = parse_example("model-pasid.conf");
	ck_assert_int_eq(s->writer, ENTRY_WRITER_ENTRY_SYNC);
	ck_assert_uint_eq(s->n_points, 16);
	ck_assert_uint_eq(s->points[0], ATTACH_POINT_RID);
	ck_assert_uint_eq(s->points[15], 15);
	ck_assert_uint_gt(s->n_transitions, 1);
	ck_assert_uint_eq(s->duration_ns, 5000000000ull);
	ck_assert(has_expect(s, EXPECT_FAULTS, CMP_EQ, 0));
	scenario_free(TAKE_PTR(s));

	s = parse_example("model-torn.conf");
	ck_assert_int_eq(s->writer, ENTRY_WRITER_DIRECT);
	ck_assert_int_eq(s->transitions[0], TRANSITION_FS_DID);
	ck_assert(has_expect(s, EXPECT_FAULTS, CMP_GT, 0));
}
END_TEST

/* Whatever else lands in contrib/scenarios must parse too. */
START_TEST(test_examples_all)
{
	_cleanup_free_ char *dir = scenario_dir();
	struct dirent *de;
	DIR *d;
	unsigned n = 0;

	ck_assert_ptr_nonnull(dir);
	d = opendir(dir);
	ck_assert_msg(d, "cannot open %s (set SCENARIO_DIR to contrib/scenarios): %m", dir);
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);

		if (l < 5 || !streq(de->d_name + l - 5, ".conf"))
			continue;
		scenario_free(parse_example(de->d_name));
		n++;
	}
	closedir(d);
	ck_assert_uint_ge(n, 5);
}
END_TEST

/* ---- fuzz ---- */

static uint64_t rng_state;

static uint64_t rng(void)
{
	/* xorshift64*: reproducible across libcs, unlike rand(). */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(2685821657736338717);
}

static const char fuzz_base[] = "[Scenario]\n"
				"Name=fuzz\n"
				"Backend=model\n"
				"[Attach]\n"
				"Points=RID 1-15\n"
				"Workers=4\n"
				"[Domains]\n"
				"Count=3\n"
				"Layout=missing-range\n"
				"IOVA=0x200000\n"
				"MapSize=64K\n"
				"[Replace]\n"
				"Pattern=random\n"
				"Rate=max\n"
				"Count=1M\n"
				"Duration=5s\n"
				"Seed=0x1234\n"
				"MaxErrors=10\n"
				"SettleTime=1ms\n"
				"[Traffic]\n"
				"Enable=yes\n"
				"Engine=model\n"
				"Size=2K\n"
				"Rate=1000\n"
				"Verify=yes\n"
				"[Model]\n"
				"Writer=entry-sync\n"
				"Transitions=ss-did fs-did nested-both\n"
				"[Expect]\n"
				"Faults=>=0\n"
				"DmaErrors=0\n"
				"MinRate=10\n"
				"MaxLatencyP99=2ms\n";

/* Bytes that matter to the parser, so mutations reach deep rather than die on line 1. */
static const char fuzz_alphabet[] =
	"[]=.-# \t\n\r;0123456789xXabcdefRIDmaxyesno<>!KMGsµ\xc3\xff\x01";

static void check_result(int r, Scenario *s, const char *error)
{
	ck_assert_msg(r == 0 || r == -EINVAL, "unexpected return %d", r);
	if (r == 0) {
		ck_assert_ptr_nonnull(s);
		ck_assert_ptr_null(error);
		ck_assert_ptr_nonnull(s->backend);
		ck_assert_ptr_nonnull(s->name);
		ck_assert_ptr_nonnull(s->device);
		ck_assert_ptr_nonnull(s->engine);
		ck_assert(s->n_points >= 1 && s->n_points <= SCENARIO_MAX_POINTS);
		ck_assert(s->workers >= 1 &&
			  s->workers <= MIN(s->n_points, (size_t)SCENARIO_MAX_WORKERS));
		ck_assert(s->n_domains >= 2 && s->n_domains <= SCENARIO_MAX_DOMAINS);
		ck_assert(s->map_size > 0 && s->map_size % 4096 == 0);
		ck_assert(s->iova % 4096 == 0);
		ck_assert(s->dma_size >= 1);
		ck_assert(!s->traffic || s->dma_size <= s->map_size);
		ck_assert(!s->traffic || !streq(s->engine, "none"));
		ck_assert(s->rate >= 0 && s->dma_rate >= 0);
		ck_assert(s->n_expect <= _EXPECT_METRIC_MAX);
		if (streq(s->backend, "model"))
			ck_assert(s->n_transitions >= 1 && s->n_transitions <= s->n_points);
		for (size_t i = 0; i < s->n_points; i++)
			ck_assert(s->points[i] == ATTACH_POINT_RID ||
				  (s->points[i] >= 1 && s->points[i] <= PASID_MAX));
	} else {
		ck_assert_ptr_null(s);
		ck_assert_ptr_nonnull(error);
		ck_assert(*error);
		/* One line, whatever the input. */
		ck_assert_ptr_null(strchr(error, '\n'));
	}
}

static void fuzz_one(const char *text, char *const *overrides)
{
	_cleanup_free_ char *error = NULL;
	Scenario *s = NULL;
	int r;

	r = scenario_parse(text, "fuzz.conf", overrides, &s, &error);
	check_result(r, s, error);
	scenario_free(s);
}

START_TEST(test_fuzz_random)
{
	char buf[1024];

	rng_state = UINT64_C(0x9e3779b97f4a7c15);
	for (unsigned iter = 0; iter < 3000; iter++) {
		size_t n = rng() % (sizeof(buf) - 1);

		for (size_t i = 0; i < n; i++) {
			char c = (rng() & 3) ? fuzz_alphabet[rng() % (sizeof(fuzz_alphabet) - 1)]
					     : (char)(rng() & 0xff);
			/* The parser sees a C string: a NUL simply ends the text. */
			buf[i] = c;
		}
		buf[n] = 0;
		fuzz_one(buf, NULL);
	}
}
END_TEST

START_TEST(test_fuzz_mutate)
{
	char buf[sizeof(fuzz_base) * 2 + 64];
	size_t n;

	rng_state = UINT64_C(0xc0ffee1234567);
	for (unsigned iter = 0; iter < 5000; iter++) {
		unsigned edits = 1 + (unsigned)(rng() % 4);

		memcpy(buf, fuzz_base, sizeof(fuzz_base));
		n = sizeof(fuzz_base) - 1;
		for (unsigned e = 0; e < edits; e++) {
			size_t at = n ? rng() % n : 0;
			char c = fuzz_alphabet[rng() % (sizeof(fuzz_alphabet) - 1)];

			switch (rng() % 4) {
			case 0: /* replace a byte */
				if (n)
					buf[at] = c;
				break;
			case 1: /* insert a byte */
				if (n + 1 < sizeof(buf) - 1) {
					memmove(buf + at + 1, buf + at, n - at);
					buf[at] = c;
					n++;
				}
				break;
			case 2: { /* delete a run */
				size_t len = (size_t)(rng() % 8);

				/* Not MIN(rng() % 8, …): the macro would draw twice. */
				len = MIN(len, n - at);

				memmove(buf + at, buf + at + len, n - at - len);
				n -= len;
				break;
			}
			case 3: { /* repeat a run elsewhere */
				size_t len = (size_t)(rng() % 24), to = n ? rng() % n : 0;

				len = MIN(len, n - at);

				if (n + len < sizeof(buf) - 1) {
					char tmp[24];

					memcpy(tmp, buf + at, len);
					memmove(buf + to + len, buf + to, n - to);
					memcpy(buf + to, tmp, len);
					n += len;
				}
				break;
			}
			}
			buf[n] = 0;
		}
		buf[n] = 0;
		fuzz_one(buf, NULL);
	}
}
END_TEST

START_TEST(test_fuzz_overrides)
{
	static const char *const keys[] = {
		"Scenario.Backend", "Scenario.Device",	 "Scenario.Bind",  "Attach.Points",
		"Attach.Workers",   "Domains.Count",	 "Domains.Layout", "Domains.IOVA",
		"Domains.MapSize",  "Replace.Pattern",	 "Replace.Rate",   "Replace.Count",
		"Replace.Duration", "Traffic.Enable",	 "Traffic.Engine", "Traffic.Size",
		"Model.Writer",	    "Model.Transitions", "Expect.Faults",  "Expect.DmaErrors",
		"Expect.MinRate",   "Replace.Bogus",	 "Nowhere.Key",	   "NoDot",
	};
	static const char *const values[] = {
		"",	  "0",
		"1",	  "2",
		"yes",	  "no",
		"max",	  "model",
		"mock",	  "vfio",
		"edu",	  "none",
		"RID",	  "RID 1-3",
		"1-4096", "00:03.0",
		"4K",	  "128K",
		"1G",	  "2G",
		"ss-did", "fs-did ss-did",
		">0",	  "<0",
		"1M",	  "5s",
		"0x1001", "abc",
		"=",	  "missing-range",
		"random", "257",
	};

	rng_state = UINT64_C(0x5eed);
	for (unsigned iter = 0; iter < 3000; iter++) {
		char storage[4][96];
		char *ov[5] = {};
		unsigned n = (unsigned)(rng() % 5);

		for (unsigned i = 0; i < n; i++) {
			snprintf(storage[i], sizeof(storage[i]), "%s=%s",
				 keys[rng() % ELEMENTSOF(keys)],
				 values[rng() % ELEMENTSOF(values)]);
			ov[i] = storage[i];
		}
		fuzz_one(fuzz_base, ov);
	}
}
END_TEST

/* Where a key got its value, for errors the device finds after parsing. */
START_TEST(test_key_where)
{
	char *const overrides[] = {"Traffic.QueueDepth=16", NULL};
	_cleanup_(scenario_freep) Scenario *s =
		parse_ok(VFIO "[Traffic]\nEngine=nvme\nNamespace=3\nNamespace=2\nSize=4K\n", "n.conf",
			 overrides);
	_cleanup_free_ char *ns = scenario_key_where(s, "Traffic.Namespace", "2");
	_cleanup_free_ char *depth = scenario_key_where(s, "Traffic.QueueDepth", "16");
	_cleanup_free_ char *lba = scenario_key_where(s, "Traffic.NvmeLBA", "0+0");

	ck_assert_str_eq(ns, "n.conf:7: [Traffic] Namespace=2");
	ck_assert_str_eq(depth, "override Traffic.QueueDepth=16");
	ck_assert_str_eq(lba, "[Traffic] NvmeLBA=0+0 (the default)");
}
END_TEST

static Suite *scenario_suite(void)
{
	Suite *s = suite_create("scenario");
	TCase *tc;

	tc = tcase_create("errors");
	tcase_add_loop_test(tc, test_errors, 0, ELEMENTSOF(bad_cases));
	tcase_add_test(tc, test_error_text_limits);
	tcase_add_test(tc, test_source_null_in_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("values");
	tcase_add_test(tc, test_key_where);
	tcase_add_loop_test(tc, test_good_values, 0, ELEMENTSOF(good_cases));
	tcase_add_test(tc, test_defaults_model);
	tcase_add_test(tc, test_defaults_mock);
	tcase_add_test(tc, test_defaults_vfio);
	tcase_add_loop_test(tc, test_default_name, 0, ELEMENTSOF(name_cases));
	tcase_add_test(tc, test_points);
	tcase_add_test(tc, test_transitions);
	tcase_add_loop_test(tc, test_expect_forms, 0, ELEMENTSOF(expect_cases));
	tcase_add_test(tc, test_expect_last_wins);
	tcase_add_loop_test(tc, test_expectation_holds, 0, ELEMENTSOF(holds_cases));
	tcase_add_test(tc, test_strings);
	suite_add_tcase(s, tc);

	tc = tcase_create("syntax");
	tcase_add_test(tc, test_syntax);
	tcase_add_test(tc, test_overrides);
	suite_add_tcase(s, tc);

	tc = tcase_create("examples");
	tcase_add_test(tc, test_examples);
	tcase_add_test(tc, test_examples_all);
	suite_add_tcase(s, tc);

	tc = tcase_create("fuzz");
	/* Under valgrind the loops take a while. */
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_fuzz_random);
	tcase_add_test(tc, test_fuzz_mutate);
	tcase_add_test(tc, test_fuzz_overrides);
	suite_add_tcase(s, tc);

	return s;
}

int main(void)
{
	return check_run(scenario_suite());
}
