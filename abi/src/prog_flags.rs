//! `prog_flags` bits of `BPF_PROG_LOAD`, by kernel name without `BPF_F_`.

c_values! { u32;
    "BPF_F_STRICT_ALIGNMENT" => STRICT_ALIGNMENT = 1 << 0;
    "BPF_F_ANY_ALIGNMENT" => ANY_ALIGNMENT = 1 << 1;
    "BPF_F_TEST_RND_HI32" => TEST_RND_HI32 = 1 << 2;
    "BPF_F_TEST_STATE_FREQ" => TEST_STATE_FREQ = 1 << 3;
    "BPF_F_SLEEPABLE" => SLEEPABLE = 1 << 4;
    "BPF_F_XDP_HAS_FRAGS" => XDP_HAS_FRAGS = 1 << 5;
    "BPF_F_XDP_DEV_BOUND_ONLY" => XDP_DEV_BOUND_ONLY = 1 << 6;
    "BPF_F_TEST_REG_INVARIANTS" => TEST_REG_INVARIANTS = 1 << 7;
    "BPF_F_TOKEN_FD" => TOKEN_FD = 1 << 16;
}

/// Every flag a 6.18 kernel accepts; `BPF_PROG_LOAD` refuses any other bit.
pub const ALL: u32 = STRICT_ALIGNMENT
    | ANY_ALIGNMENT
    | TEST_RND_HI32
    | TEST_STATE_FREQ
    | SLEEPABLE
    | XDP_HAS_FRAGS
    | XDP_DEV_BOUND_ONLY
    | TEST_REG_INVARIANTS
    | TOKEN_FD;
