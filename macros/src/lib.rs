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
    sign: Option<SignArg>,
}

/// The environment variables `sign` reads a path from when it is not written in the call.
const KEY_VAR: &str = "LSKEL_SIGNING_KEY";
const CERT_VAR: &str = "LSKEL_SIGNING_CERT";

/// `sign`, `sign()` or `sign(key = PATH, cert = PATH, ctx_overrides = BOOL)`: sign the loader.
struct SignArg {
    /// The `sign` keyword, for errors about the option as a whole.
    keyword: Ident,
    key: Option<PathArg>,
    cert: Option<PathArg>,
    ctx_overrides: bool,
}

impl SignArg {
    /// Parses what follows the `sign` keyword (nothing, or its parenthesized options).
    fn parse_after(keyword: Ident, input: ParseStream<'_>) -> syn::Result<SignArg> {
        let mut arg = SignArg {
            keyword,
            key: None,
            cert: None,
            ctx_overrides: false,
        };
        if input.peek(Token![=]) {
            return Err(input.error(format!(
                "bpf_skeleton!: `sign` takes no `=`: write `sign` (key and certificate from {KEY_VAR} and {CERT_VAR}) or `sign(key = \"key.pem\", cert = \"cert.pem\")`"
            )));
        }
        if !input.peek(syn::token::Paren) {
            return Ok(arg);
        }
        let content;
        syn::parenthesized!(content in input);
        let mut ctx_overrides_seen = false;
        while !content.is_empty() {
            let opt: Ident = content.parse()?;
            let name = opt.to_string();
            let seen = match name.as_str() {
                "key" => arg.key.is_some(),
                "cert" => arg.cert.is_some(),
                "ctx_overrides" => ctx_overrides_seen,
                other => {
                    return Err(syn::Error::new(
                        opt.span(),
                        format!("bpf_skeleton!: unknown option `{other}` of `sign`; its options are `key = \"path\"`, `cert = \"path\"` and `ctx_overrides = true|false`"),
                    ))
                }
            };
            if seen {
                return Err(syn::Error::new(
                    opt.span(),
                    format!("bpf_skeleton!: `{name}` is given twice in `sign(...)`"),
                ));
            }
            content.parse::<Token![=]>()?;
            match name.as_str() {
                "key" => arg.key = Some(PathArg::parse_as(&content, "the signing key's path")?),
                "cert" => {
                    arg.cert = Some(PathArg::parse_as(
                        &content,
                        "the signing certificate's path",
                    )?)
                }
                _ => {
                    let b: syn::LitBool = content.parse().map_err(|e| {
                        syn::Error::new(
                            e.span(),
                            "bpf_skeleton!: `ctx_overrides` is `true` or `false`",
                        )
                    })?;
                    arg.ctx_overrides = b.value;
                    ctx_overrides_seen = true;
                }
            }
            if content.is_empty() {
                break;
            }
            content.parse::<Token![,]>()?;
        }
        Ok(arg)
    }
}

/// The path argument: its value and the tokens it was written as, for error spans.
struct PathArg {
    value: String,
    tokens: proc_macro2::TokenStream,
    span: proc_macro2::Span,
    /// The variables its `env!`s read.
    vars: Vec<String>,
}

impl Parse for PathArg {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        PathArg::parse_as(input, "the object's path")
    }
}

