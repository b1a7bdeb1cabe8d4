//! The skeleton's global data: one typed struct per data section, its initial value in the
//! open skeleton, its mapping in the loaded one, and the view of a writable section.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use crate::expand::types::{ident, section_field_name, section_type_name, SecVar, TypeGen};
use crate::maps::{DataKind, MapOrigin};
use crate::plan::Plan;
use crate::{Result, Skeleton};

/// A data section exposed with a typed struct.
pub(super) struct DataSec {
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

/// The data sections with a typed struct, in object order (the order their types are named
/// in): their descriptions, the type generator that named them, and their struct definitions.
pub(super) fn data_sections(
    skel: &Skeleton,
) -> Result<(TypeGen<'_>, Vec<DataSec>, Vec<TokenStream>)> {
    let plan = &skel.plan;
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
    Ok((types, datasecs, sec_defs))
}

/// What the data sections put in the generated module.
pub(super) struct DataParts {
    pub open_fields: Vec<TokenStream>,
    pub open_inits: Vec<TokenStream>,
    pub initial: Vec<TokenStream>,
    pub initial_sizes: Vec<TokenStream>,
    pub mmap_fields: Vec<TokenStream>,
    pub mmap_inits: Vec<TokenStream>,
    pub zeroed_copies: Vec<TokenStream>,
    pub data_accessors: Vec<TokenStream>,
    pub views: Vec<TokenStream>,
}

/// The skeleton items of the data sections `datasecs`.
pub(super) fn data_parts(plan: &Plan, datasecs: &[DataSec]) -> DataParts {
    // Open skeleton: typed copies of globals and per-map settings.
    let open_fields = datasecs.iter().filter(|d| d.settable).map(|d| {
        let (f, t) = (&d.field, &d.ty);
        let doc = format!(
            "Initial value of `{}`, written to the map at load.",
            plan.maps[d.map_index].name
        );
        quote!(#[doc = #doc] pub #f: __lskel::OpenData<#t>,)
    });
    let open_inits = datasecs.iter().filter(|d| d.settable).map(|d| {
        let (f, t, off, size) = (&d.field, &d.ty, d.init_off, d.value_size as usize);
        if d.zeroed {
            quote!(#f: __lskel::OpenData::<#t>::zeroed(),)
        } else {
            quote!(#f: __lskel::OpenData::<#t>::new(&DATA[#off..#off + #size]),)
        }
    });
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
    // A zeroed section the user never wrote is not copied: the kernel's new map is zeros.
    let zeroed_copies = datasecs.iter().filter(|d| d.settable && d.zeroed).map(|d| {
        let f = &d.field;
        quote!(if self.#f.written() { skel.#f.write(&*self.#f); })
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
    DataParts {
        open_fields: open_fields.into_iter().collect(),
        open_inits: open_inits.into_iter().collect(),
        initial: initial.into_iter().collect(),
        initial_sizes: initial_sizes.into_iter().collect(),
        mmap_fields: mmap_fields.into_iter().collect(),
        mmap_inits: mmap_inits.into_iter().collect(),
        zeroed_copies: zeroed_copies.into_iter().collect(),
        data_accessors: data_accessors.into_iter().collect(),
        views: views.into_iter().collect(),
    }
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
