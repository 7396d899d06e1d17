//! Symbolic expressions: a hash-consed expression DAG with simplification,
//! symbolic differentiation, field substitution, evaluation and printing.
//!
//! Used to substitute a user's exact solution into the PDE and check the
//! residual numerically, and to differentiate a neural-network ansatz
//! `u(x) = sum_k a_k act(w_k . x + b_k)` exactly ("AD" jets) before lowering
//! it to kernel IR.
//!
//! Files: `graph.rs` owns the arena ([`Graph`], [`Node`], ids, symbols, the
//! node limit); `simplify.rs` the simplifying constructors and canonical
//! forms; `diff.rs` differentiation and field substitution; `eval.rs`
//! numerical evaluation ([`Evaluator`]); `print.rs` the printers.
//!
//! Invariants: nodes are hash-consed (one id per distinct expression), every
//! operand id is smaller than its parent's (id order is a topological order,
//! used by every traversal; none recurses), `Add`/`Mul` nodes are canonical
//! (see [`Node`]), and constant folding never creates a NaN (or infinite)
//! constant: such operations stay unfolded.

mod diff;
mod eval;
mod graph;
mod print;
pub mod problem;
mod simplify;
#[cfg(test)]
mod tests;

pub use diff::FieldReplacement;
pub use eval::Evaluator;
pub use graph::{
    ExprId, Graph, Node, SizeLimitExceeded, SymbolConflict, SymbolId, SymbolKind, MAX_NODES,
};
