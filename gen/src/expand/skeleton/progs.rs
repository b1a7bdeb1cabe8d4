//! The programs of the skeleton: per-program autoload settings before load, fds by name after.

use proc_macro2::TokenStream;
use quote::quote;

use crate::expand::types::ident;
use crate::plan::Plan;

/// What the programs put in the generated module.
pub(super) struct ProgParts {
    pub prog_accessors: Vec<TokenStream>,
    pub open_prog_fields: Vec<TokenStream>,
    pub open_prog_inits: Vec<TokenStream>,
    pub open_progs: Vec<TokenStream>,
}

/// The items of each program.
pub(super) fn prog_parts(plan: &Plan) -> ProgParts {
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
    ProgParts {
        prog_accessors: prog_accessors.into_iter().collect(),
        open_prog_fields: open_prog_fields.into_iter().collect(),
        open_prog_inits: open_prog_inits.into_iter().collect(),
        open_progs: open_progs.into_iter().collect(),
    }
}
