//! `skel.attach()` of a `SEC("usdt//proc/self/exe:lskel_auto:tick")` program
//! (tests/bpf/usdt_auto.bpf.c) to a hand-written `<sys/sdt.h>`-style probe of this binary (see
//! tests/usdt.rs for the note layout), with one register argument and no semaphore.

#![cfg(target_arch = "x86_64")]

lskel::bpf_skeleton!("bpf/usdt_auto.bpf.o");

/// USDT probe `lskel_auto:tick(long v)`.
#[inline(never)]
fn tick(v: i64) {
    // SAFETY: the block executes only a `nop`; the rest are assembler directives that put the
    // probe's note (and, once per object, `_.stapsdt.base`) into sections of their own.
    unsafe {
        std::arch::asm!(
            "990: nop",
            ".pushsection .note.stapsdt,\"\",@note",
            ".balign 4",
            ".4byte 992f-991f, 994f-993f, 3",
            "991: .asciz \"stapsdt\"",
            "992: .balign 4",
            "993: .8byte 990b",
            ".8byte _.stapsdt.base",
            ".8byte 0",
            ".asciz \"lskel_auto\"",
            ".asciz \"tick\"",
            ".asciz \"-8@{v}\"",
            "994: .balign 4",
            ".popsection",
            ".ifndef _.stapsdt.base",
            ".pushsection .stapsdt.base,\"aG\",@progbits,.stapsdt.base,comdat",
            ".weak _.stapsdt.base",
            ".hidden _.stapsdt.base",
            "_.stapsdt.base: .space 1",
            ".size _.stapsdt.base, 1",
            ".popsection",
            ".endif",
            v = in(reg) v,
            options(att_syntax, nostack, readonly, preserves_flags),
        );
    }
}

#[test]
fn attach_finds_the_usdt_probe_of_this_binary() {
    lskel_tests::require_kernel!();
    let mut skel = usdt_auto::open().load().expect("load usdt_auto");
    skel.attach().expect("attach()");
    assert!(skel.links().tick().is_some());
    for v in 1..=4 {
        tick(v * 10);
    }
    assert_eq!(skel.bss().ticks(), 4);
    assert_eq!(skel.bss().tick_sum(), 100);
    assert!(skel.links_mut().detach_tick());
    tick(1);
    assert_eq!(skel.bss().ticks(), 4, "detached usdt probe still runs");
    // Re-attaching takes a spec id again.
    skel.attach().expect("attach() again");
    tick(5);
    assert_eq!(skel.bss().ticks(), 5);
    assert_eq!(skel.bss().tick_sum(), 105);
}
