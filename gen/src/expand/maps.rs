//! The generated map API: `skel.maps().x()` returns a typed handle where the object's BTF gives
//! the map's key and value types, else the raw `lskel::Map`.
//!
//! | map type | handle |
//! |---|---|
//! | hash, array, LRU hash, LPM trie | `TypedMap<'a, K, V>` |
//! | per-CPU hash, per-CPU array, LRU per-CPU hash | `PerCpuMap<'a, K, V>` |
//! | queue, stack | `Queue<'a, V>` |
//! | bloom filter | `BloomFilter<'a, V>` |
//! | anything else, or no BTF key/value type | `Map<'a>` |
//!
//! Accessors make no system call: every handle is built from the map's shape (type, key and
//! value sizes), computed once at load from the object's sizes and the `OpenMap` overrides
//! (`set_key_size`, `set_value_size`) and kept in the skeleton. A size changed before load
//! no longer matches the generated types: the typed operations then fail with an error.

use proc_macro2::TokenStream;
use quote::quote;

use super::types::{ident, section_field_name, TypeGen};
use crate::abi::map_type;
use crate::maps::MapOrigin;
use crate::plan::Plan;

/// How map `i` is handed out.
enum Handle {
    Raw,
    Typed(TokenStream, TokenStream),
    PerCpu(TokenStream, TokenStream),
    Queue(TokenStream),
    Bloom(TokenStream),
}

/// The type `__type(field, T)` declares in the `.maps` definition of map `name`: the pointee of
/// its member `field`.
fn declared_type(btf: &crate::btf::Btf, name: &str, field: &str) -> Option<u32> {
    use crate::btf::kind;
    let maps = btf.ids().find(|&id| {
        btf.get(id).is_ok_and(|t| {
            t.kind() == kind::DATASEC && btf.name(t.name_off).is_ok_and(|n| n == ".maps")
        })
    })?;
    let var = (btf.get(maps).ok()?.secinfos()).find_map(|(var, _, _)| {
        let v = btf.get(var).ok()?;
        (btf.name(v.name_off).ok()? == name).then_some(v.size_or_type)
    })?;
    let def = btf.get(btf.skip_mods_and_typedefs(var).ok()?).ok()?;
    let member = def
        .members()
        .find_map(|(name_off, ty, _)| (btf.name(name_off).ok()? == field).then_some(ty))?;
    let ptr = btf.get(member).ok()?;
    (ptr.kind() == kind::PTR).then_some(ptr.size_or_type)
}

/// The map part of a skeleton: accessors, and the shapes computed at load.
pub struct MapApi {
    handles: Vec<Handle>,
}

impl MapApi {
    /// Chooses each map's handle, generating its key and value types with `types` (before
    /// `types.definitions()` is taken). A type that cannot be generated leaves the map raw.
    pub fn new(plan: &Plan, types: &mut TypeGen<'_>) -> MapApi {
        let handles = (plan.maps.iter())
            .map(|m| {
                if m.data_kind().is_some() {
                    return Handle::Raw;
                }
                let mut ty = |id: u32| (id != 0).then(|| types.rust_type(id).ok()).flatten();
                let (k, v) = (m.btf_key_type_id, m.btf_value_type_id);
                match m.map_type {
                    map_type::HASH | map_type::ARRAY | map_type::LRU_HASH | map_type::LPM_TRIE => {
                        match (ty(k), ty(v)) {
                            (Some(k), Some(v)) => Handle::Typed(k, v),
                            _ => Handle::Raw,
                        }
                    }
                    map_type::PERCPU_HASH | map_type::PERCPU_ARRAY | map_type::LRU_PERCPU_HASH => {
                        match (ty(k), ty(v)) {
                            (Some(k), Some(v)) => Handle::PerCpu(k, v),
                            _ => Handle::Raw,
                        }
                    }
                    // Created without BTF types (the kernel refuses them), but the definition
                    // still declares the value type.
                    map_type::QUEUE | map_type::STACK => {
                        let v = declared_type(&plan.btf, &m.name, "value").unwrap_or(v);
                        ty(v).map_or(Handle::Raw, Handle::Queue)
                    }
                    map_type::BLOOM_FILTER => ty(v).map_or(Handle::Raw, Handle::Bloom),
                    _ => Handle::Raw,
                }
            })
            .collect();
        MapApi { handles }
    }

