//! Map definitions: BTF-defined maps from `.maps`, and one internal ARRAY map per global
//! data section (`.data`, `.rodata`, `.bss`, `.data.*`, `.rodata.*`, `.bss.*`). Order is
//! libbpf's: `.maps` entries by offset, then data sections by ELF section index.

use crate::abi::{
    map_type, BPF_F_MMAPABLE, BPF_F_RDONLY_PROG, BPF_MAP_TYPE_ARENA, BPF_MAP_TYPE_ARRAY,
};
use crate::btf::{kind, Btf, VAR_STATIC};
use crate::diag::Diag;
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
    /// `.kconfig`: values of `__kconfig` externs, filled by the runtime at load time;
    /// read-only for programs and frozen like `.rodata`.
    Kconfig,
}

impl DataKind {
    /// Read-only for programs and frozen after its value is written.
    pub fn is_readonly(self) -> bool {
        matches!(self, DataKind::Rodata | DataKind::Kconfig)
    }
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
        /// Initial contents (`value_size` bytes; empty for `.bss`, which is all zeros).
        init: Vec<u8>,
        /// The section's DATASEC type, when BTF describes it.
        datasec: Option<u32>,
    },
    /// A struct_ops variable of a `.struct_ops` / `.struct_ops.link` section.
    StructOps(Box<crate::struct_ops::StructOps>),
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
    /// For map-in-map: the inner map template, created before this map and closed after.
    pub inner: Option<Box<MapDef>>,
    /// Static `.values` slots: (index, what the slot holds).
    pub init: Vec<(u32, InitRef)>,
    /// Byte offset of the `values` member in the definition (map-in-map and prog_array).
    pub values_offset: Option<u32>,
    /// `__uint(pinning, LIBBPF_PIN_BY_NAME)`: the runtime reuses the map pinned under its
    /// name in the pin root, or pins the new map there after load.
    pub pin_by_name: bool,
}

/// `LIBBPF_PIN_NONE`
pub const LIBBPF_PIN_NONE: u32 = 0;
/// `LIBBPF_PIN_BY_NAME`
pub const LIBBPF_PIN_BY_NAME: u32 = 1;

/// What a static `.values` slot of a map-in-map or prog_array holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InitRef {
    /// The map with this index (map-in-map).
    Map(usize),
    /// The entry program with this name (prog_array); the plan resolves it.
    Prog(String),
}

/// `BPF_MAP_TYPE_PROG_ARRAY`
pub const PROG_ARRAY: u32 = map_type::PROG_ARRAY;
/// `BPF_MAP_TYPE_PERF_EVENT_ARRAY`
pub const PERF_EVENT_ARRAY: u32 = map_type::PERF_EVENT_ARRAY;

/// ARRAY_OF_MAPS or HASH_OF_MAPS.
pub fn is_map_in_map(map_type: u32) -> bool {
    map_type::is_map_in_map(map_type)
}

impl MapDef {
    /// Whether this is a global data map.
    pub fn data_kind(&self) -> Option<DataKind> {
        match self.origin {
            MapOrigin::Data { kind, .. } => Some(kind),
            MapOrigin::Btf { .. } | MapOrigin::StructOps(_) => None,
        }
    }

    /// A writable data map whose value starts as all zeros (`.bss`, zero `.data`): the blob
    /// carries nothing for it and the loader leaves the new, zeroed map as it is; values the
    /// user sets before load go in through the map's mmap instead. So zero costs nothing.
    pub fn starts_zeroed(&self) -> bool {
        matches!(&self.origin, MapOrigin::Data { kind, init, .. }
            if *kind == DataKind::Bss || (!kind.is_readonly() && init.iter().all(|&b| b == 0)))
    }

    /// Whether user space can mmap the map's value.
    pub fn is_mmapable(&self) -> bool {
        self.map_flags & BPF_F_MMAPABLE != 0
    }
}

/// Where each map's fd sits in the loaders' `fd_array`. The maps every program is bound to,
/// as libbpf binds them (`.rodata` and `.rodata.*`, read-only data the verifier may read
/// through and so must keep alive), come first in object order, then the other maps in object
/// order: each program load passes `fd_array_cnt` = [`FdLayout::bound`], and the kernel binds
/// every map of `fd_array[0..cnt)` to the program with no extra syscall. Every slot in that
/// range holds a map created (or reused) before any program loads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FdLayout {
    /// `fd_array` slot of each map, by map index.
    pub slots: Vec<usize>,
    /// How many maps every program is bound to: the first `bound` slots.
    pub bound: usize,
}

