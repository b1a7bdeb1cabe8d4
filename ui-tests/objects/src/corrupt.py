#!/usr/bin/env python3
"""Corrupts one section dumped (llvm-objcopy --dump-section) from src/minimal.bpf.c's object.

    corrupt.py MODE IN OUT

MODE (IN is the section named in brackets):
  missing_type     [.BTF]      the VAR `runs` refers to type id 9999, which does not exist
  truncated_btf    [.BTF]      cut to the header and half the type section; the header still
                               claims the full type and string sections
  bad_string_off   [.BTF]      the FUNC `minimal` gets a name offset 0x1000 past the strings
  btf_ext_count    [.BTF.ext]  the func_info record count of the first section is 1000
  not_ld_imm64     [syscall]   the ld_imm64 at instruction 0 (relocated against `runs`) gets
                               opcode 0xb7 (mov64 imm)

Written for build.sh; every change is checked, so a compiler that lays the object out
differently makes this fail instead of silently producing a different corruption.
"""
import struct
import sys

# BTF kind -> number of extra 32-bit words, given vlen.
EXTRA = {
    1: lambda v: 1,      # INT
    2: lambda v: 0,      # PTR
    3: lambda v: 3,      # ARRAY
    4: lambda v: 3 * v,  # STRUCT
    5: lambda v: 3 * v,  # UNION
    6: lambda v: 2 * v,  # ENUM
    7: lambda v: 0,      # FWD
    8: lambda v: 0,      # TYPEDEF
    9: lambda v: 0,      # VOLATILE
    10: lambda v: 0,     # CONST
    11: lambda v: 0,     # RESTRICT
    12: lambda v: 0,     # FUNC
    13: lambda v: 2 * v, # FUNC_PROTO
    14: lambda v: 1,     # VAR
    15: lambda v: 3 * v, # DATASEC
    16: lambda v: 0,     # FLOAT
    17: lambda v: 1,     # DECL_TAG
    18: lambda v: 0,     # TYPE_TAG
    19: lambda v: 3 * v, # ENUM64
}


def btf_types(data):
    """Yields (id, byte offset in data, kind, name) for every type of a .BTF section."""
    magic, _ver, _flags, hdr_len, type_off, type_len, str_off, str_len = struct.unpack_from(
        "<HBBIIIII", data, 0)
    assert magic == 0xEB9F, "not little-endian BTF"
    types = hdr_len + type_off
    strs = data[hdr_len + str_off: hdr_len + str_off + str_len]
    off, tid = 0, 1
    while off < type_len:
        name_off, info, _ = struct.unpack_from("<III", data, types + off)
        kind, vlen = (info >> 24) & 0x1F, info & 0xFFFF
        name = strs[name_off: strs.index(b"\0", name_off)].decode()
        yield tid, types + off, kind, name
        off += 12 + 4 * EXTRA[kind](vlen)
        tid += 1


def find(data, kind, name):
    for tid, at, k, n in btf_types(data):
        if k == kind and n == name:
            return at
    sys.exit(f"corrupt.py: no BTF type of kind {kind} named `{name}`")


def main():
    mode, src, dst = sys.argv[1:]
    data = bytearray(open(src, "rb").read())
    if mode == "missing_type":
        at = find(data, 14, "runs")                  # VAR runs: its type is at +8
        struct.pack_into("<I", data, at + 8, 9999)
    elif mode == "truncated_btf":
        hdr_len, _, type_len = struct.unpack_from("<III", data, 4)
        data = data[: hdr_len + type_len // 2]
    elif mode == "bad_string_off":
        str_len = struct.unpack_from("<I", data, 20)[0]
        at = find(data, 12, "minimal")               # FUNC minimal: name_off is at +0
        struct.pack_into("<I", data, at, str_len + 0x1000)
    elif mode == "btf_ext_count":
        hdr_len, func_off, func_len = struct.unpack_from("<III", data, 4)
        assert func_len > 0, "no func_info"
        # func_info: rec_size, then per section: sec_name_off, num_info, records.
        struct.pack_into("<I", data, hdr_len + func_off + 8, 1000)
    elif mode == "not_ld_imm64":
        assert data[0] == 0x18, f"instruction 0 has opcode {data[0]:#04x}, not ld_imm64"
        data[0] = 0xB7
    else:
        sys.exit(f"corrupt.py: unknown mode {mode}")
    open(dst, "wb").write(data)


main()