    /// The expression (in `load_with`, with `self` the open skeleton and `fds` the loaded fds)
    /// of the `Vec<MapShape>` of every map: the sizes the loader created each map with.
    pub fn shapes(&self, plan: &Plan) -> TokenStream {
        let mut struct_ops = 0usize;
        let shapes = plan.maps.iter().map(|m| {
            let (t, k, v) = (m.map_type, m.key_size, m.value_size);
            if m.data_kind().is_some() {
                return quote!(__lskel::MapShape::new(#t, #k, #v)?,);
            }
            let f = ident(&m.name);
            let value = if let MapOrigin::StructOps(_) = m.origin {
                // The runtime sized the value as the running kernel's struct.
                let s = struct_ops;
                struct_ops += 1;
                quote!(fds.struct_ops[#s].value.len() as u32)
            } else {
                quote!(self.maps.#f.value_size().unwrap_or(#v))
            };
            quote!(__lskel::MapShape::new(#t, self.maps.#f.key_size().unwrap_or(#k), #value)?,)
        });
        quote!(::std::vec![#(#shapes)*])
    }

    /// `fn __map(&self, i) -> Map`, in `impl Skel`: map `i` with its shape.
    pub fn skel_helper(&self) -> TokenStream {
        quote! {
            /// Map `i` with the shape it was created with.
            #[allow(unsafe_code)]
            fn __map(&self, i: usize) -> __lskel::Map<'_> {
                // SAFETY: `map_shapes[i]` holds the type and the sizes the loader created map
                // `i` with: the object's, or the overrides `load_with` passed to it.
                unsafe { __lskel::Map::from_shape(__lskel::AsFd::as_fd(&self.maps[i]), self.map_shapes[i]) }
            }
        }
    }

    /// The accessors of `impl<'a> Maps<'a>`.
    pub fn accessors(&self, plan: &Plan) -> Vec<TokenStream> {
        (plan.maps.iter().zip(&self.handles).enumerate())
            .map(|(i, (m, h))| {
                let f = if m.data_kind().is_some() {
                    section_field_name(&m.name)
                } else {
                    ident(&m.name)
                };
                let (ret, body, what) = match h {
                    Handle::Raw => (
                        quote!(__lskel::Map<'a>),
                        quote!(raw),
                        "raw bytes (`lskel::Map`)",
                    ),
                    Handle::Typed(k, v) => (
                        quote!(__lskel::TypedMap<'a, #k, #v>),
                        quote!(__lskel::TypedMap::new(raw)),
                        "typed keys and values",
                    ),
                    Handle::PerCpu(k, v) => (
                        quote!(__lskel::PerCpuMap<'a, #k, #v>),
                        quote!(__lskel::PerCpuMap::new(raw)),
                        "typed keys, one value per possible CPU",
                    ),
                    Handle::Queue(v) => (
                        quote!(__lskel::Queue<'a, #v>),
                        quote!(__lskel::Queue::new(raw)),
                        "push, pop, peek",
                    ),
                    Handle::Bloom(v) => (
                        quote!(__lskel::BloomFilter<'a, #v>),
                        quote!(__lskel::BloomFilter::new(raw)),
                        "push, contains",
                    ),
                };
                let doc = format!("Map `{}`: {what}; `.fd()` is its descriptor.", m.name);
                quote! {
                    #[doc = #doc]
                    pub fn #f(&self) -> #ret { let raw = self.0.__map(#i); #body }
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use quote::format_ident;

    /// The generated module of fixture `tests/bpf/<name>.bpf.o`, as one token string.
    fn expand(name: &str) -> String {
        let path = format!("{}/../tests/bpf/{name}.bpf.o", env!("CARGO_MANIFEST_DIR"));
        let data = std::fs::read(&path).unwrap();
        let skel = crate::generate(&data, name).unwrap();
        super::super::skeleton::expand(&skel, &format_ident!("{}", name), None)
            .unwrap()
            .to_string()
    }

    fn accessor(code: &str, map: &str) -> String {
        let at = code
            .find(&format!("pub fn {map} (& self) -> __lskel :: "))
            .unwrap_or_else(|| panic!("no accessor {map}"));
        let rest = &code[at..];
        rest[..rest.find('{').unwrap()].to_string()
    }

    #[test]
    fn handles_follow_the_map_type() {
        let code = expand("typed_maps");
        for (map, ret) in [
            (
                "hash",
                "TypedMap < 'a , types :: tm_key , types :: tm_val >",
            ),
            ("array", "TypedMap < 'a , u32 , types :: tm_val >"),
            ("lru", "TypedMap < 'a , u32 , u64 >"),
            ("percpu_array", "PerCpuMap < 'a , u32 , types :: tm_pcpu >"),
            ("percpu_hash", "PerCpuMap < 'a , types :: tm_key , u64 >"),
            // The loader creates queues and stacks without BTF ids; the type comes from `.maps`.
            ("queue", "Queue < 'a , types :: tm_item >"),
            ("stack", "Queue < 'a , types :: tm_item >"),
            ("bloom", "BloomFilter < 'a , u64 >"),
            ("bss", "__lskel :: Map < 'a >"),
        ] {
            let got = accessor(&code, map);
            assert!(got.contains(ret), "{map}: {got}");
        }
        // Named types only maps use keep their C names.
        assert!(code.contains("pub struct tm_key"), "{code}");
    }

    #[test]
    fn maps_without_types_stay_raw() {
        let code = expand("maps");
        for map in ["ringbuf", "raw_array", "bss"] {
            assert!(
                accessor(&code, map).contains("__lskel :: Map < 'a >"),
                "{map}"
            );
        }
        assert!(accessor(&code, "percpu_hash").contains("PerCpuMap"));
    }

    #[test]
    fn shapes_take_the_open_map_overrides() {
        let code = expand("typed_maps");
        assert!(
            code.contains("self . maps . resized . value_size () . unwrap_or (8u32)"),
            "{code}"
        );
        assert!(code.contains("self . maps . hash . key_size () . unwrap_or (16u32)"));
    }
}
