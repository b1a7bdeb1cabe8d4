//! The kernel objects an fd can refer to: BTF, maps and programs, as the loader made them.

use std::collections::BTreeMap;

use crate::btf::Btf;

/// A BTF object loaded with BTF_LOAD.
#[derive(Clone, Debug)]
pub struct BtfObject {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// Parsed.
    pub parsed: Btf,
}

/// A map.
#[derive(Clone, Debug)]
pub struct MapObject {
    /// `map_type`
    pub map_type: u32,
    /// `key_size`
    pub key_size: u32,
    /// `value_size`
    pub value_size: u32,
    /// `max_entries`
    pub max_entries: u32,
    /// `map_flags`
    pub map_flags: u32,
    /// `map_name`
    pub name: String,
    /// BTF object id (index into the kernel's objects), when created with BTF.
    pub btf: Option<usize>,
    /// `btf_key_type_id`
    pub btf_key_type_id: u32,
    /// `btf_value_type_id`
    pub btf_value_type_id: u32,
    /// Frozen with MAP_FREEZE.
    pub frozen: bool,
    /// Contents, key bytes -> value bytes.
    pub entries: BTreeMap<Vec<u8>, Vec<u8>>,
}

/// A program.
#[derive(Clone, Debug)]
pub struct ProgObject {
    /// `prog_type`
    pub prog_type: u32,
    /// `expected_attach_type`
    pub expected_attach_type: u32,
    /// `prog_name`
    pub name: String,
    /// Instructions as loaded.
    pub insns: Vec<u8>,
    /// License.
    pub license: String,
    /// `prog_flags`
    pub prog_flags: u32,
    /// `attach_btf_id`
    pub attach_btf_id: u32,
    /// Module of the attach target (`None` for vmlinux).
    pub attach_module: Option<String>,
    /// Maps used: (insn index, object id of the map).
    pub maps: Vec<(usize, usize)>,
    /// Maps bound through `fd_array_cnt` (object ids, in `fd_array` order): used by the
    /// program as the instructions' maps are.
    pub bound: Vec<usize>,
    /// Kfuncs called: (insn index, btf id, module or `None` for vmlinux).
    pub kfuncs: Vec<(usize, u32, Option<String>)>,
}

/// A kernel object.
#[derive(Clone, Debug)]
pub enum Object {
    /// BTF from BTF_LOAD.
    Btf(BtfObject),
    /// A module's BTF (index into the modules).
    ModuleBtf(usize),
    /// A map.
    Map(MapObject),
    /// A program.
    Prog(ProgObject),
}
