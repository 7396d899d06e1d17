//! Stage 5, the kernel IR: what the lowering produces and both backends
//! (the reference interpreter here and the Cranelift JIT in `jit`) consume.
//!
//! A [`Kernel`] runs over a range of points `i` and, inside, over an
//! optional loop of neurons `k in 0..neurons`. Its body is straight-line SSA:
//! every [`ValueId`] is defined once, before its uses, in the block that
//! uses it or an enclosing one. Mutable accumulators ([`VarId`]) carry sums
//! across neuron iterations. Arrays are flat `f64` slices addressed by an
//! affine [`Index`] `i*point + k*neuron + offset`, so every access's range
//! is known from the point range and the neuron count: backends check bounds
//! once on entry, never in the loops.
//!
//! Invariant checked by [`Kernel::verify`]: stores to an output array stay
//! inside the row of their point (`neuron*(K-1) + offset < point`), so
//! disjoint point ranges write disjoint memory and can run on different
//! threads with bit-identical results.

mod interp;
mod print;

pub use interp::{check_call, powi, run, zeroed, ArrayArg, RunError};

use crate::math::MathFn;

/// An SSA value of a kernel (an f64).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ValueId(pub u32);

/// A mutable f64 accumulator of a kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VarId(pub u32);

/// An array argument of a kernel (index into [`Kernel::arrays`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ArrayId(pub u32);

/// Whether a kernel reads or writes an array.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Input,
    Output,
}

/// An array argument: its name (for printing) and access.
#[derive(Clone, Debug, PartialEq)]
pub struct ArrayDecl {
    pub name: String,
    pub access: Access,
}

/// The element index `i*point + k*neuron + offset` (i = point, k = neuron).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Index {
    pub point: usize,
    pub neuron: usize,
    pub offset: usize,
}

/// Unary operations; all but `Neg` are math functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    Neg,
    /// A libm function (`sqrt` and `abs` become native instructions in the JIT).
    Call(MathFn),
}

/// Binary operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    /// `a^b` for a non-integer exponent (libm `pow`).
    Pow,
}

/// The right-hand side of an SSA definition.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Inst {
    Const(f64),
    Load {
        array: ArrayId,
        index: Index,
    },
    Unary(UnaryOp, ValueId),
    Binary(BinaryOp, ValueId, ValueId),
    /// `a^n` for a small integer n, by repeated multiplication.
    Powi(ValueId, i32),
    /// The current value of an accumulator.
    Read(VarId),
}

/// A statement of a kernel body.
#[derive(Clone, Debug, PartialEq)]
pub enum Stmt {
    /// `%v = inst`
    Def(ValueId, Inst),
    /// `array[index] = value`
    Store {
        array: ArrayId,
        index: Index,
        value: ValueId,
    },
    /// `$var = value`
    Set(VarId, ValueId),
    /// `for k in 0..neurons { body }`
    ForNeurons(Vec<Stmt>),
}

/// A compiled unit: one loop over points with a straight-line body.
#[derive(Clone, Debug, PartialEq)]
pub struct Kernel {
    pub name: String,
    pub arrays: Vec<ArrayDecl>,
    /// Number of SSA values (`ValueId(0..values)`).
    pub values: u32,
    /// Number of accumulators (`VarId(0..vars)`).
    pub vars: u32,
    pub body: Vec<Stmt>,
}

/// Something that can run a set of kernels: the reference interpreter
/// ([`Interpreted`]) or compiled machine code (`jit::Compiled`).
pub trait Executor: Sync {
    /// Runs kernel number `index` for `points` with `neurons` neurons.
    fn run(
        &self,
        index: usize,
        arrays: &mut [ArrayArg<'_>],
        neurons: usize,
        points: std::ops::Range<usize>,
    ) -> Result<(), RunError>;
}

/// The reference interpreter as an [`Executor`].
pub struct Interpreted(pub Vec<Kernel>);

impl Executor for Interpreted {
    fn run(
        &self,
        index: usize,
        arrays: &mut [ArrayArg<'_>],
        neurons: usize,
        points: std::ops::Range<usize>,
    ) -> Result<(), RunError> {
        match self.0.get(index) {
            Some(kernel) => run(kernel, arrays, neurons, points),
            None => Err(RunError::NoSuchKernel { index }),
        }
    }
}

/// A structural error in a kernel (a bug in the lowering, not a user error).
#[derive(Clone, Debug, PartialEq)]
pub struct VerifyError(pub String);

impl std::fmt::Display for VerifyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid kernel: {}", self.0)
    }
}

impl std::error::Error for VerifyError {}

impl Kernel {
    /// Checks SSA well-formedness (each value defined once, before use, in
    /// scope), array ids and access kinds, and that output stores stay in
    /// their point's row for any neuron count up to `max_neurons`.
    pub fn verify(&self, max_neurons: usize) -> Result<(), VerifyError> {
        let mut defined = vec![false; self.values as usize];
        let mut vars_set = vec![false; self.vars as usize];
        self.verify_block(&self.body, &mut defined, &mut vars_set, false, max_neurons)
    }

