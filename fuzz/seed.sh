#!/usr/bin/env bash
# Fills the (gitignored) seed corpora from the repository's committed objects; nothing is copied
# into git. Safe to run again: it only adds files.
#   corpus/generate/  every tests/bpf/*.bpf.o and ui-tests/objects/* (the good and the bad ones)
#   corpus/btf/       the .BTF section of each of those objects that has one
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
mkdir -p "$here/corpus/generate" "$here/corpus/btf"

objcopy_bin=""
for c in llvm-objcopy-19 llvm-objcopy objcopy; do
    if command -v "$c" >/dev/null; then objcopy_bin="$c"; break; fi
done

scratch="$(mktemp)"
trap 'rm -f "$scratch"' EXIT
n_gen=0 n_btf=0
for obj in "$root"/tests/bpf/*.bpf.o "$root"/ui-tests/objects/*; do
    [ -f "$obj" ] || continue
    case "$obj" in *.sh) continue ;; esac
    base="$(basename "$obj")"
    dir="$(basename "$(dirname "$obj")")"
    cp "$obj" "$here/corpus/generate/$dir-$base"
    n_gen=$((n_gen + 1))
    if [ -n "$objcopy_bin" ]; then
        out="$here/corpus/btf/$dir-${base%.o}.BTF"
        # --dump-section, not -O binary: .BTF is not an allocated section.
        if "$objcopy_bin" --dump-section ".BTF=$out" "$obj" "$scratch" 2>/dev/null && [ -s "$out" ]; then
            n_btf=$((n_btf + 1))
        else
            rm -f "$out"
        fi
    fi
done
echo "seeded $n_gen objects into corpus/generate, $n_btf .BTF sections into corpus/btf"
[ -n "$objcopy_bin" ] || echo "note: no objcopy found; corpus/btf left without seeds" >&2
