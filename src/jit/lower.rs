//! Translation of one [`Kernel`] into a Cranelift function.
//!
//! The function has the signature
//! `extern "C" fn(ptrs: *const *mut f64, neurons: usize, start: usize, end: usize)`
//! and computes, for `i in start..end` (and `k in 0..neurons` inside neuron
//! loops), exactly what the interpreter computes: the same IEEE operations on
//! the same operands in the same order, the same host functions for
//! transcendental calls and the same multiplication sequence for `powi`.
//!
//! When the points of a kernel are independent
//! ([`Kernel::points_are_independent`]), the body is also emitted over
//! `f64x2` values, in vector loops that run before the scalar loop. A pass of
//! a vector loop with `s` streams computes `2s` points: stream `j` holds
//! points `i + 2j` and `i + 2j + 1` in its two lanes, and each statement is
//! emitted once per stream. The streams are independent chains of
//! operations, which the processor overlaps (one tanh is a long chain of
//! dependent operations; alone it would leave the arithmetic units idle).
//! The loops run widest first ([`Options::vector_streams`], by default 3
//! streams, then 1), and the scalar loop computes the remaining point. Each
//! lane performs the scalar operations in the scalar order, so every loop
//! gives the interpreter's bits. In the vector bodies, loads of per-point
//! elements gather the two points' elements (one vector load when they are
//! adjacent), loads that do not depend on the point are splatted, stores
//! write each lane to its point's element (one vector store when adjacent),
//! and host functions are called once per lane.
//!
//! Shape of the generated code (loops are rotated: one test on entry, one at
//! the bottom of each iteration):
//!
//! ```text
//! entry(ptrs, neurons, start, end):
//!     base_a = load ptrs[a]            ; one per array
//!     $v = 0.0                         ; every accumulator
//!     brif start < end, check, exit
//! point:                               ; the remaining points
//!     ..body..
//!     brif neurons != 0, neuron, after ; per neuron loop
//! neuron:                              ; k = 0, 1, ..
//!     ..loop body..
//!     brif k+1 < neurons, neuron, after
//! after:
//!     ..rest of the body..
//!     brif i+1 < end, point, exit
//! exit:
//!     return
//! check:                               ; per vector loop, s streams
//!     $v = 0.0 (f64x2)
//!     brif end - i >= 2s, vector, next ; (*)
//! vector:
//!     ..body over points i .. i+2s, emitted once per stream..
//!     brif end - (i+2s) >= 2s, vector, next
//! next:                                ; the next vector loop's check, or
//!     brif i < end, point, exit        ; after the last one
//! ```
//!
//! Kernels whose neuron loop is a layer's jet rule (iterations independent,
//! every store moving with the neuron: [`super::neuron_lane_limit`]) get
//! their lanes over neurons instead: the point loop stays scalar and the
//! neuron loop runs vector passes of 2s neurons (stream j holds neurons
//! k + 2j and k + 2j + 1 of the point), then a scalar loop for the
//! neurons left. A layer's neighbouring neurons are adjacent in memory, so
//! each load and store is one vector instruction where lanes over points
//! would gather and scatter; values of the point defined before the loop
//! are splatted. The vector passes run only up to the neuron count below
//! which no two iterations store to the same element.
//!
//! (The scalar loop is emitted first, so that its text reads as when it is
//! the only loop.) (*) Also requires `neurons` to be at most the count up to
//! which every store stays in its point's row: beyond it, stores of
//! neighbouring points may land on the same element and must happen in the
//! interpreter's order. Kernels whose points are not independent have no
//! vector loop and branch from the entry straight to `point`.
//!
//! Element `i*point + k*neuron + offset` of array `a` is addressed as
//! `base_a + 8*point*i + 8*neuron*k` with the immediate offset `8*offset`
//! (`8*(offset + l*point)` for lane `l` of a vector pass). The address
//! arithmetic cannot overflow for any call the bounds check in
//! `Compiled::run` admits (every address lies inside its slice), and the
//! wrapping arithmetic of the immediates is exact modulo 2^64 in any case.

use std::collections::HashMap;

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{
    types, AbiParam, Block, ConstantData, FuncRef, InstBuilder, MemFlagsData, Signature, Type,
    Value,
};
use cranelift_frontend::{FunctionBuilder, Variable};
use cranelift_jit::JITModule;
use cranelift_module::{FuncId, Linkage, Module};

use super::symbols;
use super::JitError;
use crate::ir::{ArrayId, BinaryOp, Index, Inst, Kernel, Stmt, UnaryOp, ValueId};
use crate::math::MathFn;

