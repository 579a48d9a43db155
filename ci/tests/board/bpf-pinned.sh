#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Board test of cmafail's attribution: one in-use page of the CMA area is
# pinned through /dev/cma_bench, then the whole area is requested. The
# allocation must fail with -EBUSY and cmafail must name exactly that pfn
# with reason "pinned": from the kernel's cma_busy_page on the patched
# path, inferred from the page's state on the stock path (--stock).
# Needs the patched kernel (/dev/cma_bench); skipped on a stock build.
. "$(dirname "$0")/lib.sh"

area=$(cma_default_area)
if [ ! -e /dev/cma_bench ]; then
	t_skip "cmafail names a pinned pfn" "kernel without the cmakit series (no /dev/cma_bench)"
	t_done
	exit
fi
if [ ! -x "$BPF/cmafail" ]; then
	t_fail "cmafail is built" "$BPF/cmafail missing (make bpf)"
	t_done
	exit
fi

# pin PATH-OPTIONS...: prints "pinned_pfn alloc_error records" and, per
# cmafail record, "errno busy_pfn reason reason_source stage"
pin() {
	/usr/bin/python3 - "$area" "$BPF/cmafail" "$@" <<'PY'
import fcntl, json, mmap, os, signal, struct, subprocess, sys, time
area, cmafail, opts = sys.argv[1], sys.argv[2], sys.argv[3:]
AREA, ALLOC, PIN, HANDLE = "=II QQ64s", "=64sQIIQQQIi", "=64sQQIIQQ", "=Q"
def ioc(d, nr, fmt):
    return (d << 30) | (struct.calcsize(fmt) << 16) | (0xCB << 8) | nr
IOC_AREA, IOC_ALLOC = ioc(3, 0x20, AREA), ioc(3, 0x21, ALLOC)
IOC_FREE, IOC_PIN, IOC_UNPIN = ioc(1, 0x22, HANDLE), ioc(3, 0x23, PIN), ioc(1, 0x24, HANDLE)
name = area.encode()
dev = os.open("/dev/cma_bench", os.O_RDWR)
i = 0
while True:
    _, opb, base, count, n = struct.unpack(AREA, fcntl.ioctl(dev, IOC_AREA, struct.pack(AREA, i, 0, 0, 0, b"")))
    if n.rstrip(b"\0") == name:
        break
    i += 1
# Fill memory with anonymous pages until some land in the area: movable
# allocations use CMA once it is more than half of the free memory.
def lru_in_area():
    with open("/proc/kpageflags", "rb") as f:
        f.seek(base * 8)
        data = f.read(count * 8)
    return sum(1 for k in range(0, len(data), 8) if data[k] & (1 << 5))
def avail_mb():
    for l in open("/proc/meminfo"):
        if l.startswith("MemAvailable:"):
            return int(l.split()[1]) // 1024
hog = []
while lru_in_area() < 64 and avail_mb() > 200:
    m = mmap.mmap(-1, 32 << 20)
    for off in range(0, 32 << 20, 4096):
        m[off] = 1
    hog.append(m)
res = fcntl.ioctl(dev, IOC_PIN, struct.pack(PIN, name, 0, 1, 0, 0, 0, 0))
_, _, _, _, pinned, handle, first = struct.unpack(PIN, res)
for m in hog:
    m.close()
hog = None
# the pinned page stays: an anonymous page whose only reference is the pin
err_log = open("/tmp/cmafail-pin.err", "w+")
tool = subprocess.Popen([cmafail, "-j", "-n"] + opts, stdout=subprocess.PIPE, stderr=err_log)
for _ in range(600):
    err_log.seek(0)
    if "tracing" in err_log.read():
        break
    time.sleep(0.1)
res = fcntl.ioctl(dev, IOC_ALLOC, struct.pack(ALLOC, name, count, 0, 0, 0, 0, 0, 0, 0))
alloc = struct.unpack(ALLOC, res)
if alloc[8] == 0:
    fcntl.ioctl(dev, IOC_FREE, struct.pack(HANDLE, alloc[4]))
time.sleep(0.5)
tool.send_signal(signal.SIGINT)
out = tool.communicate()[0]
fcntl.ioctl(dev, IOC_UNPIN, struct.pack(HANDLE, handle))
os.close(dev)
doc = json.loads(out)
print(first if pinned == 1 else -1, alloc[8], len(doc["records"]), tool.returncode)
for r in doc["records"]:
    print(r["errno"], r["busy_pfn"], r["reason"], r["reason_source"], r["stage"],
          "|".join((r.get("page") or {}).get("flags") or []) or "-")
PY
}

for path in patched stock; do
	opt=()
	[ $path = stock ] && opt=(--stock)
	out=$(pin "${opt[@]}" 2>&1)
	read -r pfn err n rc <<<"$(echo "$out" | head -n 1)"
	t_diag "$path: pinned pfn $pfn; records: $(echo "$out" | tail -n +2 | tr '\n' ';')"
	if [ -z "${pfn:-}" ] || [ "$pfn" -le 0 ] 2>/dev/null; then
		t_fail "$path: one in-use page of '$area' is pinned" "$(echo "$out" | tail -n 5)"
		continue
	fi
	want=kernel
	[ $path = stock ] && want=inferred
	t_eq "$path: the whole-area allocation fails with -EBUSY" -16 "$err"
	t_eq "$path: cmafail exits 0" 0 "$rc"
	rec=$(echo "$out" | tail -n +2 | awk -v p="$pfn" '$1 == -16 && $2 == p' | head -n 1)
	t_eq "$path: cmafail names pfn $pfn, reason pinned ($want)" "-16 $pfn pinned $want" \
		"$(echo "$rec" | cut -d' ' -f1-4)"
	# The page's state: the kernel's flags (v2) or lru ... locked fields
	# (v1) on the patched path, struct page on the stock path. Python's
	# anonymous mmap is shared memory, truncated when the hog closes: the
	# pinned page is left on the LRU, with no mapping.
	case "|$(echo "$rec" | cut -d' ' -f6)|" in
	*'|lru|'*) t_ok "$path: cmafail says the pinned page is on the LRU ($(echo "$rec" | cut -d' ' -f6))" ;;
	*) t_fail "$path: cmafail says the pinned page is on the LRU" "$rec" ;;
	esac
done
t_done
