//! struct_ops maps: the object's layout of each struct for the runtime, and the method that
//! registers each map.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

use crate::maps::MapOrigin;
use crate::Skeleton;

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

/// What struct_ops maps put in the generated module.
pub(super) struct StructOpsParts {
    pub struct_ops: Vec<TokenStream>,
    pub struct_ops_attach: Vec<TokenStream>,
}

/// The `SkelSpec.struct_ops` entries and the `attach_<map>` methods.
pub(super) fn struct_ops_parts(skel: &Skeleton) -> StructOpsParts {
    let plan = &skel.plan;
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
    StructOpsParts {
        struct_ops: struct_ops.into_iter().collect(),
        struct_ops_attach: struct_ops_attach.into_iter().collect(),
    }
}