/// Code generation choices (tests flip them).
#[derive(Clone, Copy, Debug)]
pub(super) struct Options {
    /// `sqrt` and `abs` as native instructions (otherwise calls, like the
    /// other math functions).
    pub native_sqrt_abs: bool,
    /// `tanh` inline ([`crate::math::tanh`]'s operations) instead of a call.
    pub inline_tanh: bool,
    /// The vector loops run before the scalar loop, for kernels whose
    /// points are independent: the number of `f64x2` streams of each, in
    /// the order they run (widest first). Empty: only the scalar loop.
    pub vector_streams: &'static [usize],
    /// Kernels whose neuron loop qualifies ([`super::neuron_lane_limit`])
    /// get their vector loops over neurons instead of points.
    pub neuron_lanes: bool,
}

impl Options {
    /// The number of points a pass of the widest loop computes (chunks of
    /// points that are multiples of it need no narrower loop).
    pub fn points_per_pass(&self) -> usize {
        self.vector_streams.first().map_or(1, |s| 2 * s.max(&1))
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            native_sqrt_abs: true,
            inline_tanh: true,
            // Three streams keep the arithmetic units busiest on the network
            // kernels (one stream is 1.3x slower, two 1.07x, four no
            // faster); the one-stream loop takes the remaining pairs.
            vector_streams: &[3, 1],
            neuron_lanes: true,
        }
    }
}

/// The type of the values of a body: `f64`, one point per value, or `f64x2`,
/// two points per value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lanes {
    One,
    Two,
}

impl Lanes {
    /// The type of a kernel value.
    fn float(self) -> Type {
        match self {
            Lanes::One => types::F64,
            Lanes::Two => types::F64X2,
        }
    }

    /// The integer type of the same shape (for bit manipulations).
    fn int(self) -> Type {
        match self {
            Lanes::One => types::I64,
            Lanes::Two => types::I64X2,
        }
    }
}

/// What the two lanes of a vector body hold: two points (every neuron
/// loop inside runs for both), or two neurons of one point (inside a
/// neuron loop; the point's statements outside it are scalar).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Axis {
    Points,
    Neurons,
}

/// The signature every kernel is compiled with.
pub(super) fn kernel_signature(module: &JITModule) -> Signature {
    let ptr = module.target_config().pointer_type();
    let mut sig = module.make_signature();
    for _ in 0..4 {
        sig.params.push(AbiParam::new(ptr));
    }
    sig
}

/// Host functions declared in the module, each once (by symbol).
#[derive(Default)]
pub(super) struct Imports {
    ids: HashMap<&'static str, FuncId>,
}

impl Imports {
    fn get(
        &mut self,
        module: &mut JITModule,
        name: &'static str,
        arity: usize,
    ) -> Result<FuncId, JitError> {
        if let Some(id) = self.ids.get(name) {
            return Ok(*id);
        }
        let mut sig = module.make_signature();
        for _ in 0..arity {
            sig.params.push(AbiParam::new(types::F64));
        }
        sig.returns.push(AbiParam::new(types::F64));
        let id = module
            .declare_function(name, Linkage::Import, &sig)
            .map_err(|e| JitError::Codegen(format!("declaring {name}: {e}")))?;
        self.ids.insert(name, id);
        Ok(id)
    }
}

