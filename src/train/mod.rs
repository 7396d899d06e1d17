//! Stage 7, training: initial parameters, assembly of the residual systems
//! from the generated kernels, and the solvers (least squares,
//! Levenberg-Marquardt, Adam, L-BFGS).

pub mod assemble;
pub mod fit;
pub mod init;
pub mod lbfgs;
pub mod lstsq;
pub mod network;

pub use fit::{fit, Fit, FitError, TermLoss};
pub use network::HistoryRow;
