//! The `pdec` binary: a thin shell around [`pdec::cli::run`].

use std::io::IsTerminal;

fn main() {
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let code = pdec::cli::run(
        std::env::args_os(),
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
        color,
    );
    std::process::exit(code);
}
