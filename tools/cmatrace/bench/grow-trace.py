#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Make a trace.dat TIMES times longer: its recorded trace data again and
again, each copy later than the one before (every ring-buffer page's
timestamp moved on by the length of the trace), everything else as it was.

    grow-trace.py IN.dat OUT.dat TIMES

For the benchmark on a trace of 10M events: recording one on the virtual
board (gen-trace.sh) takes over an hour under TCG, while the events of a
1.9M-event recording six times over are the same kind of events, read by
the same code. Reads and writes what trace-cmd 3.1 records by default:
file version 7, little endian, zstd (libzstd through ctypes) or no
compression, one instance. Anything else: one line, exit 1.
"""
import ctypes
import ctypes.util
import struct
import sys


def die(msg):
    print("grow-trace: " + msg, file=sys.stderr)
    sys.exit(1)


class Zstd:
    def __init__(self):
        name = ctypes.util.find_library("zstd")
        if not name:
            die("libzstd not found")
        z = ctypes.CDLL(name)
        z.ZSTD_decompress.restype = ctypes.c_size_t
        z.ZSTD_decompress.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t]
        z.ZSTD_compress.restype = ctypes.c_size_t
        z.ZSTD_compress.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int]
        z.ZSTD_compressBound.restype = ctypes.c_size_t
        z.ZSTD_compressBound.argtypes = [ctypes.c_size_t]
        z.ZSTD_isError.restype = ctypes.c_uint
        z.ZSTD_isError.argtypes = [ctypes.c_size_t]
        self.z = z

    def decompress(self, data, usize):
        out = ctypes.create_string_buffer(usize)
        n = self.z.ZSTD_decompress(out, usize, data, len(data))
        if self.z.ZSTD_isError(n) or n != usize:
            die("a chunk does not decompress")
        return out.raw

    def compress(self, data):
        cap = self.z.ZSTD_compressBound(len(data))
        out = ctypes.create_string_buffer(cap)
        n = self.z.ZSTD_compress(out, cap, data, len(data), 3)
        if self.z.ZSTD_isError(n):
            die("zstd compression failed")
        return out.raw[:n]


def cstr(d, p):
    e = d.index(b"\0", p)
    return d[p:e], e + 1


def main():
    if len(sys.argv) != 4 or not sys.argv[3].isdigit() or int(sys.argv[3]) < 1:
        die("usage: grow-trace.py IN.dat OUT.dat TIMES")
    src, dst, times = sys.argv[1], sys.argv[2], int(sys.argv[3])
    d = open(src, "rb").read()
    if d[:10] != b"\x17\x08Dtracing":
        die(src + ": not a trace.dat")
    ver, p = cstr(d, 10)
    if ver != b"7" or d[p] != 0:
        die(src + ": not a little-endian version 7 file")
    page = struct.unpack_from("<I", d, p + 2)[0]
    comp, p = cstr(d, p + 6)
    _, p = cstr(d, p)
    if comp not in (b"zstd", b"none"):
        die(src + ": compression %s" % comp.decode())
    z = Zstd() if comp == b"zstd" else None
    # the options sections: the one whose DONE leads to the BUFFER option
    opt, prev_done, buf = struct.unpack_from("<Q", d, p)[0], None, None
    while opt:
        sid, flags, _, size = struct.unpack_from("<HHIQ", d, opt)
        if sid != 0 or flags:
            die(src + ": a compressed or unknown options section")
        q, end, nxt = opt + 16, opt + 16 + size, 0
        while q < end:
            oid, osz = struct.unpack_from("<HI", d, q)
            if oid == 0:
                nxt = struct.unpack_from("<Q", d, q + 6)[0]
                done_at = q + 6
            elif oid == 3:
                if buf:
                    die(src + ": more than one instance")
                buf = (opt, q + 6, osz)
            q += 6 + osz
        if buf and buf[0] == opt:
            break
        prev_done = done_at
        opt = nxt
    if not buf or prev_done is None:
        die(src + ": no BUFFER option in a later options section")
    sec2, bopt, bsz = buf
    bo = d[bopt:bopt + bsz]
    fly = struct.unpack_from("<Q", bo)[0]
    name, r = cstr(bo, 8)
    clock, r = cstr(bo, r)
    bpage, ncpu = struct.unpack_from("<II", bo, r)
    r += 8
    cpus = [struct.unpack_from("<IQQ", bo, r + 20 * i) for i in range(ncpu)]
    fsid, fflags = struct.unpack_from("<HH", d, fly)
    compressed = bool(fflags & 1)
    if name or bpage != page or (compressed and not z):
        die(src + ": not the one top instance of the file's page size")
    last = max(cpus, key=lambda c: c[1])
    if prev_done >= cpus[0][1] or sec2 != last[1] + last[2] + (4 if compressed else 0):
        die(src + ": not laid out as trace-cmd 3.1 writes it")

    def pages_of(cpu):
        """The CPU's data as a list of (compressed?) chunks of pages."""
        _, off, size = cpu
        if not size:
            return []
        if not compressed:
            return [d[off:off + size]]
        count = struct.unpack_from("<I", d, off)[0]
        q, out = off + 4, []
        for _ in range(count):
            cs, us = struct.unpack_from("<II", d, q)
            out.append(z.decompress(d[q + 8:q + 8 + cs], us))
            q += 8 + cs
        return out

    data = [pages_of(c) for c in cpus]
    ts = [struct.unpack_from("<Q", ch, o)[0] for cpu in data for ch in cpu for o in range(0, len(ch) - 7, page)]
    ts = [t for t in ts if t]
    if not ts:
        die(src + ": no trace data")
    span = max(ts) - min(ts) + 1000000000

    out = bytearray(d[:cpus[0][1]])
    new_cpus = []
    for i, cpu in enumerate(data):
        off = len(out)
        if compressed:
            out += struct.pack("<I", len(cpu) * times)
        for k in range(times):
            for ch in cpu:
                b = bytearray(ch)
                for o in range(0, len(b) - 7, page):
                    t = struct.unpack_from("<Q", b, o)[0]
                    if t:
                        struct.pack_into("<Q", b, o, t + k * span)
                if compressed:
                    c = z.compress(bytes(b))
                    out += struct.pack("<II", len(c), len(b)) + c
                else:
                    out += b
        size = len(out) - off - (4 if compressed else 0)
        new_cpus.append((cpus[i][0], off if cpus[i][2] else 0, size if cpus[i][2] else 0))
        if i + 1 < len(data):
            out += bytes(-len(out) % page)
    end = len(out)
    # the data section's size, the BUFFER option, the DONE that leads there
    struct.pack_into("<Q", out, fly + 8, end - (fly + 16))
    bo = bytearray(bo)
    for i, (cid, off, size) in enumerate(new_cpus):
        struct.pack_into("<IQQ", bo, r + 20 * i, cid, off, size)
    out += d[sec2:bopt] + bo + d[bopt + bsz:sec2 + 16 + struct.unpack_from("<Q", d, sec2 + 8)[0]]
    struct.pack_into("<Q", out, prev_done, end)
    open(dst, "wb").write(out)
    print("grow-trace: %s: %d copies of %s's trace data" % (dst, times, src))


if __name__ == "__main__":
    main()
