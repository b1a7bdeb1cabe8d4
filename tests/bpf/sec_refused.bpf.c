// SPDX-License-Identifier: GPL-2.0
/*
 * sec_refused.bpf.c - sections this kernel refuses to load, all in `?`
 * sections (autoload off), plus one syscall program that loads; every
 * section here is known to libbpf 1.1. Refused here: LSM (lsm, lsm.s,
 * lsm_cgroup) and sleepable fentry/fexit/fmod_ret: EPERM (lockdown);
 * lirc_mode2: EINVAL (no CONFIG_BPF_LIRC_MODE2); struct_ops without a
 * .struct_ops map: ENOTSUPP (524, no attach BTF id).
 * The refused sections newer than libbpf 1.1 are in sec_refused_new.bpf.c.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

__u64 n_alive;
__u64 n_refused;

#define BUMP(name) __sync_fetch_and_add(&n_##name, 1)

SEC("syscall") int alive(void *ctx) { BUMP(alive); return 0; }

SEC("?lsm/file_open") int lsm_prog(void *ctx) { BUMP(refused); return 0; }
SEC("?lsm.s/file_open") int lsm_s(void *ctx) { BUMP(refused); return 0; }
SEC("?lsm_cgroup/socket_bind") int lsm_cg(void *ctx) { BUMP(refused); return 1; }
SEC("?fentry.s/do_nanosleep") int fentry_s(void *ctx) { BUMP(refused); return 0; }
SEC("?fexit.s/do_nanosleep") int fexit_s(void *ctx) { BUMP(refused); return 0; }
SEC("?fmod_ret.s/do_nanosleep") int fmod_ret_s(void *ctx) { BUMP(refused); return 0; }
SEC("?lirc_mode2") int lirc_prog(unsigned int *sample) { BUMP(refused); return 0; }
SEC("?struct_ops/lskel_op") int so_op(void *ctx) { BUMP(refused); return 0; }

char LICENSE[] SEC("license") = "GPL";
