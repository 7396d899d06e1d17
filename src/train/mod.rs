//! Stage 7, training: initial parameters, assembly of the residual systems
//! from the generated kernels, and the solvers.

pub mod assemble;
pub mod init;
pub mod lstsq;
