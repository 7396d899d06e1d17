//! `pdec emit`: print one stage of the compilation pipeline (the syntax
//! tree, the checked problem, the symbolic residuals, the kernel IR,
//! Cranelift's IR or the machine code).

use super::session::Session;
use super::{compile, overrides, EmitArgs, Stage, EXIT_INPUT, EXIT_OK, EXIT_RUNTIME};
use crate::check::ProblemDump;
use crate::diag::has_errors;
use crate::lower;
use crate::syntax;

/// Runs `pdec emit`; returns the exit code.
pub(super) fn run(args: EmitArgs, session: &mut Session) -> i32 {
    let EmitArgs {
        file,
        stage,
        overrides: o,
        diff,
        scheme,
    } = args;
    let overrides = overrides(o, diff);
    match stage {
        Stage::Network => super::simulate::emit_network(session, &file, &scheme),
        Stage::Ast => {
            let Some(source) = session.read(&file) else {
                return EXIT_INPUT;
            };
            let (tree, diagnostics) = syntax::parse(&source);
            session.report(&file, &source, &diagnostics);
            match tree {
                Some(tree) if !has_errors(&diagnostics) => {
                    let _ = write!(session.stdout, "{}", syntax::dump(&tree, &source));
                    EXIT_OK
                }
                _ => EXIT_INPUT,
            }
        }
        Stage::Problem => match session.check_file(&file, &overrides, false) {
            Some(checked) => {
                let _ = writeln!(session.stdout, "{}", ProblemDump(&checked.spec));
                EXIT_OK
            }
            None => EXIT_INPUT,
        },
        Stage::Sym | Stage::Ir | Stage::Clif | Stage::Asm => {
            let Some(checked) = session.check_file(&file, &overrides, false) else {
                return EXIT_INPUT;
            };
            if session.refuse_initial_data(&file, &checked.spec, "emit") {
                return EXIT_INPUT;
            }
            let lowered = match lower::lower(&checked.spec) {
                Ok(l) => l,
                Err(e) => {
                    let _ = writeln!(session.stderr, "error: {e}");
                    return EXIT_RUNTIME;
                }
            };
            match stage {
                Stage::Sym => {
                    let _ = write!(session.stdout, "{}", lowered.sym);
                }
                Stage::Ir => {
                    for k in &lowered.kernels {
                        let _ = write!(session.stdout, "{}", k.kernel);
                    }
                }
                _ => {
                    let compiled = match compile(&lowered, 1) {
                        Ok(c) => c,
                        Err(e) => {
                            let _ = writeln!(session.stderr, "error: {e}");
                            return EXIT_RUNTIME;
                        }
                    };
                    let text = if stage == Stage::Clif {
                        compiled.clif()
                    } else {
                        compiled.asm()
                    };
                    let _ = write!(session.stdout, "{text}");
                }
            }
            EXIT_OK
        }
    }
}
