//! Map definitions: BTF-defined maps from `.maps`, and one internal ARRAY map per global
//! data section (`.data`, `.rodata`, `.bss`, `.data.*`, `.rodata.*`, `.bss.*`). Order is
//! libbpf's: `.maps` entries by offset, then data sections by ELF section index.

use crate::abi::{BPF_F_MMAPABLE, BPF_F_RDONLY_PROG, BPF_MAP_TYPE_ARENA, BPF_MAP_TYPE_ARRAY};
use crate::btf::{kind, Btf, VAR_STATIC};
use crate::elf::{ElfObject, Section};
use crate::error::{Error, Result};

/// What kind of global data a data map holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataKind {
    /// `.data` / `.data.*`
    Data,
    /// `.rodata` / `.rodata.*`: `BPF_F_RDONLY_PROG`, frozen after its initial value is written.
    Rodata,
    /// `.bss` / `.bss.*`
    Bss,
}

/// Where a map comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MapOrigin {
    /// A BTF-defined map at `offset` in `.maps`.
    Btf {
        /// Offset of its symbol in `.maps`.
        offset: u64,
    },
    /// The internal map of a global data section.
    Data {
        /// Which kind.
        kind: DataKind,
        /// The ELF section index.
        section_index: usize,
        /// Initial contents (`value_size` bytes; zeros for `.bss`).
        init: Vec<u8>,
        /// The section's DATASEC type, when BTF describes it.
        datasec: Option<u32>,
    },
}

/// One map as the loader creates it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapDef {
    /// The name in the object: the variable name, or the section name for data maps.
    pub name: String,
    /// The name given to the kernel (at most 15 bytes).
    pub kernel_name: String,
    /// `enum bpf_map_type`
    pub map_type: u32,
    /// `key_size`
    pub key_size: u32,
    /// `value_size`
    pub value_size: u32,
    /// `max_entries`
    pub max_entries: u32,
    /// `map_flags`
    pub map_flags: u32,
    /// `numa_node`
    pub numa_node: u32,
    /// `map_extra`
    pub map_extra: u64,
    /// BTF id of the key type (0 = none).
    pub btf_key_type_id: u32,
    /// BTF id of the value type (0 = none).
    pub btf_value_type_id: u32,
    /// Where it comes from.
    pub origin: MapOrigin,
}

impl MapDef {
    /// Whether this is a global data map.
    pub fn data_kind(&self) -> Option<DataKind> {
        match self.origin {
            MapOrigin::Data { kind, .. } => Some(kind),
            MapOrigin::Btf { .. } => None,
        }
    }

    /// Whether user space can mmap the map's value.
    pub fn is_mmapable(&self) -> bool {
        self.map_flags & BPF_F_MMAPABLE != 0
    }
}

/// Largest data section accepted (1 GiB): far above what the kernel can create as one array
/// value, low enough that a corrupt `sh_size` cannot make the generator allocate without bound.
pub const MAX_DATA_SECTION: u64 = 1 << 30;

/// The data-section kind of a section name, as libbpf classifies it.
pub fn data_kind_of(section: &Section<'_>) -> Option<DataKind> {
    let name = section.name.as_str();
    let is = |base: &str| {
        name == base
            || name
                .strip_prefix(base)
                .is_some_and(|rest| rest.starts_with('.'))
    };
    if section.sh_type == object::elf::SHT_NOBITS {
        return is(".bss").then_some(DataKind::Bss);
    }
    if section.sh_type != object::elf::SHT_PROGBITS || section.is_code() {
        return None;
    }
    if is(".data") {
        Some(DataKind::Data)
    } else if is(".rodata") {
        Some(DataKind::Rodata)
    } else {
        None
    }
}

