//! The per-map settings of the open skeleton (maps that are not data sections).

use proc_macro2::{Ident, TokenStream};
use quote::quote;

use crate::expand::types::ident;
use crate::plan::Plan;

/// What the maps put in the generated module.
pub(super) struct MapParts {
    pub open_map_fields: Vec<TokenStream>,
    pub open_map_inits: Vec<TokenStream>,
    pub map_settings: Vec<TokenStream>,
}

/// The open skeleton's settings of each map that is not a data section.
pub(super) fn map_parts(plan: &Plan) -> MapParts {
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
    MapParts {
        open_map_fields: open_map_fields.into_iter().collect(),
        open_map_inits: open_map_inits.into_iter().collect(),
        map_settings: map_settings.into_iter().collect(),
    }
}
