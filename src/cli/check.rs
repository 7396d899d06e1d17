//! `pdec check`: parse and check .pde files, print a summary of each
//! problem and the outcome of its exact-solution check.

use super::session::Session;
use super::{overrides, CheckArgs, EXIT_INPUT, EXIT_OK};
use crate::check::Summary;

/// Runs `pdec check`; returns the exit code.
pub(super) fn run(args: CheckArgs, session: &mut Session) -> i32 {
    let CheckArgs {
        files,
        deny_warnings,
        overrides: o,
        diff,
    } = args;
    let overrides = overrides(o, diff);
    let mut code = EXIT_OK;
    for (i, path) in files.iter().enumerate() {
        if files.len() > 1 {
            let _ = writeln!(
                session.stdout,
                "{}== {} ==",
                if i > 0 { "\n" } else { "" },
                path.display()
            );
        }
        let result = session.check_file(path, &overrides, deny_warnings);
        code = code.max(match result {
            Some(checked) => {
                let _ = writeln!(session.stdout, "{}", Summary(&checked.spec));
                if let Some(line) = checked.exact_line {
                    let _ = writeln!(session.stdout, "exact check  {line}");
                }
                EXIT_OK
            }
            None => EXIT_INPUT,
        });
    }
    code
}