impl FdLayout {
    /// The layout of `maps` (in object order).
    pub fn of(maps: &[MapDef]) -> FdLayout {
        let is_bound = |m: &MapDef| m.data_kind() == Some(DataKind::Rodata);
        let bound = maps.iter().filter(|m| is_bound(m)).count();
        let (mut first, mut rest) = (0, bound);
        let slots = (maps.iter())
            .map(|m| {
                let next = if is_bound(m) { &mut first } else { &mut rest };
                *next += 1;
                *next - 1
            })
            .collect();
        FdLayout { slots, bound }
    }
}

/// Largest data section accepted (64 MiB): above what the kernel creates as one array value
/// (KMALLOC_MAX_SIZE, 4 MiB with 4 KiB pages; the loader's blob is such a value too), low
/// enough that a corrupt `sh_size` cannot make the generator allocate without bound.
pub const MAX_DATA_SECTION: u64 = 64 << 20;

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
    const NAME_LEN: usize = lskel_abi::OBJ_NAME_LEN;
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
    name.chars().take(lskel_abi::OBJ_NAME_LEN - 1).collect()
}

/// The maps of an object, and the `.maps` offsets of the definitions that failed (their
/// errors are in the [`Diag`] given to [`collect`]).
#[derive(Clone, Debug, Default)]
pub struct Collected {
    /// The maps in `fd_array` order.
    pub maps: Vec<MapDef>,
    /// Offsets in `.maps` of bad definitions: references to them are follow-on errors.
    pub failed: Vec<u64>,
}

/// Collects every map of the object in libbpf's order. A bad `.maps` definition goes to
/// `diag` and the others are still collected; other problems are returned.
pub fn collect(
    obj: &ElfObject<'_>,
    btf: &Btf,
    obj_name: &str,
    kconfig_size: u32,
    diag: &mut Diag,
) -> Result<Collected> {
    let mut maps = Vec::new();
    let mut failed = Vec::new();
    if let Some(maps_sec) = obj.section(".maps") {
        let defs = btf_maps(btf, maps_sec, diag, &mut failed)?;
        maps.extend(with_init_values(obj, btf, maps_sec, defs, &failed)?);
    }
    for section in &obj.sections {
        let Some(kind) = data_kind_of(section) else {
            continue;
        };
        if section.size == 0 {
            continue;
        }
        if section.size > MAX_DATA_SECTION {
            return Err(Error::Limit {
                what: format!(
                    "data section `{}` is {} bytes; a global data map holds at most {MAX_DATA_SECTION} bytes (and the kernel's own limit, KMALLOC_MAX_SIZE, is lower)",
                    section.name, section.size
                ),
            });
        }
        let value_size = section.size as u32;
        let datasec = btf.find(&section.name, kind::DATASEC);
        let mut flags = if kind == DataKind::Rodata {
            BPF_F_RDONLY_PROG
        } else {
            0
        };
        if datasec.is_some_and(|id| has_global_var(btf, id)) {
            flags |= BPF_F_MMAPABLE;
        }
        // `.bss` has no bytes in the object; it is all zeros, and kept as nothing.
        let init = if kind == DataKind::Bss {
            Vec::new()
        } else {
            section.data.to_vec()
        };
        maps.push(one_value_map(
            section.name.clone(),
            internal_map_name(obj_name, &section.name),
            BPF_MAP_TYPE_ARRAY,
            value_size,
            flags,
            datasec.unwrap_or(0),
            MapOrigin::Data {
                kind,
                section_index: section.index,
                init,
                datasec,
            },
        ));
    }
    if kconfig_size > 0 {
        maps.push(kconfig_map(btf, obj_name, kconfig_size));
    }
    for s in crate::struct_ops::collect(obj, btf)? {
        let flags = if s.link {
            crate::struct_ops::BPF_F_LINK
        } else {
            0
        };
        let value_size = s.value.len() as u32;
        maps.push(one_value_map(
            s.name.clone(),
            kernel_name(&s.name),
            crate::struct_ops::MAP_TYPE,
            value_size,
            flags,
            0,
            MapOrigin::StructOps(Box::new(s)),
        ));
    }
    Ok(Collected { maps, failed })
}