/// Values that are valid in one block scope (the point body or a neuron loop
/// body); inner scopes see the outer ones.
#[derive(Default)]
struct Scope {
    /// `(array, point, neuron)` -> `base + 8*point*i + 8*neuron*k`.
    addresses: HashMap<(u32, usize, usize), Value>,
    /// Calls of pure host functions, by symbol and arguments.
    calls: HashMap<(&'static str, Value, Option<Value>), Value>,
}

/// Builds the body of one kernel function.
pub(super) struct Lowering<'a, 'f> {
    b: FunctionBuilder<'f>,
    module: &'a mut JITModule,
    imports: &'a mut Imports,
    options: Options,
    ptr: Type,
    refs: HashMap<&'static str, FuncRef>,
    bases: Vec<Value>,
    neurons: Value,
    end: Value,
    /// The shape of the body being emitted.
    lanes: Lanes,
    /// The number of streams of the body being emitted (1 for the scalar
    /// body) and the stream of the statement being emitted.
    streams: usize,
    stream: usize,
    /// Each kernel value in each stream (index `value * streams + stream`).
    values: Vec<Option<Value>>,
    /// Each accumulator in each stream (index `var * streams + stream`).
    vars: Vec<Variable>,
    /// The lanes' axis of the vector body being emitted.
    axis: Axis,
    /// With lanes over neurons: the point's scalar values, splatted when
    /// the vector loop uses them (index `value`).
    outer: Vec<Option<Value>>,
    /// With lanes over neurons: the neuron count up to which the vector
    /// loops may run ([`super::neuron_lane_limit`]).
    neuron_limit: Option<usize>,
    /// The (first) point of the body being emitted.
    point: Value,
    neuron: Option<Value>,
    scopes: Vec<Scope>,
}

fn input_flags() -> MemFlagsData {
    // Inputs are shared slices nobody writes during the call: loads of the
    // same element may be merged. Not `can_move`: a load inside a neuron loop
    // is only in bounds if the loop runs.
    MemFlagsData::trusted().with_readonly()
}

fn output_flags() -> MemFlagsData {
    MemFlagsData::trusted()
}

/// Flags of a vector access: like the scalar ones but not `aligned`, as a
/// pair of `f64` elements need not be 16-byte aligned.
fn vector_flags(flags: MemFlagsData) -> MemFlagsData {
    let mut vector = MemFlagsData::new().with_notrap();
    if flags.readonly() {
        vector = vector.with_readonly();
    }
    vector
}

impl<'a, 'f> Lowering<'a, 'f> {
    /// Emits the whole function and finalizes the builder.
    pub fn build(
        mut b: FunctionBuilder<'f>,
        module: &'a mut JITModule,
        imports: &'a mut Imports,
        kernel: &'a Kernel,
        options: Options,
    ) -> Result<(), JitError> {
        let config = module.target_config();
        let ptr = config.pointer_type();
        let entry = b.create_block();
        let point_block = b.create_block();
        let exit = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        b.seal_block(entry);
        let params = b.block_params(entry).to_vec();
        let (ptrs, neurons, start, end) = (params[0], params[1], params[2], params[3]);

        // Base pointers of the arrays (the pointer table is valid and
        // immutable for the whole call).
        let table_flags = MemFlagsData::trusted().with_readonly().with_can_move();
        let bytes = ptr.bytes() as i32;
        let bases = (0..kernel.arrays.len())
            .map(|a| b.ins().load(ptr, table_flags, ptrs, bytes * a as i32))
            .collect();
        let mut lowering = Lowering {
            b,
            module,
            imports,
            options,
            ptr,
            refs: HashMap::new(),
            bases,
            neurons,
            end,
            lanes: Lanes::One,
            streams: 1,
            stream: 0,
            values: Vec::new(),
            vars: Vec::new(),
            axis: Axis::Points,
            outer: Vec::new(),
            neuron_limit: None,
            point: start,
            neuron: None,
            scopes: Vec::new(),
        };
        let l = &mut lowering;

        // Accumulators start at 0.0 and keep their values from one point to
        // the next, like the interpreter's (which matters only when points
        // are not independent, and then there are no vector loops).
        let scalar_vars = l.accumulators(kernel.vars, Lanes::One, 1);
        let i_var = l.b.declare_var(ptr);
        l.b.def_var(i_var, start);
        if options.neuron_lanes && !options.vector_streams.is_empty() {
            l.neuron_limit = super::neuron_lane_limit(kernel);
        }
        let vector = !options.vector_streams.is_empty()
            && l.neuron_limit.is_none()
            && kernel.points_are_independent();
        // The scalar loop is emitted first (whatever the order in which the
        // loops run) so that its text reads as when it is the only loop.
        let first_check = if vector {
            l.b.create_block()
        } else {
            point_block
        };
        let any = l.b.ins().icmp(IntCC::UnsignedLessThan, start, end);
        l.b.ins().brif(any, first_check, &[], exit, &[]);

        l.b.switch_to_block(point_block);
        let i = l.b.use_var(i_var);
        l.body(kernel, Lanes::One, 1, scalar_vars, i)?;
        let next = l.b.ins().iadd_imm_s(i, 1);
        l.b.def_var(i_var, next);
        let more = l.b.ins().icmp(IntCC::UnsignedLessThan, next, end);
        l.b.ins().brif(more, point_block, &[], exit, &[]);

        l.b.switch_to_block(exit);
        l.b.ins().return_(&[]);

        if vector {
            let mut check = first_check;
            for (n, &streams) in options.vector_streams.iter().enumerate() {
                let next = if n + 1 < options.vector_streams.len() {
                    l.b.create_block()
                } else {
                    // After the last vector loop, the scalar loop's test.
                    let tail = l.b.create_block();
                    l.b.switch_to_block(tail);
                    let i = l.b.use_var(i_var);
                    let any = l.b.ins().icmp(IntCC::UnsignedLessThan, i, end);
                    l.b.ins().brif(any, point_block, &[], exit, &[]);
                    tail
                };
                l.vector_loop(kernel, streams.max(1), check, next, i_var)?;
                check = next;
            }
        }
        let mut b = lowering.b;
        b.seal_all_blocks();
        b.finalize(config);
        Ok(())
    }

