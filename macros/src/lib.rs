//! The `bpf_skeleton!` macro of lskel: a thin shell over `lskel_gen`. It parses the
//! arguments, reads the object, and turns any generator error into a `compile_error!`
//! spanned on the path literal. Use it through `lskel::bpf_skeleton!`.

use std::path::PathBuf;

use proc_macro::TokenStream;
use syn::parse::{Parse, ParseStream};
use syn::{parse_macro_input, Ident, LitStr, Token};

/// `bpf_skeleton!("path/to/prog.bpf.o")` or `bpf_skeleton!("path", name = my_name)`; the
/// path may also be `concat!` of string literals and `env!("VAR")`.
struct SkeletonInput {
    path: PathArg,
    name: Option<Ident>,
}

/// The path argument: its value and the tokens it was written as, for error spans.
struct PathArg {
    value: String,
    tokens: proc_macro2::TokenStream,
    span: proc_macro2::Span,
}

impl Parse for PathArg {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.peek(LitStr) {
            let lit: LitStr = input.parse()?;
            return Ok(PathArg {
                value: lit.value(),
                span: lit.span(),
                tokens: quote::ToTokens::into_token_stream(lit),
            });
        }
        if !(input.peek(Ident) && input.peek2(Token![!])) {
            return Err(input.error(
                "bpf_skeleton!: expected the object's path: a string literal, or `concat!` of string literals and `env!(\"VAR\")`",
            ));
        }
        let mac: syn::Macro = input.parse()?;
        let tokens = quote::ToTokens::to_token_stream(&mac);
        let span = mac.path.segments[0].ident.span();
        if !mac.path.is_ident("concat") {
            return Err(syn::Error::new_spanned(
                &tokens,
                "bpf_skeleton!: the only macro accepted as the path is `concat!` (of string literals and `env!(\"VAR\")`)",
            ));
        }
        let parts = mac.parse_body_with(
            syn::punctuated::Punctuated::<ConcatPart, Token![,]>::parse_terminated,
        )?;
        let mut value = String::new();
        for (i, part) in parts.iter().enumerate() {
            match part {
                ConcatPart::Lit(lit) => value.push_str(&lit.value()),
                ConcatPart::Env(var) => {
                    let name = var.value();
                    let v = env_string(&name).ok_or_else(|| {
                        syn::Error::new(
                            var.span(),
                            format!(
                                "bpf_skeleton!: environment variable `{name}` is not set{}",
                                if name == "OUT_DIR" {
                                    " (cargo sets OUT_DIR only for crates with a build script)"
                                } else {
                                    ""
                                }
                            ),
                        )
                    })?;
                    // The crate's own directories, written first, stay relative: the path
                    // is resolved against them as for a plain literal.
                    match name.as_str() {
                        "OUT_DIR" if i == 0 => value.push_str("$OUT_DIR"),
                        "CARGO_MANIFEST_DIR" if i == 0 => value.push('.'),
                        _ => value.push_str(&v),
                    }
                }
            }
        }
        Ok(PathArg {
            value,
            tokens,
            span,
        })
    }
}

/// One argument of the path's `concat!`.
enum ConcatPart {
    Lit(LitStr),
    /// `env!("VAR")`: the name's literal.
    Env(LitStr),
}

impl Parse for ConcatPart {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.peek(LitStr) {
            return Ok(ConcatPart::Lit(input.parse()?));
        }
        let mac: syn::Macro = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "bpf_skeleton!: `concat!` here takes string literals and `env!(\"VAR\")` only",
            )
        })?;
        if !mac.path.is_ident("env") {
            return Err(syn::Error::new_spanned(
                &mac,
                "bpf_skeleton!: `concat!` here takes string literals and `env!(\"VAR\")` only",
            ));
        }
        let name: LitStr = mac.parse_body().map_err(|e| {
            syn::Error::new(
                e.span(),
                "bpf_skeleton!: `env!` takes one string literal, the variable's name",
            )
        })?;
        Ok(ConcatPart::Env(name))
    }
}

impl Parse for SkeletonInput {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let path: PathArg = input.parse()?;
        let mut name = None;
        while input.peek(Token![,]) {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break;
            }
            let key: Ident = input.parse()?;
            input.parse::<Token![=]>()?;
            match key.to_string().as_str() {
                "name" if name.is_none() => name = Some(input.parse()?),
                "name" => return Err(syn::Error::new(key.span(), "bpf_skeleton!: `name` is given twice")),
                other => {
                    return Err(syn::Error::new(
                        key.span(),
                        format!("bpf_skeleton!: unknown option `{other}`; the only option is `name = ident`"),
                    ))
                }
            }
        }
        Ok(SkeletonInput { path, name })
    }
}

