//! Resolving the macro's path argument: relative to the crate's `CARGO_MANIFEST_DIR`, or to
//! `OUT_DIR` with a `$OUT_DIR/` prefix (objects built by build.rs). Absolute paths are
//! refused: they do not work on other machines.

use std::path::{Path, PathBuf};

/// Where the object is, or why it cannot be used.
pub fn resolve(
    arg: &str,
    manifest_dir: Option<&Path>,
    out_dir: Option<&Path>,
) -> std::result::Result<PathBuf, String> {
    if arg.is_empty() {
        return Err("the object path is empty".into());
    }
    let (path, base) = if let Some(rest) = arg.strip_prefix("$OUT_DIR/") {
        let out = out_dir.ok_or(
            "`$OUT_DIR/` needs OUT_DIR, which cargo sets only for crates with a build script",
        )?;
        (out.join(rest), "OUT_DIR")
    } else if Path::new(arg).is_absolute() {
        return Err(format!("`{arg}` is absolute; give a path relative to the crate root (CARGO_MANIFEST_DIR) or starting with `$OUT_DIR/`"));
    } else {
        let dir = manifest_dir.ok_or("CARGO_MANIFEST_DIR is not set; build with cargo")?;
        (dir.join(arg), "the crate root (CARGO_MANIFEST_DIR)")
    };
    // The message names the argument as written: absolute paths differ between machines.
    path.canonicalize()
        .map_err(|e| format!("cannot open `{arg}` (relative to {base}): {e}"))
}

/// Where a signing key or certificate file is: `arg` as written (or as an environment
/// variable gave it), relative to the crate root, or to `OUT_DIR` with a `$OUT_DIR/` prefix;
/// unlike an object path, an absolute path is taken as it is (keys usually live outside the
/// source tree). Not checked to exist: reading it gives the error.
pub fn resolve_file(
    arg: &str,
    manifest_dir: Option<&Path>,
    out_dir: Option<&Path>,
) -> std::result::Result<PathBuf, String> {
    if arg.is_empty() {
        return Err("the path is empty".into());
    }
    if let Some(rest) = arg.strip_prefix("$OUT_DIR/") {
        let out = out_dir.ok_or(
            "`$OUT_DIR/` needs OUT_DIR, which cargo sets only for crates with a build script",
        )?;
        return Ok(out.join(rest));
    }
    if Path::new(arg).is_absolute() {
        return Ok(PathBuf::from(arg));
    }
    let dir = manifest_dir.ok_or("CARGO_MANIFEST_DIR is not set; build with cargo")?;
    Ok(dir.join(arg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_and_refuses() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        assert!(resolve("Cargo.toml", Some(dir), None)
            .unwrap()
            .ends_with("gen/Cargo.toml"));
        assert!(resolve("/etc/passwd", Some(dir), None)
            .unwrap_err()
            .contains("absolute"));
        assert!(resolve("missing.o", Some(dir), None)
            .unwrap_err()
            .contains("missing.o"));
        assert!(resolve("$OUT_DIR/x.o", Some(dir), None)
            .unwrap_err()
            .contains("OUT_DIR"));
        assert!(resolve("Cargo.toml", Some(Path::new("/nonexistent")), None).is_err());
    }

    #[test]
    fn signing_files_may_be_absolute() {
        let dir = Path::new("/crate");
        assert_eq!(
            resolve_file("/keys/k.pem", Some(dir), None).unwrap(),
            Path::new("/keys/k.pem")
        );
        assert_eq!(
            resolve_file("k.pem", Some(dir), None).unwrap(),
            Path::new("/crate/k.pem")
        );
        assert_eq!(
            resolve_file("$OUT_DIR/k.pem", Some(dir), Some(Path::new("/out"))).unwrap(),
            Path::new("/out/k.pem")
        );
        assert!(resolve_file("", Some(dir), None).is_err());
        assert!(resolve_file("k.pem", None, None).is_err());
    }
}
