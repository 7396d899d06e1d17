//! Assembly of the least-squares system of a random feature model: every
//! residual's rows kernel on its own point set, stacked in residual order.

use std::ops::Range;

use faer::MatRef;

use super::init::run_kernel;
use super::TrainingProblem;
use crate::ir::RunError;
use crate::lower::KernelRole;

/// The stacked system A x = b and which rows belong to which residual.
pub struct LinearSystem {
    /// A, row-major: the kernels write each point's row in one piece.
    pub rows: Vec<f64>,
    pub nrows: usize,
    pub ncols: usize,
    pub rhs: Vec<f64>,
    /// (residual name, its rows), in order.
    pub blocks: Vec<(String, Range<usize>)>,
}

/// Runs every rows kernel of the problem and stacks the rows.
pub fn assemble(problem: TrainingProblem<'_>, theta: &[f64]) -> Result<LinearSystem, RunError> {
    let layout = &problem.lowered.layout;
    let columns = layout.unknowns * layout.neurons;
    let mut blocks = Vec::new();
    let mut total = 0;
    for kernel in &problem.lowered.kernels {
        if let KernelRole::Rows { residual } = kernel.role {
            let n = problem.points(residual).len();
            let name = kernel.name.trim_start_matches("rows_").to_string();
            blocks.push((name, total..total + n));
            total += n;
        }
    }
    // The kernels write row-major rows straight into one buffer, which
    // stays as it is: the least-squares solve copies it into its own
    // column-major work matrix anyway.
    let mut rows = crate::ir::zeroed(total.saturating_mul(columns), "least-squares matrix")?;
    let mut rhs = vec![0.0; total];
    let mut block = 0;
    for (index, kernel) in problem.lowered.kernels.iter().enumerate() {
        let KernelRole::Rows { residual } = kernel.role else {
            continue;
        };
        let range = blocks[block].1.clone();
        block += 1;
        run_kernel(
            problem.executor,
            index,
            layout,
            problem.points(residual),
            theta,
            false,
            &mut [
                &mut rows[range.start * columns..range.end * columns],
                &mut rhs[range],
            ],
        )?;
    }
    Ok(LinearSystem {
        rows,
        nrows: total,
        ncols: columns,
        rhs,
        blocks,
    })
}

impl LinearSystem {
    /// A as a (row-major) matrix view.
    pub fn matrix(&self) -> MatRef<'_, f64> {
        MatRef::from_row_major_slice(&self.rows, self.nrows, self.ncols)
    }
}
