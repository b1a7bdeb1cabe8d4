//! Compile-time behaviour of `lskel::bpf_skeleton!`: the errors it gives for bad objects and
//! bad arguments (`tests/ui/fail/<kind>/*.rs`, each with its expected `.stderr`), and the API
//! it generates for the fixture objects of `tests/bpf` (`tests/ui/pass/*.rs`, compiled and run;
//! they make no kernel calls). Cases of `sign` that read LSKEL_SIGNING_KEY / LSKEL_SIGNING_CERT
//! are in `tests/ui/sign_env/`, run a second time with those variables set.
//!
//! Regenerate the `.stderr` files with `TRYBUILD=overwrite cargo test -p lskel-ui-tests`, then
//! review the diff. The objects in `objects/` are rebuilt by `objects/build.sh`.
//!
//! # Paths
//!
//! The macro resolves a relative path against `CARGO_MANIFEST_DIR`. trybuild does not compile
//! the cases as part of this crate: it generates a crate at
//! `<target dir>/tests/trybuild/lskel-ui-tests/` and that directory is the cases'
//! `CARGO_MANIFEST_DIR`. So that the cases can use the paths they would use in this crate
//! (`objects/x.bpf.o`, `../tests/bpf/x.bpf.o`), [`link_paths`] makes the same relative paths
//! work from there with two symbolic links. The macro canonicalizes the path, so messages show
//! the real file (`$DIR/objects/...`, `$WORKSPACE/tests/bpf/...` after trybuild's normalization).
//!
//! One exception: for a file that does not exist, the macro shows the joined, uncanonicalized
//! path, which starts with the trybuild crate's directory. `path/missing_file.stderr` therefore
//! holds `$WORKSPACE/target/tests/trybuild/...` and only matches when the target directory is
//! the default `<workspace>/target` (as in `.ci/run`), not under an outside `CARGO_TARGET_DIR`.

use std::io;
use std::path::{Path, PathBuf};

/// The directory trybuild generates its crate in: `<target dir>/tests/trybuild/<package>/`.
/// `CARGO_TARGET_TMPDIR` is `<target dir>/tmp`, for any `CARGO_TARGET_DIR`.
fn trybuild_project_dir() -> PathBuf {
    let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR has a parent (the target directory)");
    target_dir
        .join("tests")
        .join("trybuild")
        .join(env!("CARGO_PKG_NAME"))
}

/// `link` -> `target`, replacing whatever `link` was (an older link, e.g. from a moved checkout).
fn symlink(target: &Path, link: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(link) {
        Ok(m) if m.file_type().is_symlink() => std::fs::remove_file(link)?,
        Ok(_) => {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} exists and is not a symbolic link", link.display()),
            ))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    std::os::unix::fs::symlink(target, link)
}

/// Makes `objects/...`, `keys/...` and `../tests/...` resolve from the trybuild crate as they do from
/// this crate's root.
fn link_paths() -> io::Result<()> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let workspace = here.parent().expect("ui-tests/ is inside the workspace");
    let project = trybuild_project_dir();
    std::fs::create_dir_all(&project)?;
    symlink(&here.join("objects"), &project.join("objects"))?;
    symlink(&here.join("keys"), &project.join("keys"))?;
    // The project dir's parent is `<target dir>/tests/trybuild/`, trybuild's own target dir,
    // where nothing else is called `tests`.
    let parent = project.parent().expect("the project dir has a parent");
    symlink(&workspace.join("tests"), &parent.join("tests"))?;
    Ok(())
}

#[test]
fn ui() {
    link_paths().expect("linking objects/, keys/ and ../tests/ next to the trybuild crate");
    // `sign` without paths reads these; the cases expect them unset (trybuild's cargo
    // inherits this process's environment).
    std::env::remove_var("LSKEL_SIGNING_KEY");
    std::env::remove_var("LSKEL_SIGNING_CERT");
    {
        let t = trybuild::TestCases::new();
        t.compile_fail("tests/ui/fail/**/*.rs");
        t.pass("tests/ui/pass/*.rs");
        // Runs the cases when dropped.
    }
    // Then `sign` with paths from the environment (`tests/ui/sign_env/`): the key by an
    // absolute path, the certificate relative to the crate root and not the key's, so a case
    // compiles only where the call gives the certificate itself.
    let key = Path::new(env!("CARGO_MANIFEST_DIR")).join("keys/test-only-key.pem");
    std::env::set_var("LSKEL_SIGNING_KEY", key);
    std::env::set_var("LSKEL_SIGNING_CERT", "keys/test-only-other-cert.pem");
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/sign_env/fail/*.rs");
    t.pass("tests/ui/sign_env/pass/*.rs");
}