    /// Emits a vector loop of `streams` streams, entered at `check`, which
    /// runs it while `2 * streams` points remain, then goes on to `next`.
    fn vector_loop(
        &mut self,
        kernel: &Kernel,
        streams: usize,
        check: Block,
        next: Block,
        i_var: Variable,
    ) -> Result<(), JitError> {
        let width = 2 * streams as i64;
        let loop_block = self.b.create_block();
        self.b.switch_to_block(check);
        let vars = self.accumulators(kernel.vars, Lanes::Two, streams);
        let start = self.b.use_var(i_var);
        let end = self.end;
        // i <= end here: no wrap-around.
        let count = self.b.ins().isub(end, start);
        let mut go = self
            .b
            .ins()
            .icmp_imm_u(IntCC::UnsignedGreaterThanOrEqual, count, width);
        let limit = super::row_safe_neurons(kernel);
        if limit != usize::MAX {
            // An unsigned comparison with the immediate's 64 bits.
            let fits =
                self.b
                    .ins()
                    .icmp_imm_u(IntCC::UnsignedLessThanOrEqual, self.neurons, limit as i64);
            go = self.b.ins().band(go, fits);
        }
        self.b.ins().brif(go, loop_block, &[], next, &[]);

        self.b.switch_to_block(loop_block);
        let i = self.b.use_var(i_var);
        self.body(kernel, Lanes::Two, streams, vars, i)?;
        let after = self.b.ins().iadd_imm_s(i, width);
        self.b.def_var(i_var, after);
        let left = self.b.ins().isub(end, after);
        let more = self
            .b
            .ins()
            .icmp_imm_u(IntCC::UnsignedGreaterThanOrEqual, left, width);
        self.b.ins().brif(more, loop_block, &[], next, &[]);
        Ok(())
    }

    /// Declares `count` accumulators of the given shape for each of
    /// `streams` streams, set to 0.0.
    fn accumulators(&mut self, count: u32, lanes: Lanes, streams: usize) -> Vec<Variable> {
        self.lanes = lanes;
        let zero = self.constant(0.0);
        (0..count as usize * streams)
            .map(|_| {
                let var = self.b.declare_var(lanes.float());
                self.b.def_var(var, zero);
                var
            })
            .collect()
    }

    /// Emits the kernel body for the points starting at `point`.
    fn body(
        &mut self,
        kernel: &Kernel,
        lanes: Lanes,
        streams: usize,
        vars: Vec<Variable>,
        point: Value,
    ) -> Result<(), JitError> {
        self.lanes = lanes;
        self.streams = streams;
        self.stream = 0;
        self.values = vec![None; kernel.values as usize * streams];
        self.vars = vars;
        self.point = point;
        self.neuron = None;
        self.scopes = vec![Scope::default()];
        self.block(&kernel.body)
    }

    fn block(&mut self, stmts: &[Stmt]) -> Result<(), JitError> {
        for stmt in stmts {
            match stmt {
                Stmt::Def(v, inst) => {
                    for stream in 0..self.streams {
                        self.stream = stream;
                        let x = self.inst(inst)?;
                        self.values[v.0 as usize * self.streams + stream] = Some(x);
                    }
                }
                Stmt::Store {
                    array,
                    index,
                    value,
                } => {
                    for stream in 0..self.streams {
                        self.stream = stream;
                        let x = self.value(*value)?;
                        self.store(*array, *index, x);
                    }
                }
                Stmt::Set(var, value) => {
                    for stream in 0..self.streams {
                        self.stream = stream;
                        let x = self.value(*value)?;
                        let var = self.vars[var.0 as usize * self.streams + stream];
                        self.b.def_var(var, x);
                    }
                }
                Stmt::ForNeurons(body) if self.neuron_limit.is_some() => {
                    self.neuron_vector_loops(body)?
                }
                Stmt::ForNeurons(body) => self.neuron_loop(body)?,
            }
        }
        Ok(())
    }

