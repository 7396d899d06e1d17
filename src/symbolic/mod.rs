//! Symbolic expressions (placeholder until the module lands).
