//! The reference interpreter: the semantics every backend must reproduce.
//! Slow (one `match` per operation) and simple on purpose.

use std::ops::Range;

use super::{Access, BinaryOp, Inst, Kernel, Stmt, UnaryOp};

/// One array argument of a kernel call.
pub enum ArrayArg<'a> {
    In(&'a [f64]),
    Out(&'a mut [f64]),
}

/// Why a kernel call was refused (before any element was touched).
#[derive(Clone, Debug, PartialEq)]
pub enum RunError {
    /// The call passed `got` arrays; the kernel takes `expected`.
    ArgumentCount { expected: usize, got: usize },
    /// Array `name` was passed as input where the kernel writes it, or vice versa.
    Access { name: String },
    /// Array `name` has `len` elements; the call needs `need`.
    TooShort {
        name: String,
        need: usize,
        len: usize,
    },
    /// There is no kernel number `index`.
    NoSuchKernel { index: usize },
    /// An output array of `elements` f64 could not be allocated.
    OutOfMemory { what: String, elements: usize },
}

/// A zeroed buffer of `len` f64 for the outputs `what`, or
/// [`RunError::OutOfMemory`] instead of an abort when the allocation fails
/// (sizes that come from the input are checked against the available
/// memory before training; this catches what the estimate misses).
pub fn zeroed(len: usize, what: &str) -> Result<Vec<f64>, RunError> {
    let mut v = Vec::new();
    v.try_reserve_exact(len)
        .map_err(|_| RunError::OutOfMemory {
            what: what.to_string(),
            elements: len,
        })?;
    v.resize(len, 0.0);
    Ok(v)
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::ArgumentCount { expected, got } => {
                write!(f, "kernel takes {expected} arrays, got {got}")
            }
            RunError::Access { name } => write!(f, "array {name} passed with the wrong access"),
            RunError::TooShort { name, need, len } => {
                write!(f, "array {name} has {len} elements, the call needs {need}")
            }
            RunError::NoSuchKernel { index } => write!(f, "there is no kernel number {index}"),
            RunError::OutOfMemory { what, elements } => write!(
                f,
                "out of memory: the {what} ({elements} values, {}) could not be allocated",
                crate::check::memory::bytes(*elements as f64 * 8.0)
            ),
        }
    }
}

impl std::error::Error for RunError {}

/// Checks a call's arrays against the kernel: count, access and lengths for
/// `points` and `neurons`. Shared by every backend.
pub fn check_call(
    kernel: &Kernel,
    arrays: &[ArrayArg<'_>],
    neurons: usize,
    points: &Range<usize>,
) -> Result<(), RunError> {
    if arrays.len() != kernel.arrays.len() {
        return Err(RunError::ArgumentCount {
            expected: kernel.arrays.len(),
            got: arrays.len(),
        });
    }
    let need = kernel.required_lengths(points.end.max(points.start), neurons);
    for ((decl, arg), need) in kernel.arrays.iter().zip(arrays).zip(need) {
        let len = match (decl.access, arg) {
            (Access::Input, ArrayArg::In(a)) => a.len(),
            (Access::Output, ArrayArg::Out(a)) => a.len(),
            _ => {
                return Err(RunError::Access {
                    name: decl.name.clone(),
                })
            }
        };
        if points.start < points.end && len < need {
            return Err(RunError::TooShort {
                name: decl.name.clone(),
                need,
                len,
            });
        }
    }
    Ok(())
}

/// Runs `kernel` for the points in `points` with `neurons` neurons.
pub fn run(
    kernel: &Kernel,
    arrays: &mut [ArrayArg<'_>],
    neurons: usize,
    points: Range<usize>,
) -> Result<(), RunError> {
    check_call(kernel, arrays, neurons, &points)?;
    let mut values = vec![0.0f64; kernel.values as usize];
    let mut vars = vec![0.0f64; kernel.vars as usize];
    for i in points {
        block(&kernel.body, arrays, &mut values, &mut vars, i, 0, neurons);
    }
    Ok(())
}

fn block(
    stmts: &[Stmt],
    arrays: &mut [ArrayArg<'_>],
    values: &mut [f64],
    vars: &mut [f64],
    i: usize,
    k: usize,
    neurons: usize,
) {
    for stmt in stmts {
        match stmt {
            Stmt::Def(v, inst) => {
                let x = |id: super::ValueId| values[id.0 as usize];
                values[v.0 as usize] = match *inst {
                    Inst::Const(c) => c,
                    Inst::Load { array, index } => {
                        let at = i * index.point + k * index.neuron + index.offset;
                        match &arrays[array.0 as usize] {
                            ArrayArg::In(a) => a[at],
                            ArrayArg::Out(a) => a[at],
                        }
                    }
                    Inst::Unary(UnaryOp::Neg, a) => -x(a),
                    Inst::Unary(UnaryOp::Call(f), a) => f.eval(x(a)),
                    Inst::Binary(op, a, b) => {
                        let (a, b) = (x(a), x(b));
                        match op {
                            BinaryOp::Add => a + b,
                            BinaryOp::Sub => a - b,
                            BinaryOp::Mul => a * b,
                            BinaryOp::Div => a / b,
                            BinaryOp::Pow => a.powf(b),
                        }
                    }
                    Inst::Powi(a, n) => powi(x(a), n),
                    Inst::Read(var) => vars[var.0 as usize],
                };
            }
            Stmt::Store {
                array,
                index,
                value,
            } => {
                let at = i * index.point + k * index.neuron + index.offset;
                if let ArrayArg::Out(a) = &mut arrays[array.0 as usize] {
                    a[at] = values[value.0 as usize];
                }
            }
            Stmt::Set(var, value) => vars[var.0 as usize] = values[value.0 as usize],
            Stmt::ForNeurons(body) => {
                for k in 0..neurons {
                    block(body, arrays, values, vars, i, k, neurons);
                }
            }
        }
    }
}

/// `x^n` by binary exponentiation, the exact sequence of multiplications the
/// JIT emits (so both backends round identically).
pub fn powi(x: f64, n: i32) -> f64 {
    let mut result = 1.0;
    let mut base = x;
    let mut e = n.unsigned_abs();
    let mut first = true;
    while e > 0 {
        if e & 1 == 1 {
            result = if first { base } else { result * base };
            first = false;
        }
        e >>= 1;
        if e > 0 {
            base *= base;
        }
    }
    if n < 0 {
        1.0 / result
    } else {
        result
    }
}