    /// A neuron loop with lanes over neurons: vector loops over 2s neurons
    /// per pass (s = [`Options::vector_streams`], widest first; stream j
    /// holds neurons k + 2j and k + 2j + 1), entered only while the neuron
    /// count is at most the kernel's limit, then the scalar loop for the
    /// neurons left. The point's values defined before the loop are
    /// splatted where the vector body uses them.
    ///
    /// ```text
    /// check_s:  brif neurons - k >= 2s && neurons <= limit, vector_s, next
    /// vector_s: ..body over neurons k .. k+2s..; k += 2s
    ///           brif neurons - k >= 2s, vector_s, next
    /// tail:     brif k < neurons, neuron, after
    /// neuron:   ..body..; k += 1; brif k < neurons, neuron, after
    /// ```
    fn neuron_vector_loops(&mut self, body: &[Stmt]) -> Result<(), JitError> {
        if self.neuron.is_some() {
            return Err(JitError::Codegen("nested neuron loop".into()));
        }
        let limit = self.neuron_limit.unwrap_or(0);
        let k_var = self.b.declare_var(self.ptr);
        let zero = self.b.ins().iconst(self.ptr, 0);
        self.b.def_var(k_var, zero);
        let fits = (limit != usize::MAX).then(|| {
            self.b
                .ins()
                .icmp_imm_u(IntCC::UnsignedLessThanOrEqual, self.neurons, limit as i64)
        });
        let scalar_block = self.b.create_block();
        let tail = self.b.create_block();
        let after = self.b.create_block();
        let outer = std::mem::take(&mut self.values);
        let mut check = self.b.create_block();
        self.b.ins().jump(check, &[]);
        let all_streams = self.options.vector_streams;
        for (n, &streams) in all_streams.iter().enumerate() {
            let streams = streams.max(1);
            let width = 2 * streams as i64;
            let next = if n + 1 < all_streams.len() {
                self.b.create_block()
            } else {
                tail
            };
            let loop_block = self.b.create_block();
            self.b.switch_to_block(check);
            let k = self.b.use_var(k_var);
            // k <= neurons here: no wrap-around.
            let left = self.b.ins().isub(self.neurons, k);
            let mut go = self
                .b
                .ins()
                .icmp_imm_u(IntCC::UnsignedGreaterThanOrEqual, left, width);
            if let Some(fits) = fits {
                go = self.b.ins().band(go, fits);
            }
            self.b.ins().brif(go, loop_block, &[], next, &[]);

            self.b.switch_to_block(loop_block);
            let k = self.b.use_var(k_var);
            self.lanes = Lanes::Two;
            self.axis = Axis::Neurons;
            self.streams = streams;
            self.values = vec![None; outer.len() * streams];
            self.outer = outer.clone();
            self.neuron = Some(k);
            self.scopes.push(Scope::default());
            self.block(body)?;
            self.scopes.pop();
            let k_next = self.b.ins().iadd_imm_s(k, width);
            self.b.def_var(k_var, k_next);
            let left = self.b.ins().isub(self.neurons, k_next);
            let more = self
                .b
                .ins()
                .icmp_imm_u(IntCC::UnsignedGreaterThanOrEqual, left, width);
            self.b.ins().brif(more, loop_block, &[], next, &[]);
            check = next;
        }
        // The scalar loop, for the neurons the vector loops left.
        self.lanes = Lanes::One;
        self.axis = Axis::Points;
        self.streams = 1;
        self.stream = 0;
        self.values = outer;
        self.outer = Vec::new();
        self.b.switch_to_block(tail);
        let k = self.b.use_var(k_var);
        let any = self.b.ins().icmp(IntCC::UnsignedLessThan, k, self.neurons);
        self.b.ins().brif(any, scalar_block, &[], after, &[]);

        self.scalar_neurons(body, k_var, scalar_block, after)?;
        self.b.switch_to_block(after);
        Ok(())
    }

    /// The scalar neuron loop's block `loop_block`: the body for neuron
    /// k (from `k_var`), then k + 1 and on to `after` once k reaches the
    /// neuron count.
    fn scalar_neurons(
        &mut self,
        body: &[Stmt],
        k_var: Variable,
        loop_block: Block,
        after: Block,
    ) -> Result<(), JitError> {
        self.b.switch_to_block(loop_block);
        let k = self.b.use_var(k_var);
        self.neuron = Some(k);
        self.scopes.push(Scope::default());
        self.block(body)?;
        self.scopes.pop();
        self.neuron = None;
        let next = self.b.ins().iadd_imm_s(k, 1);
        self.b.def_var(k_var, next);
        let more = self
            .b
            .ins()
            .icmp(IntCC::UnsignedLessThan, next, self.neurons);
        self.b.ins().brif(more, loop_block, &[], after, &[]);
        Ok(())
    }

    fn neuron_loop(&mut self, body: &[Stmt]) -> Result<(), JitError> {
        if self.neuron.is_some() {
            return Err(JitError::Codegen("nested neuron loop".into()));
        }
        let loop_block = self.b.create_block();
        let after = self.b.create_block();
        let k_var = self.b.declare_var(self.ptr);
        let zero = self.b.ins().iconst(self.ptr, 0);
        self.b.def_var(k_var, zero);
        let any = self.b.ins().icmp_imm_u(IntCC::NotEqual, self.neurons, 0);
        self.b.ins().brif(any, loop_block, &[], after, &[]);

        self.scalar_neurons(body, k_var, loop_block, after)?;
        self.b.seal_block(loop_block);
        self.b.seal_block(after);
        self.b.switch_to_block(after);
        Ok(())
    }

