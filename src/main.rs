//! The `pdec` binary: a thin shell around [`pdec::cli::run`].
//!
//! The work runs on a thread with a large stack: expressions are trees, and
//! a file with a 20,000-term sum is legal input whose stages recurse that
//! deep (nesting of brackets is limited separately, in `syntax`).

use std::io::IsTerminal;

/// Stack for the worker thread (reserved address space; only what is used
/// is committed).
const STACK_BYTES: usize = 1 << 30;

fn main() {
    let terminal = pdec::cli::Terminal {
        color: std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        progress_bar: std::io::stderr().is_terminal() && std::io::stdout().is_terminal(),
    };
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let worker = std::thread::Builder::new()
        .name("pdec".into())
        .stack_size(STACK_BYTES)
        .spawn(move || {
            pdec::cli::run_with(
                args,
                &mut std::io::stdout().lock(),
                &mut std::io::stderr().lock(),
                terminal,
            )
        });
    let code = match worker.map(|handle| handle.join()) {
        Ok(Ok(code)) => code,
        Ok(Err(_)) => {
            eprintln!("error: pdec crashed (a bug: please report it with the input file)");
            pdec::cli::EXIT_RUNTIME
        }
        // No thread with a large stack: run here.
        Err(_) => pdec::cli::run_with(
            std::env::args_os(),
            &mut std::io::stdout().lock(),
            &mut std::io::stderr().lock(),
            terminal,
        ),
    };
    std::process::exit(code);
}
