//! The generated skeleton module: embedded loader, typed global data, open skeleton (settings
//! before load) and loaded skeleton (fds by name, mmaped globals).

use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote};

use super::types::{ident, section_field_name, section_type_name, SecVar, TypeGen};
use crate::maps::{DataKind, MapOrigin};
use crate::Result;
use crate::Skeleton;

/// A data section exposed with a typed struct.
struct DataSec {
    map_index: usize,
    field: Ident,
    ty: Ident,
    readonly: bool,
    settable: bool,
    /// Starts as zeros: no bytes in the blob; user values go in through the mmap after load.
    zeroed: bool,
    value_size: u32,
    init_off: usize,
    /// The variables with a field, for the accessors of writable sections.
    vars: Vec<SecVar>,
}

/// Method names of a section view that fields must not take.
const VIEW_METHODS: &[&str] = &["read", "write", "as_ptr"];

/// `BssView<'a>`: the view of a writable section that `skel.bss()` returns. It never makes a
/// reference to the mapped value (programs write it): each variable gets a getter that copies it
/// out, a setter, and, for integers and enums of 1, 2, 4 or 8 aligned bytes, an atomic.
/// Getters and setters of those integers are relaxed atomic loads and stores; other values are
/// volatile copies.
///
/// Names: the getter is the variable's name, the setter `set_<name>`, the atomic
/// `<name>_atomic`. A name that is taken (by `read`, `write`, `as_ptr`, or by an earlier
/// method: getters are named first, in offset order, then setters, then atomics) gets `_`
/// appended until it is free.
fn section_view(sec: &str, d: &DataSec) -> TokenStream {
    let (t, f) = (&d.ty, &d.field);
    let view = format_ident!("{}View", t.to_string().trim_start_matches("r#"));
    let mut taken: std::collections::HashSet<String> =
        VIEW_METHODS.iter().map(|s| s.to_string()).collect();
    let mut claim = |name: String| {
        let mut name = name;
        while !taken.insert(name.clone()) {
            name.push('_');
        }
        ident(&name)
    };
    let getters: Vec<Ident> = d.vars.iter().map(|v| claim(v.c_name.clone())).collect();
    let setters: Vec<Ident> = (d.vars.iter())
        .map(|v| claim(format!("set_{}", v.c_name)))
        .collect();
    let atomics: Vec<Option<Ident>> = (d.vars.iter())
        .map(|v| {
            v.atomic
                .as_ref()
                .map(|_| claim(format!("{}_atomic", v.c_name)))
        })
        .collect();
    let methods = d.vars.iter().enumerate().map(|(k, v)| {
        let (field, ty, get, set) = (&v.field, &v.ty, &getters[k], &setters[k]);
        let off = quote!(::core::mem::offset_of!(#t, #field));
        let name = &v.c_name;
        match (&v.atomic, &atomics[k]) {
            (Some(a), Some(at)) => {
                let doc_get = format!("`{name}`: a relaxed atomic load.");
                let doc_set = format!("Sets `{name}`: a relaxed atomic store, seen by the programs.");
                let doc_at = format!("`{name}` as an atomic (`fetch_add`, `compare_exchange`, orderings of your choice).");
                quote! {
                    #[doc = #doc_get]
                    pub fn #get(&self) -> #ty { self.0.atomic_at::<::core::sync::atomic::#a>(#off).load(::core::sync::atomic::Ordering::Relaxed) }
                    #[doc = #doc_set]
                    pub fn #set(&self, value: #ty) { self.0.atomic_at::<::core::sync::atomic::#a>(#off).store(value, ::core::sync::atomic::Ordering::Relaxed) }
                    #[doc = #doc_at]
                    pub fn #at(&self) -> &'a ::core::sync::atomic::#a { self.0.atomic_at::<::core::sync::atomic::#a>(#off) }
                }
            }
            _ => {
                let doc_get = format!("A copy of `{name}` (volatile reads; it may tear if a program writes it meanwhile).");
                let doc_set = format!("Sets `{name}` (volatile writes), seen by the programs.");
                quote! {
                    #[doc = #doc_get]
                    pub fn #get(&self) -> #ty { self.0.read_at::<#ty>(#off) }
                    #[doc = #doc_set]
                    pub fn #set(&self, value: #ty) { self.0.write_at::<#ty>(#off, value) }
                }
            }
        }
    });
    let doc = format!("`{sec}` of a loaded skeleton, as the programs see it: copies values in and out, never a reference to them (programs change them at any time). Setters take `&self`: integers are written atomically; other values with volatile copies, which may tear if written from two places at once.");
    let doc_read = format!("A copy of the whole of `{sec}` (volatile reads; fields may tear if a program writes them meanwhile).");
    let doc_write = format!("Overwrites the whole of `{sec}` (volatile writes).");
    quote! {
        #[doc = #doc]
        #[derive(Clone, Copy)]
        pub struct #view<'a>(&'a __lskel::MappedData<#t>);

        impl<'a> #view<'a> {
            #[doc = #doc_read]
            pub fn read(&self) -> #t { self.0.read() }
            #[doc = #doc_write]
            pub fn write(&self, value: &#t) { self.0.write(value) }
            /// The address of the mapped value (do not make references from it).
            pub fn as_ptr(&self) -> *const #t { self.0.as_ptr() }
            #(#methods)*
        }

        impl Skel {
            #[doc = #doc]
            pub fn #f(&self) -> #view<'_> { #view(&self.#f) }
        }
    }
}

/// `Some(SkelKconfig { .. })` describing the `.kconfig` map, or `None`.
fn kconfig_spec(plan: &crate::plan::Plan) -> TokenStream {
    use crate::externs::{ExternKind, KconfigType};
    let Some(map) = plan
        .maps
        .iter()
        .position(|m| m.data_kind() == Some(DataKind::Kconfig))
    else {
        return quote!(::core::option::Option::None);
    };
    let size = plan.maps[map].value_size as usize;
    let externs = plan.externs.list.iter().filter_map(|e| {
        let ExternKind::Kconfig { offset, ty } = e.kind else {
            return None;
        };
        let ty = match ty {
            KconfigType::Bool => quote!(__lskel::KconfigType::Bool),
            KconfigType::Tristate => quote!(__lskel::KconfigType::Tristate),
            KconfigType::Char => quote!(__lskel::KconfigType::Char),
            KconfigType::Int { size, signed } => {
                let size = size as usize;
                quote!(__lskel::KconfigType::Int { size: #size, signed: #signed })
            }
            KconfigType::Str { len } => {
                let len = len as usize;
                quote!(__lskel::KconfigType::Str { len: #len })
            }
        };
        let (name, offset, weak) = (&e.name, offset as usize, e.weak);
        Some(quote!(__lskel::KconfigExtern { name: #name, offset: #offset, ty: #ty, weak: #weak },))
    });
    quote!(::core::option::Option::Some(__lskel::SkelKconfig { map: #map, size: #size, externs: &[#(#externs)*] }))
}

/// `SkelStructOps { .. },` for each struct_ops map: the object's layout of its struct, which
/// the runtime moves into the running kernel's layout by member name.
fn struct_ops_specs(skel: &Skeleton) -> Vec<TokenStream> {
    let plan = &skel.plan;
    (plan.maps.iter().enumerate())
        .filter_map(|(i, m)| match &m.origin {
            MapOrigin::StructOps(s) => Some((i, s)),
            _ => None,
        })
        .map(|(i, s)| {
            let start = s.data_offset as usize;
            let data = Literal::byte_string(s.value.get(start..).unwrap_or_default());
            let members = s.members.iter().map(|m| {
                let (name, offset, size) = (&m.name, m.offset, m.size);
                // The program each function member points at, by program index.
                let prog = m.func.and_then(|k| {
                    let name = &s.funcs.get(k)?.2;
                    plan.programs.iter().position(|p| &p.def.func.name == name)
                });
                let func = match prog {
                    Some(j) => quote!(::core::option::Option::Some(#j)),
                    None => quote!(::core::option::Option::None),
                };
                quote!(__lskel::SkelStructOpsMember { name: #name, offset: #offset, size: #size, func: #func },)
            });
            let (name, struct_name, link) = (&s.name, &s.struct_name, s.link);
            quote!(__lskel::SkelStructOps { map: #i, name: #name, struct_name: #struct_name, link: #link, data: #data, members: &[#(#members)*] },)
        })
        .collect()
}

/// Generates `pub mod #name { ... }` for `skel`. `object_path`, when given, is embedded with
/// `include_bytes!` so cargo rebuilds when the object changes.
pub fn expand(skel: &Skeleton, name: &Ident, object_path: Option<&str>) -> Result<TokenStream> {
    let plan = &skel.plan;
    // The data sections with a typed struct, in object order: the order their types are named in.
    let sections: Vec<(usize, DataKind, u32)> = plan
        .maps
        .iter()
        .enumerate()
        .filter_map(|(i, map)| match &map.origin {
            MapOrigin::Data {
                kind,
                datasec: Some(datasec),
                ..
            } if map.is_mmapable() => Some((i, *kind, *datasec)),
            _ => None,
        })
        .collect();
    let named: Vec<(u32, &str)> = sections
        .iter()
        .map(|&(i, _, datasec)| (datasec, plan.maps[i].name.as_str()))
        .collect();
    let mut types = TypeGen::new(&plan.btf, &named)?;
    let mut datasecs = Vec::new();
    let mut sec_defs = Vec::new();
    for &(i, kind, datasec) in &sections {
        let map = &plan.maps[i];
        let ty = section_type_name(&map.name);
        let (def, vars) = types.datasec_struct(datasec, &ty)?;
        sec_defs.push(def);
        datasecs.push(DataSec {
            map_index: i,
            field: section_field_name(&map.name),
            ty,
            readonly: kind.is_readonly(),
            // `.kconfig` is computed by the runtime at load: readable after load, not settable.
            settable: kind != DataKind::Kconfig,
            zeroed: map.starts_zeroed(),
            value_size: map.value_size,
            init_off: skel.loader.data_init[i].unwrap_or(0) as usize,
            vars,
        });
    }
    let map_api = super::maps::MapApi::new(plan, &mut types);
    types.define_all()?;
    let type_defs = types.definitions();
    let types_doc = super::types::module_doc(types.skipped());

    let data = Literal::byte_string(&skel.loader.blob);
    let insns = Literal::byte_string(&skel.loader.insns);
    let (n_maps, n_progs) = (plan.maps.len(), plan.programs.len());
    let obj_name = &plan.name;
    let rodata_maps: Vec<usize> = plan
        .maps
        .iter()
        .enumerate()
        .filter(|(_, m)| m.data_kind() == Some(DataKind::Rodata))
        .map(|(i, _)| i)
        .collect();
    let kconfig = kconfig_spec(plan);
    let steps = &skel.loader.steps;
    let include = object_path.map(|p| {
        quote!(
            const _: &[u8] = include_bytes!(#p);
        )
    });

    // Open skeleton: typed copies of globals and per-map settings.
    let open_fields = datasecs.iter().filter(|d| d.settable).map(|d| {
        let (f, t) = (&d.field, &d.ty);
        let doc = format!(
            "Initial value of `{}`, written to the map at load.",
            plan.maps[d.map_index].name
        );
        quote!(#[doc = #doc] pub #f: ::std::boxed::Box<#t>,)
    });
    let open_inits = datasecs.iter().filter(|d| d.settable).map(|d| {
        let (f, t, off, size) = (&d.field, &d.ty, d.init_off, d.value_size as usize);
        if d.zeroed {
            quote!(#f: __lskel::pod_boxed::<#t>(&[]),)
        } else {
            quote!(#f: __lskel::pod_boxed::<#t>(&DATA[#off..#off + #size]),)
        }
    });
    let user_maps: Vec<(usize, Ident, u32)> = plan
        .maps
        .iter()
        .enumerate()
        .filter(|(_, m)| m.data_kind().is_none())
        .map(|(i, m)| (i, ident(&m.name), m.max_entries))
        .collect();
    let open_map_fields = user_maps.iter().map(|(_, f, _)| {
        let doc = format!("Settings of map `{f}` before load.");
        quote!(#[doc = #doc] pub #f: __lskel::OpenMap,)
    });
    let open_map_inits = user_maps
        .iter()
        .map(|(_, f, n)| quote!(#f: __lskel::OpenMap::new(#n),));
    let map_settings = user_maps
        .iter()
        .map(|(i, f, _)| quote!((#i, &self.maps.#f),));
    let initial = datasecs
        .iter()
        .filter(|d| d.settable && !d.zeroed)
        .map(|d| {
            let (i, f) = (d.map_index, &d.field);
            quote!((#i, __lskel::InitialValue::of(&*self.#f)),)
        });
    // What the loader copies from each of them: the section's size.
    let initial_sizes = datasecs
        .iter()
        .filter(|d| d.settable && !d.zeroed)
        .map(|d| {
            let (i, size) = (d.map_index, d.value_size as usize);
            quote!((#i, #size),)
        });

    // Loaded skeleton.
    let mmap_fields = datasecs.iter().map(|d| {
        let (f, t) = (&d.field, &d.ty);
        if d.readonly {
            quote!(#f: __lskel::MappedRoData<#t>,)
        } else {
            quote!(#f: __lskel::MappedData<#t>,)
        }
    });
    let mmap_inits = datasecs.iter().map(|d| {
        let (f, t, i) = (&d.field, &d.ty, d.map_index);
        if d.readonly {
            quote!(#f: __lskel::MappedRoData::<#t>::new(__lskel::AsFd::as_fd(&fds.maps[#i]))?,)
        } else {
            quote!(#f: __lskel::MappedData::<#t>::new(__lskel::AsFd::as_fd(&fds.maps[#i]))?,)
        }
    });
    let zeroed_copies = datasecs.iter().filter(|d| d.settable && d.zeroed).map(|d| {
        let f = &d.field;
        quote!(skel.#f.write(&*self.#f);)
    });
    // `.rodata` and `.kconfig` are frozen and read-only for programs: a plain reference.
    let data_accessors = datasecs.iter().filter(|d| d.readonly).map(|d| {
        let (f, t) = (&d.field, &d.ty);
        let sec = &plan.maps[d.map_index].name;
        let doc = format!("`{sec}`, mapped from the kernel's map (frozen: it never changes).");
        quote!(#[doc = #doc] pub fn #f(&self) -> &#t { self.#f.get() })
    });
    let views = datasecs
        .iter()
        .filter(|d| !d.readonly)
        .map(|d| section_view(&plan.maps[d.map_index].name, d));
    let (map_accessors, map_shapes) = (map_api.accessors(plan), map_api.shapes(plan));
    let map_helper = map_api.skel_helper();
    let prog_accessors = plan.programs.iter().enumerate().map(|(j, p)| {
        let f = ident(&p.def.func.name);
        let doc = format!("Program `{}` (section `{}`); `None` when it was not loaded (autoload off).", p.def.func.name, p.def.func.section);
        quote!(#[doc = #doc] pub fn #f(&self) -> ::core::option::Option<__lskel::BorrowedFd<'a>> { self.0.progs[#j].as_ref().map(__lskel::AsFd::as_fd) })
    });
    let open_prog_fields = plan.programs.iter().map(|p| {
        let f = ident(&p.def.func.name);
        let doc = format!(
            "Whether program `{}` is loaded (section `{}`).",
            p.def.func.name, p.def.func.section
        );
        quote!(#[doc = #doc] pub #f: __lskel::OpenProg,)
    });
    let open_prog_inits = plan.programs.iter().map(|p| {
        let f = ident(&p.def.func.name);
        let on = !p.def.autoload_off;
        quote!(#f: __lskel::OpenProg::new(#on),)
    });
    let open_progs = plan.programs.iter().map(|p| {
        let f = ident(&p.def.func.name);
        quote!(&self.progs.#f,)
    });
    // BTF ids of the object's functions: what a `freplace` program of another skeleton names
    // with `set_attach_target_prog` (the loaded BTF keeps the object's ids).
    let mut seen = std::collections::HashSet::new();
    let btf_ids: Vec<TokenStream> = plan
        .btf
        .ids()
        .filter_map(|id| {
            let t = plan.btf.get(id).ok()?;
            let name = plan.btf.name(t.name_off).ok()?;
            (t.kind() == crate::btf::kind::FUNC
                && !name.is_empty()
                && seen.insert(name.to_string()))
            .then(|| {
                let c = ident(name);
                let doc = format!("BTF id of function `{name}`.");
                quote!(#[doc = #doc] pub const #c: u32 = #id;)
            })
        })
        .collect();
    // In ctx entry order: the runtime fills entry k from `targets[k]`.
    let targets = plan.targets.iter().map(|&j| {
        let prefix = (plan.programs[j].target.as_ref())
            .and_then(|t| t.prefix())
            .expect("a program with a ctx entry has a target set before load");
        quote!((#j, #prefix),)
    });
    let struct_ops = struct_ops_specs(skel);
    let struct_ops_attach = (plan.maps.iter().enumerate())
        .filter_map(|(i, m)| match &m.origin {
            MapOrigin::StructOps(s) => Some((i, s)),
            _ => None,
        })
        .enumerate()
        .map(|(k, (i, s))| {
            let f = format_ident!("attach_{}", s.name);
            let doc = if s.link {
                format!("Registers struct_ops map `{}` (`struct {}`): writes its value with the program fds, then creates the link that registers it; dropping the link unregisters it.", s.name, s.struct_name)
            } else {
                format!("Registers struct_ops map `{}` (`struct {}`) by writing its value with the program fds (a `.struct_ops` map without a link: `None`; it stays registered until the map's value is deleted).", s.name, s.struct_name)
            };
            quote! {
                #[doc = #doc]
                pub fn #f(&self) -> __lskel::Result<::core::option::Option<::lskel::Link>> {
                    __lskel::attach_struct_ops_value(__lskel::AsFd::as_fd(&self.maps[#i]), &self.struct_ops[#k])
                }
            }
        })
        .collect::<Vec<_>>();
    let ctx_size = skel.loader.ctx_size;
    let (map_defs, pin_methods) = (
        super::pinning::map_defs(plan),
        super::pinning::open_skel_methods(plan),
    );
    let links = super::links::expand(skel)?;
    let (links_items, links_init) = (&links.items, &links.init);
    let mod_doc =
        format!("Light skeleton of BPF object `{obj_name}`: {n_maps} maps, {n_progs} programs.");

    Ok(quote! {
        #[doc = #mod_doc]
        #[allow(non_camel_case_types, non_snake_case, non_upper_case_globals, dead_code, unused_imports, unused_mut, clippy::all, clippy::pedantic)]
        pub mod #name {
            use ::lskel::__private as __lskel;
            #include

            /// The loader's data blob.
            static DATA: &[u8] = #data;
            /// The loader program.
            static INSNS: &[u8] = #insns;
            // The one `unsafe` of the expansion: DATA and INSNS are the loader lskel-gen generated
            // for this object, and the rest of SPEC is what it emitted with them.
            #[allow(unsafe_code)]
            static SPEC: __lskel::SkelSpec = __lskel::SkelSpec { name: #obj_name, loader: unsafe { __lskel::TrustedLoader::new(DATA, INSNS) }, n_maps: #n_maps, n_progs: #n_progs, rodata_maps: &[#(#rodata_maps),*], kconfig: #kconfig, steps: &[#(#steps),*], targets: &[#(#targets)*], struct_ops: &[#(#struct_ops)*], ctx_size: #ctx_size, initial_sizes: &[#(#initial_sizes)*], map_defs: #map_defs };

            /// BTF ids of the object's functions, for `freplace` programs that extend them.
            pub mod btf_ids {
                #(#btf_ids)*
            }

            #[doc = #types_doc]
            pub mod types {
                use ::lskel::__private as __lskel;
                #(#type_defs)*
            }

            #(#sec_defs)*
            #(#views)*

            /// The skeleton before load: set global data and map sizes, then `load()`.
            pub struct OpenSkel {
                #(#open_fields)*
                /// Per-map settings.
                pub maps: OpenMaps,
                /// Per-program settings.
                pub progs: OpenProgs,
            }

            /// Settings of each map before load.
            pub struct OpenMaps {
                #(#open_map_fields)*
            }

            /// Settings of each program before load.
            pub struct OpenProgs {
                #(#open_prog_fields)*
            }

            /// Opens the skeleton: global data starts as the object's initial values.
            pub fn open() -> OpenSkel {
                OpenSkel {
                    #(#open_inits)*
                    maps: OpenMaps { #(#open_map_inits)* },
                    progs: OpenProgs { #(#open_prog_inits)* },
                }
            }

            impl OpenSkel {
                /// Loads maps and programs into the kernel.
                pub fn load(self) -> __lskel::Result<Skel> {
                    self.load_with(&__lskel::LoadOptions::default())
                }

                /// Loads with options (e.g. a verifier log level).
                pub fn load_with(self, opts: &__lskel::LoadOptions) -> __lskel::Result<Skel> {
                    let fds = __lskel::load(&SPEC, &[#(#map_settings)*], &[#(#initial)*], &[#(#open_progs)*], opts)?;
                    let map_shapes = #map_shapes;
                    let mut skel = Skel {
                        map_shapes,
                        links: #links_init,
                        #(#mmap_inits)*
                        maps: fds.maps,
                        progs: fds.progs,
                        struct_ops: fds.struct_ops,
                    };
                    #(#zeroed_copies)*
                    Ok(skel)
                }
            }
            #pin_methods

            /// The loaded skeleton. Dropping it closes every map and program fd it owns.
            pub struct Skel {
                // First: links drop before the program and map fds.
                links: Links,
                #(#mmap_fields)*
                maps: ::std::vec::Vec<__lskel::OwnedFd>,
                map_shapes: ::std::vec::Vec<__lskel::MapShape>,
                progs: ::std::vec::Vec<::core::option::Option<__lskel::OwnedFd>>,
                struct_ops: ::std::vec::Vec<__lskel::StructOpsValue>,
            }

            impl Skel {
                /// The maps, by name.
                pub fn maps(&self) -> Maps<'_> { Maps(self) }
                /// The programs, by name.
                pub fn progs(&self) -> Progs<'_> { Progs(self) }
                #(#data_accessors)*
                #(#struct_ops_attach)*
                #map_helper
            }

            #links_items

            /// The maps of a loaded skeleton, typed where the object's BTF gives key and value types.
            pub struct Maps<'a>(&'a Skel);
            impl<'a> Maps<'a> {
                #(#map_accessors)*
            }

            /// Program fds of a loaded skeleton.
            pub struct Progs<'a>(&'a Skel);
            impl<'a> Progs<'a> {
                #(#prog_accessors)*
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var(name: &str, atomic: bool) -> SecVar {
        SecVar {
            c_name: name.to_string(),
            field: ident(name),
            ty: quote!(u64),
            atomic: atomic.then(|| format_ident!("AtomicU64")),
        }
    }

    #[test]
    fn view_method_names_do_not_clash() {
        let d = DataSec {
            map_index: 0,
            field: format_ident!("bss"),
            ty: format_ident!("Bss"),
            readonly: false,
            settable: true,
            zeroed: true,
            value_size: 32,
            init_off: 0,
            vars: vec![
                var("read", true),
                var("x", true),
                var("set_x", false),
                var("type", false),
            ],
        };
        let s = section_view(".bss", &d).to_string();
        for m in [
            "fn read (",
            "fn write (",
            "fn read_ (",
            "fn x (",
            "fn set_x (",
            "fn set_x_ (",
            "fn set_set_x (",
            "fn x_atomic (",
            "fn read_atomic (",
            "fn r#type (",
            "fn set_type (",
        ] {
            assert!(s.contains(m), "{m} in {s}");
        }
        assert!(!s.contains("set_x_atomic"), "{s}");
        assert!(!s.contains("fn type_atomic"), "{s}");
    }
}
