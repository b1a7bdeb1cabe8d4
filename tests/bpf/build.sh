#!/usr/bin/env bash
# Rebuild the BPF test fixtures of lskel.
#
#   tests/bpf/build.sh            # from any directory
#
# 1. regenerates include/vmlinux.h from the running kernel's BTF (gitignored)
# 2. compiles every *.bpf.c in this directory into <name>.bpf.o (committed)
#
# Environment overrides: CLANG (default clang-19), STRIP (default llvm-strip-19),
# BPFTOOL (default bpftool),
# VMLINUX_BTF (default /sys/kernel/btf/vmlinux).
set -euo pipefail

DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CLANG="${CLANG:-clang-19}"
STRIP="${STRIP:-llvm-strip-19}"
BPFTOOL="${BPFTOOL:-bpftool}"
VMLINUX_BTF="${VMLINUX_BTF:-/sys/kernel/btf/vmlinux}"
# <bpf/usdt.bpf.h> includes <linux/errno.h>, which needs the host's <asm/errno.h>.
# Only sources including it get the multiarch directory (searched last): adding it
# to every compile changes the bytes of some other objects.
MULTIARCH="${MULTIARCH:-$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)}"

cd "$DIR"
mkdir -p include
"$BPFTOOL" btf dump file "$VMLINUX_BTF" format c > include/vmlinux.h.tmp
mv include/vmlinux.h.tmp include/vmlinux.h

# Compile with paths relative to this directory and map the directory out of
# the DWARF comp_dir so the objects do not depend on where the repo lives.
shopt -s nullglob
srcs=(*.bpf.c)
if [ ${#srcs[@]} -eq 0 ]; then
    echo "build.sh: no *.bpf.c in $DIR" >&2
    exit 1
fi
for src in "${srcs[@]}"; do
    obj="${src%.c}.o"
    extra=()
    if grep -q '<bpf/usdt.bpf.h>' "$src"; then
        extra=(-idirafter "/usr/include/$MULTIARCH")
    fi
    echo "  CC  tests/bpf/$obj"
    "$CLANG" -g -O2 -target bpf -D__TARGET_ARCH_x86 -mcpu=v3 \
        -I include "${extra[@]}" -Wall \
        -fdebug-prefix-map="$DIR"=. \
        -c "$src" -o "$obj"
    # Drop DWARF (vmlinux.h types make it ~600 KB); .BTF, .BTF.ext and the
    # symbol table stay, which is all libbpf / lskel-gen read.
    "$STRIP" -g "$obj"
done
