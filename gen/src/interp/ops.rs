//! The step descriptors ("ops") the interpreter loader walks: fixed 24-byte records in the
//! blob, one per elementary action. Every field that names a place is a blob offset (the ctx
//! is read from its copy in the blob's ctx area); the interpreter bounds each one before use.
//!
//! ```text
//! 0  u8  kind       4  u32 step (reported when this op fails; 0: cannot fail)
//! 1  u8  flags      8  u32 a     12 u32 b     16 u32 c     20 u32 d
//! 2  u8  cond
//! ```

use std::fmt;

/// Size of one op record.
pub const OP_SIZE: usize = 24;

/// Byte offsets inside an op record.
pub mod at {
    /// `kind`
    pub const KIND: usize = 0;
    /// `flags`
    pub const FLAGS: usize = 1;
    /// `cond` of a jump
    pub const COND: usize = 2;
    /// `step`
    pub const STEP: usize = 4;
    /// first operand
    pub const A: usize = 8;
    /// second operand
    pub const B: usize = 12;
    /// third operand
    pub const C: usize = 16;
    /// fourth operand
    pub const D: usize = 20;
}

/// Op kinds (the `kind` byte).
pub mod kind {
    /// Stop the walk.
    pub const END: u8 = 0;
    /// `bpf_sys_bpf(a = cmd, &blob[b], c = size)`, result to `blob[d]` when `OUT`.
    pub const SYS: u8 = 1;
    /// `blob[b] = blob[a]` (4 bytes, 8 with `WIDE`).
    pub const COPY: u8 = 2;
    /// `blob[a] = b | c << 32` (4 bytes, 8 with `WIDE`).
    pub const STORE: u8 = 3;
    /// `blob[a] = &blob[b]` (a kernel pointer, 8 bytes).
    pub const PTR: u8 = 4;
    /// `if cond(blob[a] & b, c) pc = d`.
    pub const JUMP: u8 = 5;
    /// When the user pointer at `blob[a]` is not 0: copy `c` bytes from it to `&blob[b]`
    /// (`copy_from_user`, or `probe_read_kernel` when the ctx flags have `SKEL_KERNEL`).
    pub const READ: u8 = 6;
    /// Close the fd at `blob[a]` when it is > 0, and zero the slot.
    pub const CLOSE: u8 = 7;
    /// Fail with `-a`.
    pub const FAIL: u8 = 8;
    /// `blob[d] = bpf_btf_find_by_name_kind(&blob[a], b = size, c = kind, 0)` (8 bytes:
    /// `btf_obj_fd << 32 | btf_id`, the layout of `attach_btf_id, attach_btf_obj_fd`), failing
    /// when the result is negative; with `KSYM`, `bpf_kallsyms_lookup_name(&blob[a], b, 0,
    /// &blob[d])` instead (`d` 8-byte aligned: the helper requires it). With `SOFT`, "not found" (`-ENOENT`, left in the state's `ret`)
    /// does not stop the walk and leaves `blob[d]` as it was.
    pub const FIND: u8 = 9;
}

/// Bits of the `flags` byte.
pub mod flag {
    /// 8-byte COPY / STORE.
    pub const WIDE: u8 = 1;
    /// SYS stores its result.
    pub const OUT: u8 = 2;
    /// A failed SYS (a FIND that found nothing) does not stop the walk (its result stays in
    /// the state's `ret`).
    pub const SOFT: u8 = 4;
    /// FIND looks the name up in kallsyms.
    pub const KSYM: u8 = 8;
    /// The size operand of READ (`c`) or FIND (`b`) is the blob offset of a u32 holding it
    /// (a size from the ctx).
    pub const INDIRECT: u8 = 16;
}

/// Jump conditions (the `cond` byte), on 32 bits.
pub mod cond {
    /// Always.
    pub const ALWAYS: u8 = 0;
    /// `(v & mask) == value`
    pub const EQ: u8 = 1;
    /// `(v & mask) != value`
    pub const NE: u8 = 2;
    /// `(s32)v < (s32)value`
    pub const SLT: u8 = 3;
    /// `(s32)v >= (s32)value`
    pub const SGE: u8 = 4;
}

/// One decoded op.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Op {
    /// [`kind`]
    pub kind: u8,
    /// [`flag`] bits
    pub flags: u8,
    /// [`cond`] of a jump
    pub cond: u8,
    /// The step reported when this op fails.
    pub step: u32,
    /// Operands.
    pub a: u32,
    /// Operands.
    pub b: u32,
    /// Operands.
    pub c: u32,
    /// Operands.
    pub d: u32,
}

impl Op {
    /// An op of `kind` with zero operands.
    pub fn new(kind: u8) -> Op {
        Op {
            kind,
            flags: 0,
            cond: 0,
            step: 0,
            a: 0,
            b: 0,
            c: 0,
            d: 0,
        }
    }

    /// The record bytes.
    pub fn encode(&self) -> [u8; OP_SIZE] {
        let mut r = [0u8; OP_SIZE];
        r[at::KIND] = self.kind;
        r[at::FLAGS] = self.flags;
        r[at::COND] = self.cond;
        for (off, v) in [
            (at::STEP, self.step),
            (at::A, self.a),
            (at::B, self.b),
            (at::C, self.c),
            (at::D, self.d),
        ] {
            r[off..off + 4].copy_from_slice(&v.to_le_bytes());
        }
        r
    }

