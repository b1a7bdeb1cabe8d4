//! `lskel dump OBJ [NAME]`: prints the plan of an object and its loader disassembly.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [cmd, path, rest @ ..] if cmd == "dump" && rest.len() <= 1 => {
            let data = match std::fs::read(path) {
                Ok(d) => d,
                Err(e) => {
                    eprintln!("lskel: cannot read {path}: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let stem = std::path::Path::new(path)
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.split('.').next())
                .unwrap_or("obj");
            let name = rest.first().map_or(stem, String::as_str);
            match lskel_gen::generate(&data, name) {
                Ok(skel) => {
                    print!("{}", lskel_gen::expand::describe(&skel.plan));
                    print!("{}", skel.dump());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("lskel: {path}: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        _ => {
            eprintln!("usage: lskel dump OBJ [NAME]");
            ExitCode::FAILURE
        }
    }
}
