//! pdec: a compiler for a small PDE specification language.
//!
//! Data flows one way through the stages, each one module:
//! `syntax` (text -> [`syntax::File`]) -> `check` (-> [`check::Spec`]) ->
//! `symbolic` (expression DAG, differentiation) -> later stages (lowering,
//! IR, JIT, training, spectrum, report). `diag` holds the diagnostic type
//! every stage reports with; `math` the built-in functions every stage shares;
//! `cli` is the only place that does I/O and renders diagnostics.

pub mod check;
pub mod cli;
pub mod diag;
pub mod flux;
pub mod geometry;
pub mod ir;
pub mod jit;
pub mod lower;
pub mod math;
pub mod random;
pub mod reference;
pub mod report;
pub mod sample;
pub mod simulate;
pub mod spectrum;
pub mod study;
pub mod symbolic;
pub mod syntax;
pub mod train;
pub mod verify;
