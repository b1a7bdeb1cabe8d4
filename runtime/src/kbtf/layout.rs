//! The struct_ops layouts themselves: what the kernel's `struct bpf_struct_ops_<name>` looks like, and
//! where the members the object's struct_ops value sets land in it.

use std::sync::OnceLock;

use super::{
    btf_error, kind, malformed, Btf, DATA_MEMBER, MAX_VALUE_SIZE, VALUE_PREFIX, VMLINUX_BTF_PATH,
};
use crate::error::{Error, Result};

/// The running kernel's layout of one struct_ops type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StructOpsLayout {
    /// The struct_ops name, e.g. `tcp_congestion_ops`.
    pub(crate) struct_name: String,
    /// Size of `struct bpf_struct_ops_<struct_name>`: the map's value size.
    pub(crate) value_size: usize,
    /// Byte offset of that struct's member `data` (the kernel's `struct <struct_name>`).
    pub(crate) data_offset: usize,
    /// Size of the kernel's `struct <struct_name>`.
    pub(crate) struct_size: usize,
    /// The members of the kernel's `struct <struct_name>`, in declaration order.
    pub(crate) members: Vec<KernelMember>,
}

/// One member of a kernel struct_ops struct.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KernelMember {
    /// The member's name (empty for an anonymous struct or union member).
    pub(crate) name: String,
    /// Byte offset within the struct (for a bitfield: of the byte holding its first bit).
    pub(crate) offset: usize,
    /// Byte size of the member's type, typedefs and qualifiers resolved (for a bitfield: of its
    /// underlying type).
    pub(crate) size: usize,
    /// Whether the member is a function pointer (a slot for a BPF program).
    pub(crate) is_func: bool,
    /// Width in bits of a bitfield member; 0 when the member is not a bitfield.
    pub(crate) bitfield_bits: u8,
}

/// One member of the object's struct_ops struct, as the object's BTF lays it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ObjectMember<'a> {
    /// The member's name.
    pub(crate) name: &'a str,
    /// Byte offset within the object's struct.
    pub(crate) offset: usize,
    /// Byte size.
    pub(crate) size: usize,
    /// Whether the member is a function pointer (a slot for a BPF program).
    pub(crate) is_func: bool,
}

/// A struct_ops map value in the running kernel's layout, made by [`StructOpsLayout::translate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KernelValue {
    /// `value_size` bytes: zeros, with the object's non-function members at their kernel offsets.
    pub(crate) value: Vec<u8>,
    /// For each function member of the object, in the order given: its byte offset in `value`
    /// (`data_offset` + the kernel member's offset), where the program's fd goes; `None` when the
    /// running kernel's struct has no such member (libbpf then skips the program, or fails if the
    /// caller requires it).
    pub(crate) func_offsets: Vec<Option<usize>>,
}

impl StructOpsLayout {
    /// The kernel member called `name`, if the kernel's struct has one. Anonymous members never match.
    pub(crate) fn member(&self, name: &str) -> Option<&KernelMember> {
        if name.is_empty() {
            return None;
        }
        self.members.iter().find(|m| m.name == name)
    }

