//! Stage 1, syntax: source text to an AST with spans.
//!
//! Owns the grammar binding (`grammar/pde.pest`), the AST types and the
//! conversion of pest errors into [`crate::diag::Diagnostic`]s. Knows nothing
//! about what names mean; that is `check`'s job.

pub mod ast;
mod parse;
mod print;

pub use ast::File;
pub use parse::parse;
pub use print::dump;
