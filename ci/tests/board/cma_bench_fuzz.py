# SPDX-License-Identifier: GPL-2.0
"""Random ioctls on /dev/cma_bench: commands, sizes, alignments, pfns, area
names, interleaved close and reopen, fork and exit.

usage: cma_bench_fuzz.py CALLS SEED

Prints one summary line ("calls N ... errno counts") and exits 0 when every
call came back (any errno is fine: the kernel must only not break), 1 when
an ioctl behaved in a way the driver's ABI rules out (ENOTTY for one of its
own commands, success of a call with bad flags), 2 for bad usage. What the
calls held is released by closing the file; the caller checks that nothing
is left.
"""
import errno
import fcntl
import os
import random
import struct
import sys

DEV = "/dev/cma_bench"
NAME_LEN = 64
AREA = "<II QQ 64s".replace(" ", "")
ALLOC = "<64sQIIQQQIi"
PIN = "<64sQQIIQQ"
HANDLE = "<Q"


def ioc(direction, nr, fmt):
    return (direction << 30) | (struct.calcsize(fmt) << 16) | (0xCB << 8) | nr


RW, W = 3, 1
IOC_AREA = ioc(RW, 0x20, AREA)
IOC_ALLOC = ioc(RW, 0x21, ALLOC)
IOC_FREE = ioc(W, 0x22, HANDLE)
IOC_PIN = ioc(RW, 0x23, PIN)
IOC_UNPIN = ioc(W, 0x24, HANDLE)
OWN = {IOC_AREA, IOC_ALLOC, IOC_FREE, IOC_PIN, IOC_UNPIN}


def main():
    if len(sys.argv) != 3 or not sys.argv[1].isdigit():
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    calls, rng = int(sys.argv[1]), random.Random(int(sys.argv[2]))
    fd = os.open(DEV, os.O_RDWR)
    areas = []
    for i in range(64):
        try:
            buf = fcntl.ioctl(fd, IOC_AREA, struct.pack(AREA, i, 0, 0, 0, b""))
        except OSError:
            break
        _, _, base, count, name = struct.unpack(AREA, buf)
        areas.append((name.rstrip(b"\0"), base, count))
    if not areas:
        print("fuzz: /dev/cma_bench lists no area", file=sys.stderr)
        return 1
    allocs, pins, errs, bad = [], [], {}, []
    n = forks = reopens = 0

    def name():
        r = rng.random()
        if r < 0.8:
            return rng.choice(areas)[0]
        if r < 0.9:
            return bytes(rng.randrange(1, 256) for _ in range(rng.randrange(0, NAME_LEN + 8)))[:NAME_LEN]
        return b"no-such-area"

    def pages(count):
        return rng.choice([0, 1, rng.randrange(1, 64), rng.randrange(1, 4096),
                           count, count + 1, rng.getrandbits(64)])

    def call(cmd, arg):
        nonlocal n
        n += 1
        try:
            return fcntl.ioctl(fd, cmd, arg)
        except OSError as e:
            errs[e.errno] = errs.get(e.errno, 0) + 1
            if e.errno == errno.ENOTTY and cmd in OWN:
                bad.append("ENOTTY for command 0x%x" % cmd)
            return None

    while n < calls:
        op = rng.random()
        nm, (aname, base, count) = name(), rng.choice(areas)
        if op < 0.30:
            flags = 0 if rng.random() < 0.9 else rng.getrandbits(32)
            align = rng.choice([0, 0, 1, 4, 9, 31, 63, 64, rng.getrandbits(32)])
            r = call(IOC_ALLOC, struct.pack(ALLOC, nm, pages(count), align, flags, 0, 0, 0, 0, 0))
            if r is not None:
                h = struct.unpack(ALLOC, r)[4]
                if flags:
                    bad.append("ALLOC with flags 0x%x succeeded" % flags)
                if h:
                    allocs.append(h)
        elif op < 0.50 and allocs:
            call(IOC_FREE, struct.pack(HANDLE, allocs.pop(rng.randrange(len(allocs)))))
        elif op < 0.65:
            pfn = rng.choice([0, base, base + rng.randrange(max(count, 1)), base + count,
                              base - 1, rng.getrandbits(64), 1 << 32 | base])
            flags = rng.choice([0, 1, 1, rng.getrandbits(32)])
            r = call(IOC_PIN, struct.pack(PIN, nm, pfn, rng.choice([1, 16, 512, pages(count)]),
                                          flags, 0, 0, 0))
            if r is not None:
                pins.append(struct.unpack(PIN, r)[5])
                if flags & ~1:
                    bad.append("PIN with flags 0x%x succeeded" % flags)
        elif op < 0.75 and pins:
            call(IOC_UNPIN, struct.pack(HANDLE, pins.pop(rng.randrange(len(pins)))))
        elif op < 0.82:
            # handles never issued, or issued to the other kind
            cmd = rng.choice([IOC_FREE, IOC_UNPIN])
            pool = pins if cmd == IOC_FREE else allocs
            h = rng.choice(pool) if pool and rng.random() < 0.5 else rng.getrandbits(64)
            call(cmd, struct.pack(HANDLE, h))
        elif op < 0.86:
            call(IOC_AREA, struct.pack(AREA, rng.choice([0, len(areas), rng.getrandbits(32)]), 0, 0, 0, b""))
        elif op < 0.89:
            # a NULL argument: EFAULT, nothing else
            call(rng.choice(sorted(OWN)), 0)
        elif op < 0.91:
            call(ioc(RW, rng.randrange(0x25, 0x30), ALLOC), bytes(struct.calcsize(ALLOC)))
        elif op < 0.96:
            # the child shares the file: its objects are the file's
            forks += 1
            pid = os.fork()
            if pid == 0:
                try:
                    for _ in range(rng.randrange(1, 8)):
                        try:
                            fcntl.ioctl(fd, IOC_ALLOC, struct.pack(ALLOC, aname, rng.randrange(1, 64), 0, 0, 0, 0, 0, 0, 0))
                        except OSError:
                            pass
                finally:
                    os._exit(0)
            os.waitpid(pid, 0)
            n += 1
        else:
            # close with everything held: the driver releases it
            reopens += 1
            os.close(fd)
            fd = os.open(DEV, os.O_RDWR)
            allocs, pins = [], []
            n += 1
    os.close(fd)
    names = " ".join("%s=%d" % (errno.errorcode.get(k, str(k)), v) for k, v in sorted(errs.items()))
    print("calls %d forks %d reopens %d errnos: %s" % (n, forks, reopens, names or "none"))
    for b in bad[:5]:
        print("fuzz: " + b, file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