    /// Lays the object's struct value `object` (described by `members`) out as the running kernel's
    /// `struct bpf_struct_ops_<name>`.
    ///
    /// Non-function members are copied to their kernel offsets; one that is all zeros is skipped, so a
    /// member the kernel lacks is fine as long as the object leaves it zero. A non-zero member the kernel
    /// lacks, whose size differs, or that the kernel has as a function pointer or a bitfield, is refused.
    /// Function members are not copied: their offsets in the value come back in
    /// [`KernelValue::func_offsets`].
    pub(crate) fn translate(
        &self,
        members: &[ObjectMember<'_>],
        object: &[u8],
    ) -> Result<KernelValue> {
        let name = &self.struct_name;
        let mut value = vec![0u8; self.value_size];
        let mut func_offsets = Vec::new();
        for m in members {
            let bytes = m
                .offset
                .checked_add(m.size)
                .and_then(|end| object.get(m.offset..end))
                .ok_or_else(|| {
                    btf_error(format!(
                        "struct_ops `{name}`: the object's member `{}` (bytes {}..+{}) lies outside \
                         its {}-byte struct",
                        m.name,
                        m.offset,
                        m.size,
                        object.len()
                    ))
                })?;
            let kernel = self.member(m.name);
            if m.is_func {
                match kernel {
                    None => func_offsets.push(None),
                    Some(k) if k.is_func => func_offsets.push(Some(self.data_offset + k.offset)),
                    Some(_) => {
                        return Err(btf_error(format!(
                            "struct_ops `{name}`: member `{}` is a function pointer in the object \
                             but not in the running kernel's `struct {name}`",
                            m.name
                        )))
                    }
                }
                continue;
            }
            if bytes.iter().all(|&b| b == 0) {
                continue;
            }
            let k = kernel.ok_or_else(|| {
                btf_error(format!(
                    "struct_ops `{name}`: the object sets member `{}`, which the running kernel's \
                     `struct {name}` does not have",
                    m.name
                ))
            })?;
            if k.is_func {
                return Err(btf_error(format!(
                    "struct_ops `{name}`: the object sets member `{}` as data, but in the running \
                     kernel's `struct {name}` it is a function pointer",
                    m.name
                )));
            }
            if k.bitfield_bits != 0 {
                return Err(btf_error(format!(
                    "struct_ops `{name}`: member `{}` is a bitfield in the running kernel's \
                     `struct {name}`; setting bitfields is not supported",
                    m.name
                )));
            }
            if k.size != m.size {
                return Err(btf_error(format!(
                    "struct_ops `{name}`: the object sets member `{}` as {} bytes, but the running \
                     kernel's is {} bytes",
                    m.name, m.size, k.size
                )));
            }
            // struct_ops_layout checked that every non-bitfield member lies inside the value.
            let at = self.data_offset + k.offset;
            let slot = value.get_mut(at..at + k.size).ok_or_else(|| {
                btf_error(format!(
                    "struct_ops `{name}`: kernel member `{}` lies outside the value",
                    m.name
                ))
            })?;
            slot.copy_from_slice(bytes);
        }
        Ok(KernelValue {
            value,
            func_offsets,
        })
    }
}

/// The layout of struct_ops `struct_name` (e.g. `tcp_congestion_ops`) in the BTF `btf`.
pub(crate) fn struct_ops_layout(btf: &[u8], struct_name: &str) -> Result<StructOpsLayout> {
    let value_name = format!("{VALUE_PREFIX}{struct_name}");
    let (btf, found) = Btf::parse(btf, Some((kind::STRUCT, &value_name)))?;
    let value_id = found.ok_or_else(|| {
        btf_error(format!(
            "the running kernel has no struct_ops type `{value_name}` (is the subsystem built in?)"
        ))
    })?;
    let value_ty = btf.ty(value_id)?;
    let value_size = value_ty.size_or_type as usize;
    if value_size > MAX_VALUE_SIZE {
        return Err(malformed(format_args!(
            "`struct {value_name}` claims {value_size} bytes"
        )));
    }

    let mut data = None;
    for i in 0..value_ty.vlen {
        let m = btf.member(&value_ty, i)?;
        if btf.name_is(m.name_off, DATA_MEMBER) {
            data = Some(m);
            break;
        }
    }
    let data = data.ok_or_else(|| {
        btf_error(format!(
            "the running kernel's `struct {value_name}` has no member `{DATA_MEMBER}`"
        ))
    })?;
    if data.bitfield_bits != 0 || data.bit_offset % 8 != 0 {
        return Err(malformed(format_args!(
            "member `{DATA_MEMBER}` of `struct {value_name}` is not byte-aligned"
        )));
    }
    let data_offset = (data.bit_offset / 8) as usize;
    let st = match btf.skip_modifiers(data.type_id)? {
        Some(t) if t.kind == kind::STRUCT && btf.name_is(t.name_off, struct_name) => t,
        _ => {
            return Err(btf_error(format!(
                "member `{DATA_MEMBER}` of the running kernel's `struct {value_name}` is not a \
                 `struct {struct_name}`"
            )))
        }
    };
    let struct_size = st.size_or_type as usize;
    if data_offset
        .checked_add(struct_size)
        .is_none_or(|end| end > value_size)
    {
        return Err(malformed(format_args!(
            "`struct {struct_name}` ({struct_size} bytes at {data_offset}) does not fit in the \
             {value_size}-byte `struct {value_name}`"
        )));
    }

    let mut members = Vec::with_capacity(st.vlen);
    for i in 0..st.vlen {
        let m = btf.member(&st, i)?;
        let name = btf.name(m.name_off)?;
        let offset = (m.bit_offset / 8) as usize;
        let size = btf.size_of(m.type_id)?;
        if m.bitfield_bits == 0
            && (m.bit_offset % 8 != 0 || offset.checked_add(size).is_none_or(|e| e > struct_size))
        {
            return Err(malformed(format_args!(
                "member `{name}` of `struct {struct_name}` ({size} bytes at bit {}) does not fit \
                 its {struct_size}-byte struct",
                m.bit_offset
            )));
        }
        members.push(KernelMember {
            name: name.to_owned(),
            offset,
            size,
            is_func: btf.is_func_ptr(m.type_id)?,
            bitfield_bits: m.bitfield_bits,
        });
    }
    Ok(StructOpsLayout {
        struct_name: struct_name.to_owned(),
        value_size,
        data_offset,
        struct_size,
        members,
    })
}

/// The running kernel's BTF, read from [`VMLINUX_BTF_PATH`] once per process (failures are cached too).
pub(crate) fn vmlinux_btf() -> Result<&'static [u8]> {
    static CACHE: OnceLock<std::io::Result<Vec<u8>>> = OnceLock::new();
    match CACHE.get_or_init(|| std::fs::read(VMLINUX_BTF_PATH)) {
        Ok(bytes) => Ok(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(btf_error(format!(
            "the running kernel has no BTF ({VMLINUX_BTF_PATH} does not exist: it was built without \
             CONFIG_DEBUG_INFO_BTF), and struct_ops maps need it"
        ))),
        Err(e) => Err(Error::Io {
            path: VMLINUX_BTF_PATH,
            source: match e.raw_os_error() {
                Some(code) => std::io::Error::from_raw_os_error(code),
                None => std::io::Error::new(e.kind(), e.to_string()),
            },
        }),
    }
}

/// [`struct_ops_layout`] of the running kernel (its BTF read by [`vmlinux_btf`]).
pub(crate) fn kernel_struct_ops_layout(struct_name: &str) -> Result<StructOpsLayout> {
    struct_ops_layout(vmlinux_btf()?, struct_name)
}
