//! The `bpf_skeleton!` macro of lskel: a thin shell over `lskel_gen`. It parses the
//! arguments, reads the object, and turns any generator error into a `compile_error!`
//! spanned on the path literal. Use it through `lskel::bpf_skeleton!`.

use std::path::PathBuf;

use proc_macro::TokenStream;
use syn::parse::{Parse, ParseStream};
use syn::{parse_macro_input, Ident, LitStr, Token};

/// `bpf_skeleton!("path/to/prog.bpf.o")` or `bpf_skeleton!("path", name = my_name)`.
struct SkeletonInput {
    path: LitStr,
    name: Option<Ident>,
}

impl Parse for SkeletonInput {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let path: LitStr = input.parse()?;
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

/// Generates a light skeleton module from a compiled BPF object; see the `lskel` crate docs.
#[proc_macro]
pub fn bpf_skeleton(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as SkeletonInput);
    expand(&input)
        .unwrap_or_else(|e| e.into_compile_error())
        .into()
}

fn expand(input: &SkeletonInput) -> syn::Result<proc_macro2::TokenStream> {
    let lit = &input.path;
    let err = |msg: String| syn::Error::new(lit.span(), msg);
    let arg = lit.value();
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
    let skel = lskel_gen::generate(&data, &name.to_string())
        .map_err(|e| err(format!("bpf_skeleton!: {shown}: {e}")))?;
    let path_str = path
        .to_str()
        .ok_or_else(|| err(format!("bpf_skeleton!: {shown} is not valid UTF-8")))?;
    let tokens = lskel_gen::expand::skeleton::expand(&skel, &name, Some(path_str))
        .map_err(|e| err(format!("bpf_skeleton!: {shown}: {e}")))?;
    Ok(respan(tokens, lit.span()))
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
