//! Generated code for maps that outlive the process: the object's map definitions (what a
//! map to reuse is checked against, and which maps are pinned by name) and
//! `OpenSkel::set_pin_root`.

use proc_macro2::TokenStream;
use quote::quote;

use super::types::ident;
use crate::plan::Plan;

/// `&[SkelMapDef { .. }, ..]`: every map of the plan, in map order.
pub fn map_defs(plan: &Plan) -> TokenStream {
    let defs = plan.maps.iter().map(|m| {
        let (name, ty, key, value, max, flags, extra, pin) = (
            &m.name,
            m.map_type,
            m.key_size,
            m.value_size,
            m.max_entries,
            m.map_flags,
            m.map_extra,
            m.pin_by_name,
        );
        quote!(__lskel::SkelMapDef { name: #name, map_type: #ty, key_size: #key, value_size: #value, max_entries: #max, map_flags: #flags, map_extra: #extra, pin_by_name: #pin },)
    });
    quote!(&[#(#defs)*])
}

/// `impl OpenSkel { fn set_pin_root }`: the directory of every map pinned by name.
pub fn open_skel_methods(plan: &Plan) -> TokenStream {
    let maps = (plan.maps.iter())
        .filter(|m| m.data_kind().is_none())
        .map(|m| ident(&m.name));
    let pinned: Vec<&str> = (plan.maps.iter())
        .filter(|m| m.pin_by_name)
        .map(|m| m.name.as_str())
        .collect();
    let doc = if pinned.is_empty() {
        "Sets the directory (in a BPF file system) where maps pinned by name are pinned as `<root>/<map name>` (default `/sys/fs/bpf`). This object declares no map `LIBBPF_PIN_BY_NAME`; the root applies to none unless one is given a pin path.".to_string()
    } else {
        format!("Sets the directory (in a BPF file system) where maps pinned by name are pinned as `<root>/<map name>` (default `/sys/fs/bpf`): here {}. At load, a map pinned there already is reused (after checking its type, sizes and flags); otherwise the new map is pinned there.", pinned.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "))
    };
    quote! {
        impl OpenSkel {
            #[doc = #doc]
            pub fn set_pin_root(&mut self, root: impl ::core::convert::Into<::std::path::PathBuf>) -> &mut Self {
                let root: ::std::path::PathBuf = root.into();
                #(self.maps.#maps.set_pin_root(root.clone());)*
                let _ = root;
                self
            }
        }
    }
}