/// The kernel-visible name of a data map: as much of the object name as fits before the
/// section name, except for custom `.data.foo`-style sections, which keep their own name
/// (libbpf's naming, so tools that look maps up by name find the same ones).
pub fn internal_map_name(obj_name: &str, section: &str) -> String {
    const NAME_LEN: usize = 16;
    let sfx_len = section.len().clamp(7, NAME_LEN - 1);
    let pfx_len = if section.get(1..).is_some_and(|s| s.contains('.')) {
        0
    } else {
        (NAME_LEN - sfx_len - 1).min(obj_name.len())
    };
    let mut name: String = obj_name.chars().take(pfx_len).collect();
    name.extend(section.chars().take(sfx_len));
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Truncates to the kernel's 15-byte object name limit.
pub fn kernel_name(name: &str) -> String {
    name.chars().take(15).collect()
}

/// Collects every map of the object in libbpf's order.
pub fn collect(obj: &ElfObject<'_>, btf: &Btf, obj_name: &str) -> Result<Vec<MapDef>> {
    let mut maps = Vec::new();
    if let Some(maps_sec) = obj.section(".maps") {
        maps.extend(btf_maps(btf, maps_sec)?);
    }
    for section in &obj.sections {
        let Some(kind) = data_kind_of(section) else {
            continue;
        };
        if section.size == 0 {
            continue;
        }
        let value_size = u32::try_from(section.size).map_err(|_| Error::Map {
            map: section.name.clone(),
            what: "section is larger than 4 GiB".into(),
        })?;
        let datasec = btf.find(&section.name, kind::DATASEC);
        let mut flags = if kind == DataKind::Rodata {
            BPF_F_RDONLY_PROG
        } else {
            0
        };
        if datasec.is_some_and(|id| has_global_var(btf, id)) {
            flags |= BPF_F_MMAPABLE;
        }
        let init = if kind == DataKind::Bss {
            vec![0; value_size as usize]
        } else {
            section.data.to_vec()
        };
        maps.push(MapDef {
            name: section.name.clone(),
            kernel_name: internal_map_name(obj_name, &section.name),
            map_type: BPF_MAP_TYPE_ARRAY,
            key_size: 4,
            value_size,
            max_entries: 1,
            map_flags: flags,
            numa_node: 0,
            map_extra: 0,
            btf_key_type_id: 0,
            btf_value_type_id: datasec.unwrap_or(0),
            origin: MapOrigin::Data {
                kind,
                section_index: section.index,
                init,
                datasec,
            },
        });
    }
    Ok(maps)
}

/// Whether a DATASEC holds at least one non-static VAR (libbpf then makes it mmapable).
fn has_global_var(btf: &Btf, datasec: u32) -> bool {
    let Ok(t) = btf.get(datasec) else {
        return false;
    };
    t.secinfos().any(|(var, _, _)| {
        btf.get(var)
            .is_ok_and(|v| v.kind() == kind::VAR && v.extra.first() != Some(&VAR_STATIC))
    })
}

/// Parses the `.maps` DATASEC: one map per VAR, each a struct of `__uint`/`__type` fields.
fn btf_maps(btf: &Btf, maps_sec: &Section<'_>) -> Result<Vec<MapDef>> {
    let datasec = btf.find(".maps", kind::DATASEC).ok_or_else(|| Error::Map { map: ".maps".into(), what: "section `.maps` has no DATASEC in BTF; define maps with `SEC(\".maps\")` in a `-g` build".into() })?;
    let mut maps = Vec::new();
    for (var_id, offset, _) in btf.get(datasec)?.secinfos().collect::<Vec<_>>() {
        let var = btf.get(var_id)?;
        let name = btf.name(var.name_off)?.to_string();
        if var.kind() != kind::VAR {
            return Err(Error::Map {
                map: name,
                what: format!("`.maps` entry is BTF kind {}, not a variable", var.kind()),
            });
        }
        let def = parse_map_struct(btf, &name, var.size_or_type)?;
        if u64::from(offset) >= maps_sec.size.max(1) {
            return Err(Error::Map {
                map: name,
                what: format!(
                    "offset {offset} is beyond `.maps` ({} bytes)",
                    maps_sec.size
                ),
            });
        }
        maps.push(MapDef {
            kernel_name: kernel_name(&name),
            name,
            origin: MapOrigin::Btf {
                offset: u64::from(offset),
            },
            ..def
        });
    }
    Ok(maps)
}

/// Reads `__uint(field, N)`: a pointer to an array of N elements.
fn uint_field(btf: &Btf, map: &str, field: &str, ty: u32) -> Result<u32> {
    let err = || Error::Map {
        map: map.into(),
        what: format!(
            "field `{field}` must be declared with __uint(), i.e. as `int (*{field})[N]`"
        ),
    };
    let ptr = btf.get(btf.skip_mods_and_typedefs(ty)?)?;
    if ptr.kind() != kind::PTR {
        return Err(err());
    }
    let arr = btf.get(btf.skip_mods_and_typedefs(ptr.size_or_type)?)?;
    arr.array().map(|(_, _, n)| n).ok_or_else(err)
}

/// Reads `__type(field, T)`: a pointer to T. Returns T's id and size.
fn type_field(btf: &Btf, map: &str, field: &str, ty: u32) -> Result<(u32, u32)> {
    let ptr = btf.get(btf.skip_mods_and_typedefs(ty)?)?;
    if ptr.kind() != kind::PTR {
        return Err(Error::Map {
            map: map.into(),
            what: format!("field `{field}` must be declared with __type(), i.e. as `T *{field}`"),
        });
    }
    let target = ptr.size_or_type;
    let size = btf.size_of(target).map_err(|e| Error::Map {
        map: map.into(),
        what: format!("field `{field}`: {e}"),
    })?;
    let size = u32::try_from(size).map_err(|_| Error::Map {
        map: map.into(),
        what: format!("`{field}` type is larger than 4 GiB"),
    })?;
    Ok((target, size))
}

fn parse_map_struct(btf: &Btf, name: &str, ty: u32) -> Result<MapDef> {
    let sid = btf.skip_mods_and_typedefs(ty)?;
    let st = btf.get(sid)?;
    if st.kind() != kind::STRUCT {
        return Err(Error::Map { map: name.into(), what: "the map variable's type is not a struct; declare it as `struct { __uint(type, ...); ... } name SEC(\".maps\");`".into() });
    }
    let mut def = MapDef {
        name: name.into(),
        kernel_name: String::new(),
        map_type: 0,
        key_size: 0,
        value_size: 0,
        max_entries: 0,
        map_flags: 0,
        numa_node: 0,
        map_extra: 0,
        btf_key_type_id: 0,
        btf_value_type_id: 0,
        origin: MapOrigin::Btf { offset: 0 },
    };
    let (mut key_size, mut value_size) = (None, None);
    for (name_off, mty, _) in st.members() {
        let field = btf.name(name_off)?;
        match field {
            "type" => def.map_type = uint_field(btf, name, field, mty)?,
            "max_entries" => def.max_entries = uint_field(btf, name, field, mty)?,
            "map_flags" => def.map_flags = uint_field(btf, name, field, mty)?,
            "numa_node" => def.numa_node = uint_field(btf, name, field, mty)?,
            "map_extra" => def.map_extra = u64::from(uint_field(btf, name, field, mty)?),
            "key_size" => key_size = Some(uint_field(btf, name, field, mty)?),
            "value_size" => value_size = Some(uint_field(btf, name, field, mty)?),
            "key" => {
                let (id, size) = type_field(btf, name, field, mty)?;
                def.btf_key_type_id = id;
                def.key_size = size;
            }
            "value" => {
                let (id, size) = type_field(btf, name, field, mty)?;
                def.btf_value_type_id = id;
                def.value_size = size;
            }
            "pinning" => {
                if uint_field(btf, name, field, mty)? != 0 {
                    return Err(Error::Unsupported { what: format!("map `{name}`: pinning"), why: "a light skeleton creates fresh maps; pin them from user space after load instead".into() });
                }
            }
            "values" => {
                return Err(Error::Unsupported { what: format!("map `{name}`: static `.values` initialisation (map-in-map, prog_array)"), why: "planned for a later version; fill the map from user space after load".into() })
            }
            other => return Err(Error::Map { map: name.into(), what: format!("unknown map definition field `{other}`; known: type, max_entries, map_flags, numa_node, map_extra, key, key_size, value, value_size, pinning") }),
        }
    }
    for (what, explicit, from_type) in [
        ("key", key_size, &mut def.key_size),
        ("value", value_size, &mut def.value_size),
    ] {
        if let Some(size) = explicit {
            if *from_type != 0 && *from_type != size {
                return Err(Error::Map { map: name.into(), what: format!("{what}_size {size} disagrees with the size {from_type} of its __type({what}, ...)") });
            }
            *from_type = size;
        }
    }
    if def.map_type == 0 || def.map_type > BPF_MAP_TYPE_ARENA {
        return Err(Error::Map {
            map: name.into(),
            what: format!(
                "map type {} is missing or unknown (valid: 1..={BPF_MAP_TYPE_ARENA})",
                def.map_type
            ),
        });
    }
    if matches!(def.map_type, 12 | 13) {
        return Err(Error::Unsupported {
            what: format!("map `{name}`: map-in-map (type {})", def.map_type),
            why: "inner map definitions come in a later version".into(),
        });
    }
    // libbpf creates these map types without BTF key/value types: the kernel refuses them.
    if matches!(
        def.map_type,
        4 | 8 | 7 | 12 | 13 | 14 | 16 | 17 | 15 | 18 | 22 | 23 | 25 | 33
    ) {
        def.btf_key_type_id = 0;
        def.btf_value_type_id = 0;
    }
    Ok(def)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_names_follow_libbpf() {
        assert_eq!(
            internal_map_name("my_object_name", ".rodata"),
            "my_objec.rodata"
        );
        assert_eq!(internal_map_name("my_object_name", ".bss"), "my_objec.bss");
        assert_eq!(
            internal_map_name("my_object_name", ".kconfig"),
            "my_obje.kconfig"
        );
        assert_eq!(internal_map_name("obj", ".data.custom"), ".data.custom");
        assert_eq!(
            internal_map_name("obj", ".rodata.abracadabra"),
            ".rodata.abracad"
        );
        assert_eq!(internal_map_name("a-b", ".bss"), "a_b.bss");
    }
}
