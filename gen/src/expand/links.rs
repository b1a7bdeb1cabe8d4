//! The links of a generated skeleton: `skel.attach()` (auto-attach, as libbpf's
//! `bpf_object__attach_skeleton`), the `Links` struct it fills (`skel.links().x()`), and
//! one-by-one detaching.
//!
//! Every program gets a slot (`Option<Link>`): `attach()` fills those whose section says
//! where ([`section::auto_attach`]); the others can hold a link made with the typed
//! functions (`set_x`), so it drops with the skeleton. Each `.struct_ops.link` map gets a slot
//! too (named after the map; `_` is appended on a clash with a program name). `Skel` declares
//! `links` first, so every link drops before the program and map fds.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use super::types::ident;
use crate::maps::MapOrigin;
use crate::section::{self, AutoAttach};
use crate::{Error, Result, Skeleton};

/// What skeleton.rs splices in.
pub struct LinksGen {
    /// Items of the module: `Links` and its impls, `impl Skel { attach, links, links_mut }`.
    pub items: TokenStream,
    /// `Links { .. }`: the initial value of `Skel::links`.
    pub init: TokenStream,
}

/// `__lskel::AutoAttach::...` for `a`.
fn auto_tokens(a: &AutoAttach) -> TokenStream {
    match a {
        AutoAttach::None => quote!(__lskel::AutoAttach::None),
        AutoAttach::Tracepoint { category, name } => {
            quote!(__lskel::AutoAttach::Tracepoint { category: #category, name: #name })
        }
        AutoAttach::RawTp { name } => quote!(__lskel::AutoAttach::RawTp { name: #name }),
        AutoAttach::Tracing => quote!(__lskel::AutoAttach::Tracing),
        AutoAttach::Iter => quote!(__lskel::AutoAttach::Iter),
        AutoAttach::Kprobe { func, offset, ret } => {
            quote!(__lskel::AutoAttach::Kprobe { func: #func, offset: #offset, ret: #ret })
        }
        AutoAttach::KprobeMulti { pattern, ret } => {
            quote!(__lskel::AutoAttach::KprobeMulti { pattern: #pattern, ret: #ret })
        }
        AutoAttach::Ksyscall { name, ret } => {
            quote!(__lskel::AutoAttach::Ksyscall { name: #name, ret: #ret })
        }
        AutoAttach::Uprobe {
            path,
            func,
            offset,
            ret,
        } => {
            quote!(__lskel::AutoAttach::Uprobe { path: #path, func: #func, offset: #offset, ret: #ret })
        }
        AutoAttach::Usdt {
            path,
            provider,
            name,
        } => quote!(__lskel::AutoAttach::Usdt { path: #path, provider: #provider, name: #name }),
    }
}

/// The auto-attach description of every program, in program order; a malformed target is an
/// error naming the program and its section.
pub fn auto_attach_all(skel: &Skeleton) -> Result<Vec<AutoAttach>> {
    (skel.plan.programs.iter())
        .map(|p| {
            section::auto_attach(&p.def.func.section).map_err(|what| Error::Program {
                program: p.def.func.name.clone(),
                section: p.def.func.section.clone(),
                what,
            })
        })
        .collect()
}

/// A slot of `Links`.
struct Slot {
    field: Ident,
    /// The C name, for docs.
    name: String,
    /// `Some(j)`: program `j`; `None`: a struct_ops map.
    prog: Option<usize>,
    /// `attach_<map>` for a struct_ops map.
    struct_ops_attach: Option<Ident>,
}

/// Generates the links part of the skeleton.
pub fn expand(skel: &Skeleton) -> Result<LinksGen> {
    let plan = &skel.plan;
    let autos = auto_attach_all(skel)?;
    let mut taken = std::collections::HashSet::new();
    taken.insert("detach_all".to_string());
    let mut slots = Vec::new();
    for (j, p) in plan.programs.iter().enumerate() {
        let name = p.def.func.name.clone();
        taken.insert(name.clone());
        slots.push(Slot {
            field: ident(&name),
            name,
            prog: Some(j),
            struct_ops_attach: None,
        });
    }
    for m in &plan.maps {
        let MapOrigin::StructOps(s) = &m.origin else {
            continue;
        };
        if !s.link {
            continue;
        }
        let mut f = s.name.clone();
        while !taken.insert(f.clone()) {
            f.push('_');
        }
        slots.push(Slot {
            field: ident(&f),
            name: s.name.clone(),
            prog: None,
            struct_ops_attach: Some(format_ident!("attach_{}", s.name)),
        });
    }

    let fields = slots.iter().map(|s| {
        let f = &s.field;
        quote!(#f: ::core::option::Option<__lskel::Link>,)
    });
    let inits = slots.iter().map(|s| {
        let f = &s.field;
        quote!(#f: ::core::option::Option::None,)
    });
    let methods = slots.iter().map(|s| {
        let f = &s.field;
        let raw = f.to_string();
        let raw = raw.trim_start_matches("r#");
        let detach = format_ident!("detach_{}", raw);
        let take = format_ident!("take_{}", raw);
        let set = format_ident!("set_{}", raw);
        let what = match s.prog {
            Some(j) => format!("program `{}` (section `{}`)", s.name, plan.programs[j].def.func.section),
            None => format!("struct_ops map `{}`", s.name),
        };
        let doc = format!("The link of {what}, if attached.");
        let doc_detach = format!("Detaches {what}: `true` if it was attached.");
        let doc_take = format!("Takes the link of {what} out of the skeleton (it stays attached as long as you keep it).");
        let doc_set = format!("Keeps `link` (e.g. from a typed `lskel::attach` function) as the link of {what}, so it detaches with the skeleton; returns the one it replaces.");
        quote! {
            #[doc = #doc]
            pub fn #f(&self) -> ::core::option::Option<&__lskel::Link> { self.#f.as_ref() }
            #[doc = #doc_detach]
            pub fn #detach(&mut self) -> bool { self.#f.take().is_some() }
            #[doc = #doc_take]
            pub fn #take(&mut self) -> ::core::option::Option<__lskel::Link> { self.#f.take() }
            #[doc = #doc_set]
            pub fn #set(&mut self, link: __lskel::Link) -> ::core::option::Option<__lskel::Link> { self.#f.replace(link) }
        }
    });
    let all = slots.iter().map(|s| {
        let f = &s.field;
        quote!(self.#f = ::core::option::Option::None;)
    });

    // USDT programs share one manager of the object's `__bpf_usdt_specs` map.
    let has_usdt = autos.iter().any(|a| matches!(a, AutoAttach::Usdt { .. }));
    let specs = plan.maps.iter().position(|m| m.name == "__bpf_usdt_specs");
    let usdt_fields = (slots.iter())
        .filter(|s| {
            s.prog
                .is_some_and(|j| matches!(autos[j], AutoAttach::Usdt { .. }))
        })
        .map(|s| &s.field);
    let usdt = match (has_usdt, specs) {
        (true, Some(i)) => quote! {
            let usdt = ::core::option::Option::Some(__lskel::usdt_manager(__lskel::AsFd::as_fd(&self.maps[#i]), &[#(self.links.#usdt_fields.as_ref()),*])?);
        },
        _ => quote!(),
    };
    let usdt_arg = if has_usdt && specs.is_some() {
        quote!(usdt.as_ref())
    } else {
        quote!(::core::option::Option::None)
    };
    let attach_steps = slots.iter().filter_map(|s| {
        let f = &s.field;
        match (s.prog, &s.struct_ops_attach) {
            (Some(j), _) if attaches(&autos[j]) => {
                let how = auto_tokens(&autos[j]);
                Some(quote! {
                    if self.links.#f.is_none() {
                        if let ::core::option::Option::Some(fd) = self.progs[#j].as_ref() {
                            self.links.#f = __lskel::auto_attach(__lskel::AsFd::as_fd(fd), &#how, #usdt_arg)?;
                        }
                    }
                })
            }
            (None, Some(a)) => Some(quote! {
                if self.links.#f.is_none() {
                    self.links.#f = self.#a()?;
                }
            }),
            _ => None,
        }
    });
    let auto_list: Vec<String> = (plan.programs.iter().zip(&autos))
        .filter(|(_, a)| attaches(a))
        .map(|(p, _)| format!("`{}`", p.def.func.name))
        .collect();
    let attach_doc = format!(
        "Attaches every loaded program whose section says where ({}) and every `.struct_ops.link` map, keeping the links in the skeleton (`links()`). Programs already attached are skipped, so it can be called again after detaching some. On error the links made so far stay in the skeleton (detached when it drops, or with `links_mut().detach_all()`).",
        if auto_list.is_empty() { "none in this object".to_string() } else { auto_list.join(", ") }
    );

    let items = quote! {
        /// The links of a loaded skeleton, one slot per program (and per `.struct_ops.link`
        /// map). Dropping the skeleton detaches them all, before its programs are closed.
        #[derive(Debug)]
        pub struct Links {
            #(#fields)*
        }

        impl Links {
            #(#methods)*
            /// Detaches everything.
            pub fn detach_all(&mut self) { #(#all)* }
        }

        impl Skel {
            #[doc = #attach_doc]
            pub fn attach(&mut self) -> __lskel::Result<()> {
                #usdt
                #(#attach_steps)*
                ::core::result::Result::Ok(())
            }
            /// The links kept in the skeleton.
            pub fn links(&self) -> &Links { &self.links }
            /// The links kept in the skeleton, to detach, take or set them one by one.
            pub fn links_mut(&mut self) -> &mut Links { &mut self.links }
        }
    };
    Ok(LinksGen {
        items,
        init: quote!(Links { #(#inits)* }),
    })
}

/// Whether the section says where.
fn attaches(a: &AutoAttach) -> bool {
    !matches!(a, AutoAttach::None)
}