    fn value(&mut self, v: ValueId) -> Result<Value, JitError> {
        let slot = v.0 as usize * self.streams + self.stream;
        if let Some(x) = self.values.get(slot).copied().flatten() {
            return Ok(x);
        }
        // A point's scalar value used in a vector loop over its neurons.
        if let Some(x) = self.outer.get(v.0 as usize).copied().flatten() {
            let splat = self.b.ins().splat(types::F64X2, x);
            self.values[slot] = Some(splat);
            return Ok(splat);
        }
        Err(JitError::Codegen(format!(
            "%{} used before its definition",
            v.0
        )))
    }

    fn inst(&mut self, inst: &Inst) -> Result<Value, JitError> {
        Ok(match *inst {
            Inst::Const(c) => self.constant(c),
            Inst::Load { array, index } => self.load(array, index),
            Inst::Unary(op, a) => {
                let a = self.value(a)?;
                match op {
                    UnaryOp::Neg => self.b.ins().fneg(a),
                    UnaryOp::Call(MathFn::Sqrt) if self.options.native_sqrt_abs => {
                        self.b.ins().sqrt(a)
                    }
                    UnaryOp::Call(MathFn::Abs) if self.options.native_sqrt_abs => {
                        self.b.ins().fabs(a)
                    }
                    UnaryOp::Call(MathFn::Tanh) if self.options.inline_tanh => self.tanh(a),
                    UnaryOp::Call(f) => self.call(symbols::symbol(f), a, None)?,
                }
            }
            Inst::Binary(op, a, b) => {
                let (a, b) = (self.value(a)?, self.value(b)?);
                match op {
                    BinaryOp::Add => self.b.ins().fadd(a, b),
                    BinaryOp::Sub => self.b.ins().fsub(a, b),
                    BinaryOp::Mul => self.b.ins().fmul(a, b),
                    BinaryOp::Div => self.b.ins().fdiv(a, b),
                    BinaryOp::Pow => self.call(symbols::POW, a, Some(b))?,
                }
            }
            Inst::Powi(a, n) => {
                let a = self.value(a)?;
                self.powi(a, n)
            }
            Inst::Read(var) => {
                let var = self.vars[var.0 as usize * self.streams + self.stream];
                self.b.use_var(var)
            }
        })
    }

    /// The constant `c` in every lane.
    fn constant(&mut self, c: f64) -> Value {
        match self.lanes {
            Lanes::One => self.b.ins().f64const(c),
            Lanes::Two => self.vector_constant(types::F64X2, c.to_bits()),
        }
    }

    /// A vector of type `ty` (two 64-bit lanes) with `bits` in each lane.
    fn vector_constant(&mut self, ty: Type, bits: u64) -> Value {
        let bytes = [bits.to_le_bytes(), bits.to_le_bytes()].concat();
        let constant = self.b.func.dfg.constants.insert(ConstantData::from(bytes));
        self.b.ins().vconst(ty, constant)
    }

    /// A load of an input element, one per lane.
    fn load(&mut self, array: ArrayId, index: Index) -> Value {
        let (p, offset) = self.address(array, index, 0);
        match self.lanes {
            Lanes::One => self.b.ins().load(types::F64, input_flags(), p, offset),
            // The same element for both lanes.
            Lanes::Two if self.lane_stride(index) == 0 => {
                let x = self.b.ins().load(types::F64, input_flags(), p, offset);
                self.b.ins().splat(types::F64X2, x)
            }
            // Adjacent elements.
            Lanes::Two if self.lane_stride(index) == 1 => {
                let flags = vector_flags(input_flags());
                self.b.ins().load(types::F64X2, flags, p, offset)
            }
            Lanes::Two => {
                let first = self.b.ins().load(types::F64, input_flags(), p, offset);
                let (p, offset) = self.address(array, index, 1);
                let second = self.b.ins().load(types::F64, input_flags(), p, offset);
                let v = self.b.ins().scalar_to_vector(types::F64X2, first);
                self.b.ins().insertlane(v, second, 1)
            }
        }
    }

    /// A store of an output element, one per lane.
    fn store(&mut self, array: ArrayId, index: Index, x: Value) {
        let (p, offset) = self.address(array, index, 0);
        match self.lanes {
            Lanes::One => {
                self.b.ins().store(output_flags(), x, p, offset);
            }
            // Adjacent elements.
            Lanes::Two if self.lane_stride(index) == 1 => {
                let flags = vector_flags(output_flags());
                self.b.ins().store(flags, x, p, offset);
            }
            Lanes::Two => {
                let first = self.b.ins().extractlane(x, 0);
                self.b.ins().store(output_flags(), first, p, offset);
                let (p, offset) = self.address(array, index, 1);
                let second = self.b.ins().extractlane(x, 1);
                self.b.ins().store(output_flags(), second, p, offset);
            }
        }
    }

