//! The generated skeleton module: embedded loader, typed global data, open skeleton (settings
//! before load) and loaded skeleton (fds by name, mmaped globals).
//!
//! Each part of the object has its generator, as libbpf-cargo's `gen_skel_*_defs`: data
//! sections (`data`), maps (`maps`), programs (`progs`), struct_ops (`struct_ops`) and the
//! spec the runtime reads (`spec`); `expand` puts their items in the module.

mod data;
mod maps;
mod progs;
mod spec;
mod struct_ops;

use proc_macro2::{Ident, Literal, TokenStream};
use quote::quote;

use crate::sign::Signed;
use crate::Result;
use crate::Skeleton;
use data::DataParts;
use maps::MapParts;
use progs::ProgParts;
use spec::SpecParts;
use struct_ops::StructOpsParts;

/// Generates `pub mod #name { ... }` for `skel`. `object_path`, when given, is embedded with
/// `include_bytes!` so cargo rebuilds when the object changes.
pub fn expand(skel: &Skeleton, name: &Ident, object_path: Option<&str>) -> Result<TokenStream> {
    expand_signed(skel, name, object_path, None)
}

/// [`expand`] for a skeleton that may be signed: with `signed` (what
/// [`crate::generate_signed_with`] returned with `skel`), the module also holds `SIGNATURE`
/// and `SIGNING`, its loader carries them (`TrustedLoader::with_signing`), and it exposes
/// `pub const SIGNED: bool = true` and `pub fn signing()`. With `None` it is exactly
/// [`expand`]'s output.
pub fn expand_signed(
    skel: &Skeleton,
    name: &Ident,
    object_path: Option<&str>,
    signed: Option<&Signed>,
) -> Result<TokenStream> {
    let plan = &skel.plan;
    let (mut types, datasecs, sec_defs) = data::data_sections(skel)?;
    let map_api = super::maps::MapApi::new(plan, &mut types);
    types.define_all()?;
    let type_defs = types.definitions();
    let types_doc = super::types::module_doc(types.skipped());

    let data = Literal::byte_string(&skel.loader.blob);
    let insns = Literal::byte_string(&skel.loader.insns);
    let (n_maps, n_progs) = (plan.maps.len(), plan.programs.len());
    let obj_name = &plan.name;
    let kconfig = spec::kconfig_spec(plan);
    let steps = &skel.loader.steps;
    let include = object_path.map(|p| {
        quote!(
            const _: &[u8] = include_bytes!(#p);
        )
    });

    let DataParts {
        open_fields,
        open_inits,
        initial,
        initial_sizes,
        mmap_fields,
        mmap_inits,
        zeroed_copies,
        data_accessors,
        views,
    } = data::data_parts(plan, &datasecs);
    let MapParts {
        open_map_fields,
        open_map_inits,
        map_settings,
    } = maps::map_parts(plan);
    let (map_accessors, map_shapes) = (map_api.accessors(plan), map_api.shapes(plan));
    let map_helper = map_api.skel_helper();
    let ProgParts {
        prog_accessors,
        open_prog_fields,
        open_prog_inits,
        open_progs,
    } = progs::prog_parts(plan);
    let SpecParts { btf_ids, targets } = spec::spec_parts(plan);
    let StructOpsParts {
        struct_ops,
        struct_ops_attach,
    } = struct_ops::struct_ops_parts(skel);
    let ctx_size = skel.loader.ctx_size;
    // An interpreter loader hands its fds back in its blob's ctx area.
    let trusted = match skel.loader.ctx_area {
        Some(area) => {
            let area = area as usize;
            quote!(unsafe { __lskel::TrustedLoader::with_ctx_area(DATA, INSNS, #area) })
        }
        None => quote!(unsafe { __lskel::TrustedLoader::new(DATA, INSNS) }),
    };
    let (trusted, signing_items) = match signed {
        Some(signed) => (
            quote!(#trusted.with_signing(&SIGNING)),
            signing_items(signed),
        ),
        None => (trusted, TokenStream::new()),
    };
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
            #signing_items
            // The one `unsafe` of the expansion: DATA and INSNS are the loader lskel-gen generated
            // for this object, and the rest of SPEC is what it emitted with them.
            #[allow(unsafe_code)]
            static SPEC: __lskel::SkelSpec = __lskel::SkelSpec { name: #obj_name, loader: #trusted, n_maps: #n_maps, n_progs: #n_progs, kconfig: #kconfig, steps: &[#(#steps),*], targets: &[#(#targets)*], struct_ops: &[#(#struct_ops)*], ctx_size: #ctx_size, initial_sizes: &[#(#initial_sizes)*], map_defs: #map_defs };

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
                    self.loaded(fds)
                }

                /// Loads with options, and tells where the time went: the loader's map, its
                /// verification and its run, and the rest (user space), with the loader's
                /// written and verified instruction counts. A plain `load` measures nothing.
                pub fn load_with_stats(self, opts: &__lskel::LoadOptions) -> __lskel::Result<(Skel, __lskel::LoadStats)> {
                    let start = ::std::time::Instant::now();
                    let (fds, mut stats) = __lskel::load_with_stats(&SPEC, &[#(#map_settings)*], &[#(#initial)*], &[#(#open_progs)*], opts)?;
                    let skel = self.loaded(fds)?;
                    stats.finish(start);
                    Ok((skel, stats))
                }

                /// The loaded skeleton over the loader's fds: data sections mapped, zeroed ones written.
                fn loaded(self, fds: __lskel::SkelFds) -> __lskel::Result<Skel> {
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

/// The signing statics of a signed skeleton and what it exposes of them.
fn signing_items(signed: &Signed) -> TokenStream {
    let signature = Literal::byte_string(&signed.signature);
    let (loader_sha256, blob_sha256) = (&signed.loader_sha256, &signed.blob_sha256);
    let ctx_overrides = signed.ctx_overrides;
    quote! {
        /// The loader's detached PKCS#7 signature (DER), made when the skeleton was built.
        static SIGNATURE: &[u8] = #signature;
        /// What the runtime hands the kernel for the signed loader.
        static SIGNING: __lskel::Signing = __lskel::Signing {
            signature: SIGNATURE,
            loader_sha256: [#(#loader_sha256),*],
            blob_sha256: [#(#blob_sha256),*],
            ctx_overrides: #ctx_overrides,
        };
        /// Whether this skeleton's loader is signed (it is: built with `sign(...)`).
        pub const SIGNED: bool = true;
        /// The loader's signature and digests, for inspection (the runtime uses them itself).
        pub fn signing() -> ::core::option::Option<&'static ::lskel::sign::Signing> {
            SPEC.loader.signing()
        }
    }
}