/// The `.kconfig` map: values of `__kconfig` externs, written by the runtime at load time.
fn kconfig_map(btf: &Btf, obj_name: &str, size: u32) -> MapDef {
    let datasec = btf.find(".kconfig", kind::DATASEC);
    let mut flags = BPF_F_RDONLY_PROG;
    if datasec.is_some_and(|id| has_global_var(btf, id)) {
        flags |= BPF_F_MMAPABLE;
    }
    // No ELF section backs it: section index 0 never matches a data relocation.
    let init = vec![0; size as usize];
    let origin = MapOrigin::Data {
        kind: DataKind::Kconfig,
        section_index: 0,
        init,
        datasec,
    };
    one_value_map(
        ".kconfig".into(),
        internal_map_name(obj_name, ".kconfig"),
        BPF_MAP_TYPE_ARRAY,
        size,
        flags,
        datasec.unwrap_or(0),
        origin,
    )
}

/// A map of one value under key 0 (`u32`): data sections, `.kconfig`, struct_ops.
fn one_value_map(
    name: String,
    kernel_name: String,
    map_type: u32,
    value_size: u32,
    map_flags: u32,
    btf_value_type_id: u32,
    origin: MapOrigin,
) -> MapDef {
    MapDef {
        name,
        kernel_name,
        map_type,
        key_size: 4,
        value_size,
        max_entries: 1,
        map_flags,
        numa_node: 0,
        map_extra: 0,
        btf_key_type_id: 0,
        btf_value_type_id,
        origin,
        inner: None,
        init: Vec::new(),
        values_offset: None,
        pin_by_name: false,
    }
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
/// Each definition is checked on its own: a bad one goes to `diag` and its offset to `failed`.
fn btf_maps(
    btf: &Btf,
    maps_sec: &Section<'_>,
    diag: &mut Diag,
    failed: &mut Vec<u64>,
) -> Result<Vec<MapDef>> {
    let datasec = btf.find(".maps", kind::DATASEC).ok_or_else(|| Error::Map { map: ".maps".into(), what: "section `.maps` has no DATASEC in BTF; define maps with `SEC(\".maps\")` in a `-g` build".into() })?;
    let mut maps = Vec::new();
    for (var_id, offset, _) in btf.get(datasec)?.secinfos().collect::<Vec<_>>() {
        match btf_map(btf, maps_sec, var_id, offset) {
            Ok(map) => maps.push(map),
            Err(e) => {
                diag.push(e);
                failed.push(u64::from(offset));
            }
        }
    }
    Ok(maps)
}

/// The map of `.maps` VAR `var_id` at `offset`.
fn btf_map(btf: &Btf, maps_sec: &Section<'_>, var_id: u32, offset: u32) -> Result<MapDef> {
    let var = btf.get(var_id)?;
    let name = btf.name(var.name_off)?.to_string();
    if var.kind() != kind::VAR {
        return Err(Error::Map {
            map: name,
            what: format!("`.maps` entry is BTF kind {}, not a variable", var.kind()),
        });
    }
    let def = parse_map_struct(btf, &name, var.size_or_type, false)?;
    if u64::from(offset) >= maps_sec.size.max(1) {
        return Err(Error::Map {
            map: name,
            what: format!(
                "offset {offset} is beyond `.maps` ({} bytes)",
                maps_sec.size
            ),
        });
    }
    Ok(MapDef {
        kernel_name: kernel_name(&name),
        name,
        origin: MapOrigin::Btf {
            offset: u64::from(offset),
        },
        ..def
    })
}

/// Whether `maps` (from `.maps`) hold static `.values`; fills them in.
fn with_init_values(
    obj: &ElfObject<'_>,
    btf: &Btf,
    maps_sec: &Section<'_>,
    mut maps: Vec<MapDef>,
    failed: &[u64],
) -> Result<Vec<MapDef>> {
    collect_init_values(obj, btf, maps_sec, &mut maps, failed)?;
    Ok(maps)
}

/// The `values` member: `__array(values, struct inner)` for map-in-map (returns the inner
/// template) or `__array(values, int (void *))` for prog_array.
fn values_field(
    btf: &Btf,
    name: &str,
    def: &MapDef,
    last: bool,
    ty: u32,
    is_inner: bool,
) -> Result<Option<Box<MapDef>>> {
    let err = |what: String| Error::Map {
        map: name.into(),
        what,
    };
    if is_inner {
        return Err(err(
            "an inner map cannot have inner maps itself (multi-level map-in-map)".into(),
        ));
    }
    if !last {
        return Err(err(
            "`values` must be the last member of the definition".into()
        ));
    }
    if !is_map_in_map(def.map_type) && def.map_type != PROG_ARRAY {
        return Err(err(format!("`values` needs a map-in-map or prog_array type, not type {} (declare `type` before `values`)", def.map_type)));
    }
    let arr = btf.get(btf.skip_mods_and_typedefs(ty)?)?;
    let (elem, _, n) = arr
        .array()
        .ok_or_else(|| err("`values` must be a zero-sized array: `__array(values, ...)`".into()))?;
    if n != 0 {
        return Err(err(
            "`values` must be a zero-sized array: `__array(values, ...)`".into(),
        ));
    }
    let ptr = btf.get(btf.skip_mods_and_typedefs(elem)?)?;
    if ptr.kind() != kind::PTR {
        return Err(err("`values` elements must be pointers".into()));
    }
    let target = btf.skip_mods_and_typedefs(ptr.size_or_type)?;
    if def.map_type == PROG_ARRAY {
        if btf.get(target)?.kind() != kind::FUNC_PROTO {
            return Err(err(
                "prog_array `values` must be function pointers: `__array(values, int (void *))`"
                    .into(),
            ));
        }
        return Ok(None);
    }
    let inner_name = format!("{name}.inner");
    let mut inner = parse_map_struct(btf, &inner_name, target, true)?;
    inner.kernel_name = kernel_name(&inner_name);
    Ok(Some(Box::new(inner)))
}

/// Fills each map's static `.values` from the relocations of `.maps`: a slot holds a map
/// (map-in-map) or a program (prog_array), named by the relocation's symbol.
fn collect_init_values(
    obj: &ElfObject<'_>,
    btf: &Btf,
    maps_sec: &Section<'_>,
    maps: &mut [MapDef],
    failed: &[u64],
) -> Result<()> {
    let datasec = btf.find(".maps", kind::DATASEC).unwrap_or(0);
    let sizes: Vec<(u64, u64)> = btf
        .get(datasec)
        .map(|t| {
            t.secinfos()
                .map(|(_, o, s)| (u64::from(o), u64::from(s)))
                .collect()
        })
        .unwrap_or_default();
    // Whether `at` is inside the definition at `offset`.
    let within = |at: u64, offset: u64| {
        let size = sizes
            .iter()
            .find(|(o, _)| *o == offset)
            .map_or(0, |(_, s)| *s);
        at >= offset && at < offset + size
    };
    for rel in &maps_sec.relocs {
        let sym = &obj.symbols[rel.sym];
        let owner = maps.iter().position(|m| match m.origin {
            MapOrigin::Btf { offset } => within(rel.offset, offset),
            _ => false,
        });
        if owner.is_none() && failed.iter().any(|&o| within(rel.offset, o)) {
            // Inside a definition that failed: already reported.
            continue;
        }
        let Some(owner) = owner else {
            return Err(Error::Reloc {
                section: ".maps".into(),
                insn: 0,
                offset: rel.offset,
                symbol: sym.name.clone(),
                source: crate::reloc::RelocError::OutsideMaps,
            });
        };
        let map = &maps[owner];
        let MapOrigin::Btf { offset } = map.origin else {
            unreachable!("owner is a BTF map")
        };
        let values = map.values_offset.ok_or_else(|| Error::Map {
            map: map.name.clone(),
            what: format!(
                "`{}` is stored in the definition, but only `values` slots can hold references",
                sym.name
            ),
        })?;
        let within = rel.offset - offset;
        if within < u64::from(values) || (within - u64::from(values)) % 8 != 0 {
            return Err(Error::Map {
                map: map.name.clone(),
                what: format!(
                    "reference to `{}` at offset {within} is not a `values` slot",
                    sym.name
                ),
            });
        }
        let slot = ((within - u64::from(values)) / 8) as u32;
        if slot >= map.max_entries && map.map_type != map_type::HASH_OF_MAPS {
            return Err(Error::Map {
                map: map.name.clone(),
                what: format!(
                    "`.values[{slot}]` is beyond max_entries {}",
                    map.max_entries
                ),
            });
        }
        let target = if is_map_in_map(map.map_type) {
            let in_maps = obj.section_name(sym.shndx.into()) == ".maps";
            if in_maps && failed.contains(&sym.value) {
                // The inner map's definition failed: already reported.
                continue;
            }
            if !in_maps {
                return Err(Error::Map {
                    map: map.name.clone(),
                    what: format!(
                        "`.values[{slot}]` = `{}`, which is not a BTF-defined map",
                        sym.name
                    ),
                });
            }
            if map.map_type == map_type::HASH_OF_MAPS && map.key_size != 4 {
                return Err(Error::Map {
                    map: map.name.clone(),
                    what: format!(
                        "a hash-of-maps with static values needs 4-byte keys, not {}",
                        map.key_size
                    ),
                });
            }
            let idx = maps
                .iter()
                .position(|m| m.name == sym.name)
                .ok_or_else(|| Error::Map {
                    map: maps[owner].name.clone(),
                    what: format!(
                        "`.values[{slot}]` = `{}`, which is no map of this object",
                        sym.name
                    ),
                })?;
            InitRef::Map(idx)
        } else {
            InitRef::Prog(sym.name.clone())
        };
        maps[owner].init.push((slot, target));
    }
    Ok(())
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

/// The `pinning` field: `LIBBPF_PIN_NONE` or `LIBBPF_PIN_BY_NAME` (whether pinned by name).
fn pinning(map: &str, value: u32, inner: bool) -> Result<bool> {
    match value {
        LIBBPF_PIN_NONE => Ok(false),
        LIBBPF_PIN_BY_NAME if !inner => Ok(true),
        LIBBPF_PIN_BY_NAME => Err(Error::Map {
            map: map.into(),
            what: "an inner map template cannot be pinned (`pinning` belongs on the outer map)"
                .into(),
        }),
        other => Err(Error::Map {
            map: map.into(),
            what: format!(
                "`pinning` is {other}; accepted: LIBBPF_PIN_NONE (0) or LIBBPF_PIN_BY_NAME (1)"
            ),
        }),
    }
}

fn parse_map_struct(btf: &Btf, name: &str, ty: u32, inner: bool) -> Result<MapDef> {
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
        inner: None,
        init: Vec::new(),
        values_offset: None,
        pin_by_name: false,
    };
    let (mut key_size, mut value_size) = (None, None);
    let members: Vec<(u32, u32, u32)> = st.members().collect();
    let kflag = st.kflag();
    for (m, &(name_off, mty, moff)) in members.iter().enumerate() {
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
            "pinning" => def.pin_by_name = pinning(name, uint_field(btf, name, field, mty)?, inner)?,
            "values" => {
                let bits = if kflag { lskel_abi::btf::bits::member_bit_offset(moff) } else { moff };
                def.values_offset = Some(bits / 8);
                def.inner = values_field(btf, name, &def, m + 1 == members.len(), mty, inner)?;
                def.value_size = 4;
                value_size = None;
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
            what: if def.map_type == 0 {
                "no map type; declare it with `__uint(type, BPF_MAP_TYPE_...)`".to_string()
            } else {
                format!(
                    "map type {} is unknown (valid: 1..={BPF_MAP_TYPE_ARENA})",
                    def.map_type
                )
            },
        });
    }
    // A map-in-map without an inner definition is created with the inner map the user gives
    // before load (`set_inner_map`); the loader fails naming the map when none was given.
    // libbpf creates these map types without BTF key/value types: the kernel refuses them.
    use map_type::*;
    if matches!(
        def.map_type,
        PERF_EVENT_ARRAY
            | CGROUP_ARRAY
            | STACK_TRACE
            | ARRAY_OF_MAPS
            | HASH_OF_MAPS
            | DEVMAP
            | CPUMAP
            | XSKMAP
            | SOCKMAP
            | SOCKHASH
            | QUEUE
            | STACK
            | DEVMAP_HASH
            | ARENA
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

    #[test]
    fn pinning_values() {
        assert!(!pinning("m", LIBBPF_PIN_NONE, false).unwrap());
        assert!(pinning("m", LIBBPF_PIN_BY_NAME, false).unwrap());
        let e = pinning("counts", 2, false).unwrap_err().to_string();
        assert!(e.contains("counts") && e.contains("`pinning` is 2"), "{e}");
        let e = pinning("outer.inner", 1, true).unwrap_err().to_string();
        assert!(e.contains("outer.inner") && e.contains("inner map"), "{e}");
    }
}