    /// Decodes a record (`None` when `bytes` is short).
    pub fn decode(bytes: &[u8]) -> Option<Op> {
        let r = bytes.get(..OP_SIZE)?;
        let u = |off: usize| u32::from_le_bytes([r[off], r[off + 1], r[off + 2], r[off + 3]]);
        Some(Op {
            kind: r[at::KIND],
            flags: r[at::FLAGS],
            cond: r[at::COND],
            step: u(at::STEP),
            a: u(at::A),
            b: u(at::B),
            c: u(at::C),
            d: u(at::D),
        })
    }

    /// A size operand as printed: the number, or `[offset]` with `INDIRECT`.
    fn size(&self, v: u32) -> String {
        if self.flags & flag::INDIRECT != 0 {
            format!("[{v:#x}]")
        } else {
            v.to_string()
        }
    }

    fn width(&self) -> u8 {
        if self.flags & flag::WIDE != 0 {
            8
        } else {
            4
        }
    }
}

/// The name of a `bpf(2)` command the ops use.
fn cmd_name(cmd: u32) -> String {
    use lskel_abi::cmd;
    match cmd {
        cmd::MAP_CREATE => "MAP_CREATE".into(),
        cmd::MAP_UPDATE_ELEM => "MAP_UPDATE_ELEM".into(),
        cmd::MAP_FREEZE => "MAP_FREEZE".into(),
        cmd::PROG_LOAD => "PROG_LOAD".into(),
        cmd::BTF_LOAD => "BTF_LOAD".into(),
        other => format!("cmd {other}"),
    }
}

impl fmt::Display for Op {
    /// One line of the op table dump, blob offsets in hex.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let w = self.width();
        match self.kind {
            kind::END => write!(f, "end"),
            kind::SYS => {
                write!(
                    f,
                    "sys {} attr {:#x} size {}",
                    cmd_name(self.a),
                    self.b,
                    self.c
                )?;
                if self.flags & flag::OUT != 0 {
                    write!(f, " -> [{:#x}]", self.d)?;
                }
                if self.flags & flag::SOFT != 0 {
                    write!(f, " (soft)")?;
                }
                Ok(())
            }
            kind::COPY => write!(f, "copy{w} [{:#x}] -> [{:#x}]", self.a, self.b),
            kind::STORE => {
                let v = u64::from(self.b) | (u64::from(self.c) << 32);
                write!(f, "store{w} [{:#x}] = {v:#x}", self.a)
            }
            kind::PTR => write!(f, "ptr [{:#x}] = &blob[{:#x}]", self.a, self.b),
            kind::JUMP => {
                let what = match self.cond {
                    cond::ALWAYS => return write!(f, "goto {}", self.d),
                    cond::EQ => "==",
                    cond::NE => "!=",
                    cond::SLT => "s<",
                    _ => "s>=",
                };
                if self.b == u32::MAX {
                    write!(f, "if [{:#x}] {what} {:#x} goto {}", self.a, self.c, self.d)
                } else {
                    write!(
                        f,
                        "if [{:#x}] & {:#x} {what} {:#x} goto {}",
                        self.a, self.b, self.c, self.d
                    )
                }
            }
            kind::READ => write!(
                f,
                "read {} bytes from user ptr [{:#x}] to {:#x} (when set)",
                self.size(self.c),
                self.a,
                self.b
            ),
            kind::CLOSE => write!(f, "close [{:#x}]", self.a),
            kind::FAIL => write!(f, "fail -{}", self.a),
            kind::FIND => {
                if self.flags & flag::KSYM != 0 {
                    write!(
                        f,
                        "find [{:#x}] = kallsyms_lookup_name({:#x}, size {})",
                        self.d,
                        self.a,
                        self.size(self.b)
                    )?;
                } else {
                    write!(
                        f,
                        "find [{:#x}] = btf_find_by_name_kind({:#x}, size {}, kind {})",
                        self.d,
                        self.a,
                        self.size(self.b),
                        self.c
                    )?;
                }
                if self.flags & flag::SOFT != 0 {
                    write!(f, " (weak)")?;
                }
                Ok(())
            }
            k => write!(f, "unknown kind {k}"),
        }
    }
}

/// The op table dump: one line per op, with its index and step.
pub fn dump(table: &[u8]) -> String {
    let mut out = String::new();
    for (n, rec) in table.chunks(OP_SIZE).enumerate() {
        let Some(op) = Op::decode(rec) else { break };
        if op.step != 0 {
            out.push_str(&format!("{n:5}: [step {:3}] {op}\n", op.step));
        } else {
            out.push_str(&format!("{n:5}:            {op}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_print() {
        let mut op = Op::new(kind::SYS);
        op.flags = flag::OUT;
        op.step = 3;
        op.a = lskel_abi::cmd::PROG_LOAD;
        op.b = 0x40;
        op.c = 144;
        op.d = 0x8;
        let rec = op.encode();
        assert_eq!(Op::decode(&rec), Some(op));
        assert_eq!(op.to_string(), "sys PROG_LOAD attr 0x40 size 144 -> [0x8]");
        assert_eq!(
            dump(&rec),
            "    0: [step   3] sys PROG_LOAD attr 0x40 size 144 -> [0x8]\n"
        );
        assert_eq!(Op::decode(&rec[..23]), None);
    }
}
