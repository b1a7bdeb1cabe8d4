// SPDX-License-Identifier: GPL-2.0
/*
 * sec_refused_new.bpf.c - refused sections newer than libbpf 1.1, all in `?`
 * sections (autoload off), plus one syscall program that loads. Refused here:
 * sleepable tp / raw_tp / tp_btf: EINVAL (the verifier lets only
 * fentry/fexit/fmod_ret/lsm/iter/uprobe/struct_ops programs sleep);
 * struct_ops.s without a .struct_ops map: ENOTSUPP (524).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

__u64 n_alive;
__u64 n_refused;

#define BUMP(name) __sync_fetch_and_add(&n_##name, 1)

SEC("syscall") int alive(void *ctx) { BUMP(alive); return 0; }

SEC("?tp.s/syscalls/sys_enter_getpid") int tp_s(void *ctx) { BUMP(refused); return 0; }
SEC("?raw_tp.s/sys_enter") int raw_tp_s(void *ctx) { BUMP(refused); return 0; }
SEC("?tp_btf.s/sys_enter") int tp_btf_s(void *ctx) { BUMP(refused); return 0; }
SEC("?struct_ops.s/lskel_op_s") int so_op_s(void *ctx) { BUMP(refused); return 0; }

char LICENSE[] SEC("license") = "GPL";
