#!/usr/bin/env bash
# Rebuild the bad (and not-quite-right) objects used by the lskel UI tests.
#
#   ui-tests/objects/build.sh        # from any directory
#
# Every output is committed; the UI tests only read them. Sources are in src/.
#
#   not_elf.bpf.o           a text file (src/not_elf.txt) with a BPF object's name
#   x86_64.o                a host x86-64 relocatable object (gcc -c)
#   big_endian.bpf.o        src/minimal.bpf.c built with -target bpfeb
#   no_btf.bpf.o            src/minimal.bpf.c built without -g, so it has no .BTF
#   truncated.bpf.o         the first 100 bytes of a valid object (src/minimal.bpf.c)
#   unknown_section.bpf.o   a program in SEC("nonsense/foo")
#   unknown_map_field.bpf.o a .maps map with an unknown field (`colour`)
#   bad_map_type.bpf.o      a .maps map with type 200
#
# Environment overrides: CLANG (default clang-19), STRIP (default llvm-strip-19), CC (default gcc).
set -euo pipefail

DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CLANG="${CLANG:-clang-19}"
STRIP="${STRIP:-llvm-strip-19}"
CC="${CC:-gcc}"

cd "$DIR"
# <linux/types.h> includes <asm/types.h>, which lives in the multiarch directory.
MULTIARCH="$("$CC" -print-multiarch 2>/dev/null || true)"
INC=()
[ -n "$MULTIARCH" ] && [ -d "/usr/include/$MULTIARCH" ] && INC=(-I "/usr/include/$MULTIARCH")

# bpf TARGET SRC OUT [extra clang flags]: paths relative to this directory, and the directory
# mapped out of the debug info, so the objects do not depend on where the repository lives.
bpf() {
    local target="$1" src="$2" out="$3"
    shift 3
    echo "  CC  ui-tests/objects/$out"
    "$CLANG" -O2 -target "$target" -mcpu=v3 -Wall "${INC[@]}" \
        -fdebug-prefix-map="$DIR"=. "$@" -c "$src" -o "$out"
    # Drop DWARF, keep .BTF/.BTF.ext/.symtab (all lskel reads); a no-op without -g.
    "$STRIP" -g "$out"
}

echo "  CP  ui-tests/objects/not_elf.bpf.o"
cp src/not_elf.txt not_elf.bpf.o

echo "  CC  ui-tests/objects/x86_64.o"
"$CC" -O2 -fno-asynchronous-unwind-tables -fno-ident -c src/x86_64.c -o x86_64.o

bpf bpfeb src/minimal.bpf.c big_endian.bpf.o -g
bpf bpf src/minimal.bpf.c no_btf.bpf.o
bpf bpf src/unknown_section.bpf.c unknown_section.bpf.o -g
bpf bpf src/unknown_map_field.bpf.c unknown_map_field.bpf.o -g
bpf bpf src/bad_map_type.bpf.c bad_map_type.bpf.o -g

echo "  CUT ui-tests/objects/truncated.bpf.o"
bpf bpf src/minimal.bpf.c minimal.tmp.o -g
head -c 100 minimal.tmp.o > truncated.bpf.o
rm -f minimal.tmp.o
