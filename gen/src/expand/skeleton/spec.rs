//! The parts of the skeleton's `SkelSpec` and `btf_ids` that describe the object to the
//! runtime: `.kconfig` externs, attach targets set before load, function BTF ids.

use proc_macro2::TokenStream;
use quote::quote;

use crate::expand::types::ident;
use crate::maps::DataKind;
use crate::plan::Plan;

/// `Some(SkelKconfig { .. })` describing the `.kconfig` map, or `None`.
pub(super) fn kconfig_spec(plan: &crate::plan::Plan) -> TokenStream {
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

/// Function BTF ids and the attach targets set before load.
pub(super) struct SpecParts {
    pub btf_ids: Vec<TokenStream>,
    pub targets: Vec<TokenStream>,
}

/// `btf_ids` consts and `SkelSpec.targets` entries.
pub(super) fn spec_parts(plan: &Plan) -> SpecParts {
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
    SpecParts {
        btf_ids: btf_ids.into_iter().collect(),
        targets: targets.into_iter().collect(),
    }
}