impl PathArg {
    /// Parses a path; `what` names it in the error for something that is not one.
    fn parse_as(input: ParseStream<'_>, what: &str) -> syn::Result<Self> {
        if input.peek(LitStr) {
            let lit: LitStr = input.parse()?;
            return Ok(PathArg {
                value: lit.value(),
                span: lit.span(),
                tokens: quote::ToTokens::into_token_stream(lit),
                vars: Vec::new(),
            });
        }
        if !(input.peek(Ident) && input.peek2(Token![!])) {
            return Err(input.error(format!(
                "bpf_skeleton!: expected {what}: a string literal, or `concat!` of string literals and `env!(\"VAR\")`",
            )));
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
        let mut vars = Vec::new();
        for (i, part) in parts.iter().enumerate() {
            match part {
                ConcatPart::Lit(lit) => value.push_str(&lit.value()),
                ConcatPart::Env(var) => {
                    let name = var.value();
                    vars.push(name.clone());
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
            vars,
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
        let mut sign = None;
        while input.peek(Token![,]) {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break;
            }
            let key: Ident = input.parse()?;
            match key.to_string().as_str() {
                "name" if name.is_none() => {
                    input.parse::<Token![=]>()?;
                    name = Some(input.parse()?);
                }
                "name" => return Err(syn::Error::new(key.span(), "bpf_skeleton!: `name` is given twice")),
                "sign" if sign.is_none() => sign = Some(SignArg::parse_after(key, input)?),
                "sign" => return Err(syn::Error::new(key.span(), "bpf_skeleton!: `sign` is given twice")),
                other => {
                    return Err(syn::Error::new(
                        key.span(),
                        format!("bpf_skeleton!: unknown option `{other}`; the options are `name = ident` and `sign` (or `sign(key = \"path\", cert = \"path\", ctx_overrides = false)`)"),
                    ))
                }
            }
        }
        Ok(SkeletonInput { path, name, sign })
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
/// - `name = my_name` names the generated module (default: the file name up to its first `.`);
/// - `sign(key = PATH, cert = PATH)` signs the loader at build time with an RSA private key
///   (PEM, unencrypted) and its X.509 certificate (PEM). Each PATH is written like the object's
///   path, but may also be absolute. `sign` alone, or a path left out, takes the path from
///   `LSKEL_SIGNING_KEY` / `LSKEL_SIGNING_CERT` when the crate is built (so keys stay out of
///   the source); a path in the call wins over the variable. `ctx_overrides = true` inside
///   `sign(...)` lets the loader take map sizes and initial values from the unsigned ctx
///   (default `false`). The module then also has `SIGNED` and `signing()`.
///
/// Cargo rebuilds the crate when the object, the key, the certificate, or a variable a path
/// was read from changes. The key's bytes are not compiled into the crate: only the
/// signature is.
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
    let path_str = path
        .to_str()
        .ok_or_else(|| err(format!("bpf_skeleton!: {shown} is not valid UTF-8")))?;
    let Some(sign) = &input.sign else {
        let skel = lskel_gen::generate(&data, &name.to_string()).map_err(gen_err)?;
        let tokens =
            lskel_gen::expand::skeleton::expand(&skel, &name, Some(path_str)).map_err(gen_err)?;
        return Ok(respan(tokens, lit.span));
    };
    let signing = signing_inputs(sign)?;
    let signer = lskel_gen::sign::Signer::from_pem(&signing.key.bytes, &signing.cert.bytes)
        .map_err(|e| {
            use lskel_gen::sign::SignError;
            let file = match e {
                SignError::Cert { .. } | SignError::Mismatch => &signing.cert,
                SignError::Key { .. } | SignError::KeyType { .. } | SignError::Encode { .. } => {
                    &signing.key
                }
            };
            syn::Error::new_spanned(&file.at, format!("bpf_skeleton!: {e}{}", file.from()))
        })?;
    let opts = lskel_gen::SignOptions {
        ctx_overrides: sign.ctx_overrides,
    };
    let (skel, signed) = lskel_gen::generate_signed_with(&data, &name.to_string(), &signer, opts)
        .map_err(gen_err)?;
    let tokens =
        lskel_gen::expand::skeleton::expand_signed(&skel, &name, Some(path_str), Some(&signed))
            .map_err(gen_err)?;
    let track = signing.rebuild_tracking();
    Ok(respan(quote::quote!(#tokens #track), lit.span))
}

/// A key or certificate file, read.
struct SignFile {
    /// Its resolved path, for `include_bytes!`.
    path: String,
    bytes: Vec<u8>,
    /// The tokens errors about it point at: its path as written, or the `sign` keyword.
    at: proc_macro2::TokenStream,
    /// The variable it came from, when it was not written in the call.
    var: Option<&'static str>,
    /// Every variable its path was read from (`var`, or the `env!`s of a written `concat!`).
    vars: Vec<String>,
    /// `key` or `certificate`, and its path as given.
    what: &'static str,
    arg: String,
}

impl SignFile {
    /// Where the file came from, for a message spanned on `sign` (empty when it was written).
    fn from(&self) -> String {
        match self.var {
            Some(var) => format!(" (the {} `{}` from {var})", self.what, self.arg),
            None => String::new(),
        }
    }
}

/// The key and certificate of `sign`.
struct SigningInputs {
    key: SignFile,
    cert: SignFile,
}

impl SigningInputs {
    /// Items that make cargo rebuild the crate when the key, the certificate, or a variable
    /// they were found through changes: rustc records the files `include_bytes!` reads and
    /// the variables `option_env!` reads in its dep-info. Inside a function nothing calls,
    /// so the key's bytes are neither compiled into the crate nor kept in its metadata.
    fn rebuild_tracking(&self) -> proc_macro2::TokenStream {
        let (key, cert) = (&self.key.path, &self.cert.path);
        let vars = self.key.vars.iter().chain(&self.cert.vars);
        quote::quote! {
            const _: () = {
                #[allow(dead_code)]
                fn __lskel_rebuild_when_signing_inputs_change() {
                    let _ = include_bytes!(#key);
                    let _ = include_bytes!(#cert);
                    #(let _ = option_env!(#vars);)*
                }
            };
        }
    }
}

/// Where `sign` found a path: written in the call, or in an environment variable.
enum Given<'a> {
    Written(&'a PathArg),
    Var(&'static str, String),
}

impl Given<'_> {
    /// The path from the call, else from `var` when set (and not empty).
    fn find<'a>(written: &'a Option<PathArg>, var: &'static str) -> Option<Given<'a>> {
        match written {
            Some(p) => Some(Given::Written(p)),
            None => env_string(var)
                .filter(|v| !v.is_empty())
                .map(|v| Given::Var(var, v)),
        }
    }
}

/// Finds and reads the key and certificate of `sign`: written in the call, else from the
/// environment variables.
fn signing_inputs(sign: &SignArg) -> syn::Result<SigningInputs> {
    let keyword = quote::ToTokens::to_token_stream(&sign.keyword);
    let key = Given::find(&sign.key, KEY_VAR);
    let cert = Given::find(&sign.cert, CERT_VAR);
    let (key, cert) = match (key, cert) {
        (Some(key), Some(cert)) => (key, cert),
        (key, cert) => {
            let msg = match (key, cert) {
                (None, None) => format!(
                    "`sign` needs the signing key and certificate: write `sign(key = \"key.pem\", cert = \"cert.pem\")`, or set {KEY_VAR} and {CERT_VAR} to their paths when building"
                ),
                (None, _) => format!(
                    "`sign` needs the signing key: write `sign(key = \"key.pem\", ...)`, or set {KEY_VAR} to its path when building"
                ),
                _ => format!(
                    "`sign` needs the signing certificate: write `sign(cert = \"cert.pem\", ...)`, or set {CERT_VAR} to its path when building"
                ),
            };
            return Err(syn::Error::new_spanned(
                &keyword,
                format!("bpf_skeleton!: {msg}"),
            ));
        }
    };
    let read = |what: &'static str, given: Given<'_>| -> syn::Result<SignFile> {
        let (arg, at, var, vars) = match given {
            Given::Written(p) => (p.value.clone(), p.tokens.clone(), None, p.vars.clone()),
            Given::Var(var, v) => (v, keyword.clone(), Some(var), vec![var.to_string()]),
        };
        let err = |msg: String| syn::Error::new_spanned(&at, format!("bpf_skeleton!: {msg}"));
        let shown = match var {
            Some(var) => format!("`{arg}` (from {var})"),
            None => format!("`{arg}`"),
        };
        let path = lskel_gen::expand::path::resolve_file(
            &arg,
            env_path("CARGO_MANIFEST_DIR").as_deref(),
            env_path("OUT_DIR").as_deref(),
        )
        .map_err(|e| err(format!("the signing {what} {shown}: {e}")))?;
        // The message names the path as written: absolute paths differ between machines.
        let base = if std::path::Path::new(&arg).is_absolute() {
            ""
        } else if arg.starts_with("$OUT_DIR/") {
            " (relative to OUT_DIR)"
        } else {
            " (relative to the crate root, CARGO_MANIFEST_DIR)"
        };
        let bytes = std::fs::read(&path)
            .map_err(|e| err(format!("cannot read the signing {what} {shown}{base}: {e}")))?;
        // Canonical when it can be: the path cargo's dep-info records.
        let path = path.canonicalize().unwrap_or(path);
        let path = path
            .to_str()
            .ok_or_else(|| {
                err(format!(
                    "the signing {what} {shown}: its path is not valid UTF-8"
                ))
            })?
            .to_string();
        Ok(SignFile {
            path,
            bytes,
            at,
            var,
            vars,
            what,
            arg,
        })
    };
    Ok(SigningInputs {
        key: read("key", key)?,
        cert: read("certificate", cert)?,
    })
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
