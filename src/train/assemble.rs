//! Assembly of the least-squares system of a random feature model: every
//! residual's rows kernel on its own point set, stacked in residual order.

use std::ops::Range;

use faer::Mat;

use super::init::run_kernel;
use super::TrainingProblem;
use crate::ir::RunError;
use crate::lower::KernelRole;

/// The stacked system A x = b and which rows belong to which residual.
pub struct LinearSystem {
    pub matrix: Mat<f64>,
    pub rhs: Vec<f64>,
    /// (residual name, its rows), in order.
    pub blocks: Vec<(String, Range<usize>)>,
}

/// Runs every rows kernel of the problem and stacks the rows.
pub fn assemble(problem: TrainingProblem<'_>, theta: &[f64]) -> Result<LinearSystem, RunError> {
    let layout = &problem.lowered.layout;
    let columns = layout.unknowns * layout.neurons;
    let mut pieces = Vec::new();
    let mut total = 0;
    for (index, kernel) in problem.lowered.kernels.iter().enumerate() {
        let KernelRole::Rows { residual } = kernel.role else {
            continue;
        };
        let points = problem.points(residual);
        let n = points.len();
        let mut rows = vec![0.0; n * columns];
        let mut rhs = vec![0.0; n];
        run_kernel(
            problem.executor,
            index,
            layout,
            points,
            theta,
            false,
            &mut [&mut rows, &mut rhs],
        )?;
        let name = kernel.name.trim_start_matches("rows_").to_string();
        pieces.push((name, total..total + n, rows, rhs));
        total += n;
    }
    let mut matrix = Mat::<f64>::zeros(total, columns);
    let mut rhs = Vec::with_capacity(total);
    let mut blocks = Vec::new();
    for (name, range, rows, block_rhs) in pieces {
        for (local, i) in range.clone().enumerate() {
            for j in 0..columns {
                matrix[(i, j)] = rows[local * columns + j];
            }
        }
        rhs.extend(block_rhs);
        blocks.push((name, range));
    }
    Ok(LinearSystem {
        matrix,
        rhs,
        blocks,
    })
}