/// All environment reads go through here.
fn env_path(key: &str) -> Option<PathBuf> {
    std::env::var_os(key).map(PathBuf::from)
}

/// An environment variable as text, for `env!` in the path.
fn env_string(key: &str) -> Option<String> {
    env_path(key).and_then(|p| p.into_os_string().into_string().ok())
}

/// Generates a light skeleton module from a compiled BPF object; see the `lskel` crate docs.
///
/// The object's path is one of:
/// - a string literal relative to the crate root (`CARGO_MANIFEST_DIR`):
///   `bpf_skeleton!("src/bpf/prog.bpf.o")`;
/// - `"$OUT_DIR/..."`, for an object a build script wrote (e.g. with `lskel-build`):
///   `bpf_skeleton!("$OUT_DIR/prog.bpf.o")`;
/// - `concat!` of string literals and `env!("VAR")`, recognised as written (it is not
///   expanded as a macro; each variable is read when `bpf_skeleton!` expands):
///   `bpf_skeleton!(concat!(env!("OUT_DIR"), "/prog.bpf.o"))`. `env!("OUT_DIR")` and
///   `env!("CARGO_MANIFEST_DIR")` first in the list mean the same as the two forms above;
///   any other expansion must give a relative path. An unset variable is an error on its
///   name.
///
/// Absolute paths are refused (they do not work on other machines). Options follow the path:
/// `name = my_name` names the generated module (default: the file name up to its first `.`).
#[proc_macro]
pub fn bpf_skeleton(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as SkeletonInput);
    expand(&input)
        .unwrap_or_else(|e| e.into_compile_error())
        .into()
}

fn expand(input: &SkeletonInput) -> syn::Result<proc_macro2::TokenStream> {
    let lit = &input.path;
    let err = |msg: String| syn::Error::new_spanned(&lit.tokens, msg);
    let arg = lit.value.clone();
    let path = lskel_gen::expand::path::resolve(
        &arg,
        env_path("CARGO_MANIFEST_DIR").as_deref(),
        env_path("OUT_DIR").as_deref(),
    )
    .map_err(|e| err(format!("bpf_skeleton!: {e}")))?;
    let shown = path.display().to_string();
    let data = std::fs::read(&path)
        .map_err(|e| err(format!("bpf_skeleton!: cannot read {shown}: {e}")))?;
    let stem = path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.split('.').next())
        .unwrap_or_default()
        .to_string();
    let name = match &input.name {
        Some(name) => name.clone(),
        None => syn::parse_str::<Ident>(&stem).map_err(|_| err(format!("bpf_skeleton!: the file stem `{stem}` is not a Rust identifier; add `name = some_name`")))?,
    };
    // One `compile_error!` per problem of the object, so one build shows them all.
    let gen_err = |e: lskel_gen::Error| {
        (e.diagnostics().into_iter())
            .map(|d| err(format!("bpf_skeleton!: {shown}: {d}")))
            .reduce(|mut all, one| {
                all.combine(one);
                all
            })
            .unwrap_or_else(|| err(format!("bpf_skeleton!: {shown}: {e}")))
    };
    let skel = lskel_gen::generate(&data, &name.to_string()).map_err(gen_err)?;
    let path_str = path
        .to_str()
        .ok_or_else(|| err(format!("bpf_skeleton!: {shown} is not valid UTF-8")))?;
    let tokens =
        lskel_gen::expand::skeleton::expand(&skel, &name, Some(path_str)).map_err(gen_err)?;
    Ok(respan(tokens, lit.span))
}

/// Gives the generated items the literal's span, so errors in them point at the call.
fn respan(tokens: proc_macro2::TokenStream, span: proc_macro2::Span) -> proc_macro2::TokenStream {
    tokens
        .into_iter()
        .map(|mut tt| {
            if let proc_macro2::TokenTree::Group(g) = &tt {
                let mut ng = proc_macro2::Group::new(g.delimiter(), respan(g.stream(), span));
                ng.set_span(span);
                tt = proc_macro2::TokenTree::Group(ng);
            } else {
                tt.set_span(span);
            }
            tt
        })
        .collect()
}