    /// tanh(x) inline, operation for operation as [`crate::math::tanh`]
    /// (so the result is bit-identical to the interpreter's), in each lane.
    fn tanh(&mut self, x: Value) -> Value {
        use crate::math::{LN2_HI, LN2_LO, ROUND_MAGIC, TANH_CLAMP};
        let (float, int) = (self.lanes.float(), self.lanes.int());
        let two = self.constant(2.0);
        let magnitude = self.b.ins().fabs(x);
        let y = self.b.ins().fmul(two, magnitude);
        let clamp = self.constant(TANH_CLAMP);
        let y = self.min_keeping_nan(clamp, y);
        let log2e = self.constant(std::f64::consts::LOG2_E);
        let scaled = self.b.ins().fmul(y, log2e);
        let magic = self.constant(ROUND_MAGIC);
        let kf = self.b.ins().fadd(scaled, magic);
        let k = self.b.ins().fsub(kf, magic);
        let hi = self.constant(LN2_HI);
        let lo = self.constant(LN2_LO);
        let k_hi = self.b.ins().fmul(k, hi);
        let r = self.b.ins().fsub(y, k_hi);
        let k_lo = self.b.ins().fmul(k, lo);
        let r = self.b.ins().fsub(r, k_lo);
        let q = self.expm1_series(r);
        let p = self.b.ins().fmul(r, q);
        let one = self.constant(1.0);
        // 2^k from its exponent bits: k + 1023 shifted into place, with k
        // from the low bits of kf.
        let k_bits = self.b.ins().bitcast(int, MemFlagsData::new(), kf);
        let biased = match self.lanes {
            Lanes::One => self.b.ins().iadd_imm_s(k_bits, 1023),
            Lanes::Two => {
                let bias = self.vector_constant(types::I64X2, 1023);
                self.b.ins().iadd(k_bits, bias)
            }
        };
        let bits = self.b.ins().ishl_imm_u(biased, 52);
        let scale = self.b.ins().bitcast(float, MemFlagsData::new(), bits);
        let sp = self.b.ins().fmul(scale, p);
        let scale_minus_one = self.b.ins().fsub(scale, one);
        let e = self.b.ins().fadd(sp, scale_minus_one);
        let e_plus_two = self.b.ins().fadd(e, two);
        let t = self.b.ins().fdiv(e, e_plus_two);
        self.copysign(t, x)
    }

    /// `if y > bound { bound } else { y }` (so NaN stays NaN), per lane.
    fn min_keeping_nan(&mut self, bound: Value, y: Value) -> Value {
        match self.lanes {
            Lanes::One => {
                let above = self.b.ins().fcmp(FloatCC::GreaterThan, y, bound);
                self.b.ins().select(above, bound, y)
            }
            Lanes::Two => {
                // A lane mask; `bound < y` is `y > bound`.
                let above = self.b.ins().fcmp(FloatCC::LessThan, bound, y);
                let mask = self
                    .b
                    .ins()
                    .bitcast(types::F64X2, MemFlagsData::new(), above);
                self.b.ins().bitselect(mask, bound, y)
            }
        }
    }

    /// `magnitude` with the sign of `sign`, per lane.
    fn copysign(&mut self, magnitude: Value, sign: Value) -> Value {
        match self.lanes {
            Lanes::One => self.b.ins().fcopysign(magnitude, sign),
            Lanes::Two => {
                let bit = self.constant(-0.0);
                let m = self.b.ins().band_not(magnitude, bit);
                let s = self.b.ins().band(sign, bit);
                self.b.ins().bor(m, s)
            }
        }
    }

    /// [`crate::math::expm1_series`], operation for operation.
    fn expm1_series(&mut self, r: Value) -> Value {
        let a: Vec<Value> = crate::math::EXPM1_TAYLOR
            .iter()
            .map(|&c| self.constant(c))
            .collect();
        let r2 = self.b.ins().fmul(r, r);
        let r4 = self.b.ins().fmul(r2, r2);
        let r8 = self.b.ins().fmul(r4, r4);
        // x + y * z
        let fused = |l: &mut Self, x: Value, y: Value, z: Value| {
            let yz = l.b.ins().fmul(y, z);
            l.b.ins().fadd(x, yz)
        };
        let b: Vec<Value> = (0..6)
            .map(|i| fused(self, a[2 * i], a[2 * i + 1], r))
            .collect();
        let c0 = fused(self, b[0], b[1], r2);
        let c1 = fused(self, b[2], b[3], r2);
        let c2 = fused(self, b[4], b[5], r2);
        let d0 = fused(self, c0, c1, r4);
        let d1 = fused(self, c2, a[12], r4);
        fused(self, d0, d1, r8)
    }

