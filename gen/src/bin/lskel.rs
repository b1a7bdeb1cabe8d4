//! The `lskel` tool:
//! - `lskel dump OBJ [NAME]`: the plan of an object (maps, programs, records) and its loader
//!   disassembly with the blob layout.
//! - `lskel gen OBJ [NAME]`: the Rust module `bpf_skeleton!` would generate.
//! - `lskel sections`: the program section names lskel (like libbpf) accepts.

use std::io::Write;
use std::process::ExitCode;

const USAGE: &str = "usage: lskel dump OBJ [NAME]   (plan and loader disassembly)\n       lskel gen OBJ [NAME]    (the generated Rust module)\n       lskel sections          (accepted program section names; `name+` also matches `name/...`)";

fn run(cmd: &str, path: &str, name: Option<&str>) -> Result<String, String> {
    let data = std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let stem = std::path::Path::new(path)
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.split('.').next())
        .unwrap_or("obj");
    let name = name.unwrap_or(stem);
    let skel = lskel_gen::generate(&data, name).map_err(|e| format!("{path}: {e}"))?;
    if cmd == "dump" {
        return Ok(format!(
            "{}{}",
            lskel_gen::expand::describe(&skel.plan),
            skel.dump()
        ));
    }
    let ident = lskel_gen::expand::types::ident(name);
    let tokens = lskel_gen::expand::skeleton::expand(&skel, &ident, None)
        .map_err(|e| format!("{path}: {e}"))?;
    Ok(format!("{tokens}\n"))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.as_slice() {
        [cmd] if cmd == "sections" => Ok(lskel_gen::section::patterns()
            .map(|p| format!("{p}\n"))
            .collect()),
        [cmd, path] if cmd == "dump" || cmd == "gen" => run(cmd, path, None),
        [cmd, path, name] if cmd == "dump" || cmd == "gen" => run(cmd, path, Some(name)),
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(text) => {
            // A closed pipe (`| head`) is not an error worth a message.
            let _ = std::io::stdout().lock().write_all(text.as_bytes());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("lskel: {e}");
            ExitCode::FAILURE
        }
    }
}