    fn verify_block(
        &self,
        block: &[Stmt],
        defined: &mut Vec<bool>,
        vars_set: &mut [bool],
        in_loop: bool,
        max_neurons: usize,
    ) -> Result<(), VerifyError> {
        let err = |m: String| Err(VerifyError(m));
        let mut local = Vec::new();
        for stmt in block {
            match stmt {
                Stmt::Def(v, inst) => {
                    let Some(slot) = defined.get(v.0 as usize) else {
                        return err(format!("%{} is out of range", v.0));
                    };
                    if *slot {
                        return err(format!("%{} is defined twice", v.0));
                    }
                    self.verify_inst(inst, defined, vars_set, in_loop)?;
                    defined[v.0 as usize] = true;
                    local.push(*v);
                }
                Stmt::Store {
                    array,
                    index,
                    value,
                } => {
                    self.check_array(*array, *index, Access::Output, in_loop)?;
                    self.check_use(*value, defined)?;
                    let reach = index
                        .neuron
                        .checked_mul(max_neurons.saturating_sub(1))
                        .and_then(|r| r.checked_add(index.offset));
                    if index.point == 0 || reach.is_none_or(|r| r >= index.point) {
                        return err(format!(
                            "store to {} escapes its point's row",
                            self.arrays[array.0 as usize].name
                        ));
                    }
                }
                Stmt::Set(var, value) => {
                    if var.0 >= self.vars {
                        return err(format!("${} is out of range", var.0));
                    }
                    self.check_use(*value, defined)?;
                    vars_set[var.0 as usize] = true;
                }
                Stmt::ForNeurons(body) => {
                    if in_loop {
                        return err("nested neuron loops are not supported".into());
                    }
                    self.verify_block(body, defined, vars_set, true, max_neurons)?;
                }
            }
        }
        // Values defined in a loop body are not visible after it.
        if in_loop {
            for v in local {
                defined[v.0 as usize] = false;
            }
        }
        Ok(())
    }

    fn verify_inst(
        &self,
        inst: &Inst,
        defined: &[bool],
        vars_set: &[bool],
        in_loop: bool,
    ) -> Result<(), VerifyError> {
        match *inst {
            Inst::Const(c) if !c.is_finite() => {
                Err(VerifyError(format!("non-finite constant {c}")))
            }
            Inst::Const(_) => Ok(()),
            Inst::Load { array, index } => self.check_array(array, index, Access::Input, in_loop),
            Inst::Unary(_, a) | Inst::Powi(a, _) => self.check_use(a, defined),
            Inst::Binary(_, a, b) => {
                self.check_use(a, defined)?;
                self.check_use(b, defined)
            }
            Inst::Read(var) => match vars_set.get(var.0 as usize) {
                Some(true) => Ok(()),
                _ => Err(VerifyError(format!("${} is read before it is set", var.0))),
            },
        }
    }

    fn check_use(&self, v: ValueId, defined: &[bool]) -> Result<(), VerifyError> {
        match defined.get(v.0 as usize) {
            Some(true) => Ok(()),
            _ => Err(VerifyError(format!(
                "%{} is used before its definition",
                v.0
            ))),
        }
    }

    fn check_array(
        &self,
        array: ArrayId,
        index: Index,
        access: Access,
        in_loop: bool,
    ) -> Result<(), VerifyError> {
        let Some(decl) = self.arrays.get(array.0 as usize) else {
            return Err(VerifyError(format!("array #{} does not exist", array.0)));
        };
        if decl.access != access {
            return Err(VerifyError(format!(
                "array {} is {:?} but accessed as {:?}",
                decl.name, decl.access, access
            )));
        }
        if index.neuron != 0 && !in_loop {
            return Err(VerifyError(format!(
                "array {} is indexed by the neuron outside the neuron loop",
                decl.name
            )));
        }
        Ok(())
    }

    /// Whether every point's results depend on that point alone: every
    /// accumulator read sees a value set earlier in the same point, whatever
    /// the neuron count. A set inside a neuron loop counts for reads later
    /// in that loop's body but not after the loop, which may run zero
    /// times; a read of a value not set that way sees the previous point's
    /// (the interpreter carries accumulators from point to point). Points of
    /// such kernels can be computed in any order, or several at once.
    pub fn points_are_independent(&self) -> bool {
        fn walk(block: &[Stmt], set: &mut [bool]) -> bool {
            for stmt in block {
                match stmt {
                    Stmt::Def(_, Inst::Read(var)) if set.get(var.0 as usize) != Some(&true) => {
                        return false
                    }
                    Stmt::Set(var, _) => {
                        if let Some(s) = set.get_mut(var.0 as usize) {
                            *s = true;
                        }
                    }
                    Stmt::ForNeurons(body) if !walk(body, &mut set.to_vec()) => return false,
                    _ => {}
                }
            }
            true
        }
        walk(&self.body, &mut vec![false; self.vars as usize])
    }