    /// `x^n` with the multiplication sequence of [`crate::ir::powi`].
    fn powi(&mut self, x: Value, n: i32) -> Value {
        let mut result: Option<Value> = None;
        let mut base = x;
        let mut e = n.unsigned_abs();
        while e > 0 {
            if e & 1 == 1 {
                result = Some(match result {
                    None => base,
                    Some(r) => self.b.ins().fmul(r, base),
                });
            }
            e >>= 1;
            if e > 0 {
                base = self.b.ins().fmul(base, base);
            }
        }
        let result = match result {
            Some(r) => r,
            None => self.constant(1.0),
        };
        if n < 0 {
            let one = self.constant(1.0);
            self.b.ins().fdiv(one, result)
        } else {
            result
        }
    }

    /// A call of a pure host function (once per lane); repeated calls with
    /// the same arguments in scope reuse the first result.
    fn call(&mut self, name: &'static str, a: Value, b: Option<Value>) -> Result<Value, JitError> {
        let key = (name, a, b);
        if let Some(v) = self.scopes.iter().rev().find_map(|s| s.calls.get(&key)) {
            return Ok(*v);
        }
        let func = match self.refs.get(name) {
            Some(f) => *f,
            None => {
                let arity = if b.is_some() { 2 } else { 1 };
                let id = self.imports.get(self.module, name, arity)?;
                let f = self.module.declare_func_in_func(id, self.b.func);
                self.refs.insert(name, f);
                f
            }
        };
        let result = match self.lanes {
            Lanes::One => self.call_scalar(func, a, b),
            Lanes::Two => {
                let lane = |l: &mut Self, n: u8| {
                    let a = l.b.ins().extractlane(a, n);
                    let b = b.map(|b| l.b.ins().extractlane(b, n));
                    l.call_scalar(func, a, b)
                };
                let first = lane(self, 0);
                let second = lane(self, 1);
                let v = self.b.ins().scalar_to_vector(types::F64X2, first);
                self.b.ins().insertlane(v, second, 1)
            }
        };
        if let Some(scope) = self.scopes.last_mut() {
            scope.calls.insert(key, result);
        }
        Ok(result)
    }

    /// One call of `func` with `f64` arguments.
    fn call_scalar(&mut self, func: FuncRef, a: Value, b: Option<Value>) -> Value {
        let call = match b {
            Some(b) => self.b.ins().call(func, &[a, b]),
            None => self.b.ins().call(func, &[a]),
        };
        self.b.inst_results(call)[0]
    }

    /// The distance of an index's elements in neighbouring lanes.
    fn lane_stride(&self, index: Index) -> usize {
        match self.axis {
            Axis::Points => index.point,
            Axis::Neurons => index.neuron,
        }
    }

    /// The pointer and immediate byte offset of an element, for the point
    /// (or neuron) in lane `lane` (`0` or `1`) of the current stream.
    fn address(&mut self, array: ArrayId, index: Index, lane: usize) -> (Value, i32) {
        let step = 2 * self.stream + lane;
        let element = index
            .offset
            .wrapping_add(self.lane_stride(index).wrapping_mul(step));
        let bytes = element.wrapping_mul(8);
        let p = self.scaled(array.0, index.point, index.neuron);
        match i32::try_from(bytes) {
            Ok(offset) => (p, offset),
            Err(_) => (self.b.ins().iadd_imm_s(p, bytes as i64), 0),
        }
    }

    /// `base + 8*point*i + 8*neuron*k`, cached per scope.
    fn scaled(&mut self, array: u32, point: usize, neuron: usize) -> Value {
        let key = (array, point, neuron);
        if let Some(v) = self.scopes.iter().rev().find_map(|s| s.addresses.get(&key)) {
            return *v;
        }
        let v = if neuron != 0 {
            let row = self.scaled(array, point, 0);
            let k = self.neuron.expect("neuron index outside a neuron loop");
            let step = self.b.ins().imul_imm_s(k, neuron.wrapping_mul(8) as i64);
            self.b.ins().iadd(row, step)
        } else if point != 0 {
            let step = self
                .b
                .ins()
                .imul_imm_s(self.point, point.wrapping_mul(8) as i64);
            self.b.ins().iadd(self.bases[array as usize], step)
        } else {
            self.bases[array as usize]
        };
        if let Some(scope) = self.scopes.last_mut() {
            scope.addresses.insert(key, v);
        }
        v
    }
}
