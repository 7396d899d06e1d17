//! Stage 7, training: fits the ansatz's parameters to the residuals.

pub mod lstsq;