    /// Removes definitions whose values are never used (by a store, an
    /// accumulator update or a used definition). Keeps value numbering.
    pub fn eliminate_dead_code(&mut self) {
        fn mark(block: &[Stmt], used: &mut [bool]) {
            // Walk backwards so that a use is seen before its definition.
            for stmt in block.iter().rev() {
                match stmt {
                    Stmt::Store { value, .. } | Stmt::Set(_, value) => {
                        used[value.0 as usize] = true
                    }
                    Stmt::Def(v, inst) if used[v.0 as usize] => match *inst {
                        Inst::Unary(_, a) | Inst::Powi(a, _) => used[a.0 as usize] = true,
                        Inst::Binary(_, a, b) => {
                            used[a.0 as usize] = true;
                            used[b.0 as usize] = true;
                        }
                        Inst::Const(_) | Inst::Load { .. } | Inst::Read(_) => {}
                    },
                    Stmt::Def(..) => {}
                    Stmt::ForNeurons(body) => mark(body, used),
                }
            }
        }
        fn sweep(block: &mut Vec<Stmt>, used: &[bool]) {
            block.retain_mut(|stmt| match stmt {
                Stmt::Def(v, _) => used[v.0 as usize],
                Stmt::ForNeurons(body) => {
                    sweep(body, used);
                    true
                }
                _ => true,
            });
        }
        let mut used = vec![false; self.values as usize];
        // A loop body may use values defined before it and be followed by
        // uses of accumulators; two passes reach the fixed point for the
        // kernels pdec generates (one loop level).
        for _ in 0..2 {
            mark(&self.body, &mut used);
        }
        sweep(&mut self.body, &used);
    }

    /// The number of elements each array must hold for points `0..end` and
    /// `neurons` neurons (0 if the array is never accessed).
    pub fn required_lengths(&self, end: usize, neurons: usize) -> Vec<usize> {
        let mut need = vec![0usize; self.arrays.len()];
        fn walk(block: &[Stmt], end: usize, neurons: usize, need: &mut [usize]) {
            // Saturating: a reach that overflows can never be satisfied,
            // so the call is refused rather than wrapped around.
            let reach = |index: &Index| {
                let last_point = end.saturating_sub(1);
                let last_neuron = neurons.saturating_sub(1);
                index
                    .point
                    .saturating_mul(last_point)
                    .saturating_add(index.neuron.saturating_mul(last_neuron))
                    .saturating_add(index.offset)
                    .saturating_add(1)
            };
            for stmt in block {
                match stmt {
                    Stmt::Def(_, Inst::Load { array, index })
                    | Stmt::Store { array, index, .. } => {
                        let n = &mut need[array.0 as usize];
                        *n = (*n).max(reach(index));
                    }
                    Stmt::ForNeurons(body) if neurons > 0 => walk(body, end, neurons, need),
                    _ => {}
                }
            }
        }
        if end > 0 {
            walk(&self.body, end, neurons, &mut need);
        }
        need
    }
}

/// A growing kernel: allocates values and variables and appends statements.
/// The lowering uses it; blocks nest through [`KernelBuilder::neuron_loop`].
pub struct KernelBuilder {
    kernel: Kernel,
    /// Statement lists under construction; the last is the current block.
    blocks: Vec<Vec<Stmt>>,
}

impl KernelBuilder {
    /// A kernel with the given arrays.
    pub fn new(name: impl Into<String>, arrays: Vec<ArrayDecl>) -> Self {
        KernelBuilder {
            kernel: Kernel {
                name: name.into(),
                arrays,
                values: 0,
                vars: 0,
                body: Vec::new(),
            },
            blocks: vec![Vec::new()],
        }
    }

    /// Appends `%v = inst` to the current block and returns `%v`.
    pub fn def(&mut self, inst: Inst) -> ValueId {
        let v = ValueId(self.kernel.values);
        self.kernel.values += 1;
        self.push(Stmt::Def(v, inst));
        v
    }

    /// A new accumulator.
    pub fn var(&mut self) -> VarId {
        let v = VarId(self.kernel.vars);
        self.kernel.vars += 1;
        v
    }

    /// Appends a statement to the current block.
    pub fn push(&mut self, stmt: Stmt) {
        if let Some(block) = self.blocks.last_mut() {
            block.push(stmt);
        }
    }

    /// Runs `f` to fill the body of a neuron loop.
    pub fn neuron_loop<R>(&mut self, f: impl FnOnce(&mut Self) -> R) -> R {
        self.blocks.push(Vec::new());
        let r = f(self);
        let body = self.blocks.pop().unwrap_or_default();
        self.push(Stmt::ForNeurons(body));
        r
    }

    /// The finished kernel, without dead definitions.
    pub fn finish(mut self) -> Kernel {
        self.kernel.body = self.blocks.pop().unwrap_or_default();
        self.kernel.eliminate_dead_code();
        self.kernel
    }
}
