//! Stage 6, the JIT: compiles kernels ([`ir::Kernel`]) to machine code with
//! Cranelift and runs them.
//!
//! The machine code reproduces the reference interpreter ([`ir::run`]) bit
//! for bit: the same IEEE operations in the same order, the same Rust `std`
//! functions for the transcendental calls (through `extern "C"` shims
//! registered by address), the same multiplication sequence for `powi`.
//! `sqrt`, `abs` and negation are native instructions, which are exact.
//! Kernels whose points are independent also get vector loops computing
//! several points per pass in the lanes of `f64x2` values, each lane with
//! the scalar operations in the scalar order (see `lower`).
//!
//! Safety rests on two checks made before any machine code runs:
//! - [`Kernel::verify`](ir::Kernel::verify) when compiling: SSA is well formed,
//!   loads read input arrays and stores write output arrays, and every store
//!   stays inside the row of its point;
//! - [`ir::check_call`] plus an overflow-checked recomputation of the same
//!   bounds on every call: every element the loops can touch lies inside its
//!   slice. The machine code itself has no bounds checks.

mod lower;
mod pool;
mod symbols;
#[cfg(test)]
mod tests;

use std::fmt;
use std::mem::ManuallyDrop;
use std::ops::Range;

use cranelift_codegen::ir::UserFuncName;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::Module;

use crate::ir::{self, Access, ArrayArg, Index, Kernel, RunError, Stmt};

/// Why kernels could not be compiled.
#[derive(Clone, Debug, PartialEq)]
pub enum JitError {
    /// A kernel failed [`Kernel::verify`] (a bug in the lowering).
    Verify {
        kernel: String,
        error: ir::VerifyError,
    },
    /// Cranelift refused the code or the host (a bug here, or an unsupported machine).
    Codegen(String),
}

impl fmt::Display for JitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JitError::Verify { kernel, error } => write!(f, "kernel {kernel}: {error}"),
            JitError::Codegen(m) => write!(f, "code generation failed: {m}"),
        }
    }
}

impl std::error::Error for JitError {}

/// The machine signature of a compiled kernel:
/// `(array base pointers, neurons, first point, end of points)`.
type KernelFn = unsafe extern "C" fn(*const *mut f64, usize, usize, usize);

/// One memory access of a kernel, for the bounds check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Reach {
    array: usize,
    index: Index,
    /// Inside the neuron loop (not executed when `neurons == 0`).
    in_loop: bool,
}

/// What `run` needs to know about one compiled kernel.
struct Entry {
    kernel: Kernel,
    code: KernelFn,
    /// Every distinct access, for the overflow-checked bounds check.
    reaches: Vec<Reach>,
    /// The largest neuron count for which every store stays inside its
    /// point's row (so that point ranges write disjoint memory).
    row_safe_neurons: usize,
    /// Whether each point's results depend on that point alone
    /// ([`Kernel::points_are_independent`]), so that point ranges can run on
    /// different threads.
    independent: bool,
    /// The number of points a pass of the kernel's widest vector loop
    /// computes (1 without vector loops).
    points_per_pass: usize,
}

/// The JIT module, which owns the executable memory.
struct CodeMemory(ManuallyDrop<JITModule>);

// SAFETY: after `Compiled::new` returns, the module is never used again
// except to free its memory in `Drop` (which has exclusive access). Its
// interior mutability (a symbol cache in a `RefCell`) and raw pointers are
// therefore never touched from two threads; the executable memory it owns is
// immutable and valid to call from any thread.
unsafe impl Send for CodeMemory {}
// SAFETY: as above; `&CodeMemory` gives access to nothing.
unsafe impl Sync for CodeMemory {}

/// Machine code for a set of kernels, owning the JIT module.
pub struct Compiled {
    entries: Vec<Entry>,
    clif: String,
    asm: String,
    threads: usize,
    memory: CodeMemory,
}

impl Drop for Compiled {
    fn drop(&mut self) {
        // SAFETY: the module is taken exactly once, here. The function
        // pointers into it live in `self.entries` and can no longer be
        // called: `run`/`run_parallel` borrow `self` and wait for every
        // chunk they hand to worker threads before returning.
        unsafe { ManuallyDrop::take(&mut self.memory.0).free_memory() }
    }
}

impl fmt::Debug for Compiled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self
            .entries
            .iter()
            .map(|e| e.kernel.name.as_str())
            .collect();
        f.debug_struct("Compiled")
            .field("kernels", &names)
            .field("threads", &self.threads)
            .finish()
    }
}

/// A call's arguments, shared by the threads of `run_parallel`.
#[derive(Clone, Copy)]
struct Call {
    code: KernelFn,
    ptrs: *const *mut f64,
    neurons: usize,
}

// SAFETY: the pointers are only dereferenced by the kernel code, and
// `run_parallel` gives each thread a disjoint set of points, whose stores
// touch disjoint elements (see `Compiled::run_parallel`).
unsafe impl Send for Call {}

impl Call {
    /// Runs the kernel for `points`.
    ///
    /// # Safety
    /// The call must have passed `Compiled::check` for a range containing
    /// `points`, the slices behind `ptrs` must outlive the call, and no other
    /// thread may touch the output rows of `points` meanwhile.
    unsafe fn run(self, points: Range<usize>) {
        if points.start < points.end {
            clean_upper_state();
            // SAFETY: see the function's contract.
            unsafe { (self.code)(self.ptrs, self.neurons, points.start, points.end) }
        }
    }
}

/// Clears the upper halves of the vector registers (`vzeroupper`) before
/// a kernel runs. The kernels use 128-bit instructions, some of them in the
/// legacy SSE encoding; when a wider AVX or AVX-512 routine (faer's matrix
/// products) has left the upper halves dirty, every such instruction pays a
/// state-transition penalty, which made the layer kernels of deep networks
/// (run between matrix products) some hundred times slower than alone.
/// Callers of such routines call it too, before their own scalar code.
#[inline]
pub fn clean_upper_state() {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx") {
            // SAFETY: `vzeroupper` only zeroes the upper bits of the vector
            // registers, all of which are declared clobbered.
            unsafe { std::arch::asm!("vzeroupper", clobber_abi("C")) };
        }
    }
}

impl Compiled {
    /// Compiles every kernel (after verifying it for up to `max_neurons`
    /// neurons).
    pub fn new(kernels: &[Kernel], max_neurons: usize) -> Result<Compiled, JitError> {
        Compiled::with_options(kernels, max_neurons, lower::Options::default())
    }

    /// Compiles every kernel of a lowered problem, for its neuron count:
    /// kernel i of the result is `lowered.kernels[i]`.
    pub fn of_lowered(lowered: &crate::lower::Lowered) -> Result<Compiled, JitError> {
        let kernels: Vec<Kernel> = lowered.kernels.iter().map(|k| k.kernel.clone()).collect();
        Compiled::new(&kernels, lowered.layout.neurons)
    }

    fn with_options(
        kernels: &[Kernel],
        max_neurons: usize,
        options: lower::Options,
    ) -> Result<Compiled, JitError> {
        for kernel in kernels {
            kernel
                .verify(max_neurons)
                .map_err(|error| JitError::Verify {
                    kernel: kernel.name.clone(),
                    error,
                })?;
        }
        let codegen = |e: &dyn fmt::Display| JitError::Codegen(e.to_string());
        let mut builder = JITBuilder::with_flags(
            &[
                ("opt_level", "speed"),
                // Large kernels spill many values: probe big stack frames
                // (inline, without a runtime helper) so that they cannot
                // jump over a thread's guard page.
                ("enable_probestack", "true"),
                ("probestack_strategy", "inline"),
                // Cranelift's IR verifier checks this module's output; the
                // tests run with it, release builds skip its cost.
                (
                    "enable_verifier",
                    if cfg!(debug_assertions) {
                        "true"
                    } else {
                        "false"
                    },
                ),
            ],
            cranelift_module::default_libcall_names(),
        )
        .map_err(|e| codegen(&e))?;
        for (name, ptr) in symbols::table() {
            builder.symbol(name, ptr);
        }
        let mut module = JITModule::new(builder);
        // From here on the module must be freed on every path.
        let result = Self::compile_all(&mut module, kernels, options);
        let (ids, clif, asm) = match result {
            Ok(r) => r,
            Err(e) => {
                // SAFETY: no function of the module was handed out.
                unsafe { module.free_memory() };
                return Err(e);
            }
        };
        let entries = kernels
            .iter()
            .zip(ids)
            .map(|(kernel, id)| {
                let ptr = module.get_finalized_function(id);
                // SAFETY: `ptr` is the finalized code of a function compiled
                // with `lower::kernel_signature`: four pointer-sized integer
                // parameters, no results, the platform's default C calling
                // convention (`make_signature`), which is what
                // `unsafe extern "C" fn(*const *mut f64, usize, usize, usize)`
                // denotes. The memory stays executable until `Drop` frees it.
                let code = unsafe { std::mem::transmute::<*const u8, KernelFn>(ptr) };
                Entry {
                    kernel: kernel.clone(),
                    code,
                    reaches: reaches(kernel),
                    row_safe_neurons: row_safe_neurons(kernel),
                    independent: kernel.points_are_independent(),
                    points_per_pass: if kernel.points_are_independent() {
                        options.points_per_pass()
                    } else {
                        1
                    },
                }
            })
            .collect();
        Ok(Compiled {
            entries,
            clif,
            asm,
            threads: 1,
            memory: CodeMemory(ManuallyDrop::new(module)),
        })
    }

    #[allow(clippy::type_complexity)]
    fn compile_all(
        module: &mut JITModule,
        kernels: &[Kernel],
        options: lower::Options,
    ) -> Result<(Vec<cranelift_module::FuncId>, String, String), JitError> {
        let codegen = |e: &dyn fmt::Display| JitError::Codegen(e.to_string());
        let mut imports = lower::Imports::default();
        let mut ctx = module.make_context();
        let mut fctx = FunctionBuilderContext::new();
        let mut ids = Vec::with_capacity(kernels.len());
        let (mut clif, mut asm) = (String::new(), String::new());
        for kernel in kernels {
            let sig = lower::kernel_signature(module);
            let id = module
                .declare_anonymous_function(&sig)
                .map_err(|e| codegen(&e))?;
            module.clear_context(&mut ctx);
            ctx.func.signature = sig;
            ctx.func.name = UserFuncName::testcase(symbol_name(&kernel.name));
            let b = FunctionBuilder::new(&mut ctx.func, &mut fctx);
            lower::Lowering::build(b, module, &mut imports, kernel, options)?;
            let text = ctx.func.display().to_string();
            clif.push_str(&format!("; kernel {}\n{text}\n", kernel.name));
            ctx.set_disasm(true);
            module
                .define_function(id, &mut ctx)
                .map_err(|e| JitError::Codegen(format!("kernel {}: {e:?}\n{text}", kernel.name)))?;
            let vcode = ctx
                .compiled_code()
                .and_then(|c| c.vcode.clone())
                .unwrap_or_default();
            asm.push_str(&format!("; kernel {}\n{vcode}\n", kernel.name));
            ids.push(id);
        }
        module.finalize_definitions().map_err(|e| codegen(&e))?;
        Ok((ids, clif, asm))
    }

    /// The number of kernels.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no kernels.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The kernel number `index`, as compiled.
    pub fn kernel(&self, index: usize) -> Option<&Kernel> {
        self.entries.get(index).map(|e| &e.kernel)
    }

    /// Cranelift IR of every kernel as generated (before Cranelift's own
    /// optimizations), each preceded by `; kernel NAME`.
    pub fn clif(&self) -> &str {
        &self.clif
    }

    /// Disassembly of every kernel's machine code (Cranelift's VCode
    /// listing), each preceded by `; kernel NAME`.
    pub fn asm(&self) -> &str {
        &self.asm
    }

    /// The thread count [`ir::Executor::run`] uses (1 unless set).
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Sets the thread count [`ir::Executor::run`] uses (results do not
    /// depend on it).
    pub fn set_threads(&mut self, threads: usize) {
        self.threads = threads.max(1);
    }

    /// Checks a call; on success every element the kernel can touch for
    /// `points` and `neurons` lies inside its slice, and the returned
    /// `Call` may run any sub-range of `points`.
    fn check(
        &self,
        index: usize,
        arrays: &mut [ArrayArg<'_>],
        neurons: usize,
        points: &Range<usize>,
    ) -> Result<(&Entry, Vec<*mut f64>), RunError> {
        let entry = self
            .entries
            .get(index)
            .ok_or(RunError::NoSuchKernel { index })?;
        // `check_call` computes the needed lengths with unchecked arithmetic,
        // which would wrap around (in release builds) for absurd strides and
        // let out-of-bounds accesses through. Refuse such calls first; after
        // that its arithmetic is exact.
        if arrays.len() == entry.kernel.arrays.len() {
            let end = points.end.max(points.start);
            let last_point = end.saturating_sub(1);
            let last_neuron = neurons.saturating_sub(1);
            for r in &entry.reaches {
                if end == 0 || (r.in_loop && neurons == 0) {
                    continue;
                }
                let need = r
                    .index
                    .point
                    .checked_mul(last_point)
                    .and_then(|x| x.checked_add(r.index.neuron.checked_mul(last_neuron)?))
                    .and_then(|x| x.checked_add(r.index.offset))
                    .and_then(|x| x.checked_add(1));
                if need.is_none() {
                    let len = match &arrays[r.array] {
                        ArrayArg::In(a) => a.len(),
                        ArrayArg::Out(a) => a.len(),
                    };
                    return Err(RunError::TooShort {
                        name: entry.kernel.arrays[r.array].name.clone(),
                        need: usize::MAX,
                        len,
                    });
                }
            }
        }
        ir::check_call(&entry.kernel, arrays, neurons, points)?;
        // `check_call` matched each argument's kind to its declaration:
        // stores only ever go through pointers of `Out` (exclusive) slices.
        let ptrs = arrays
            .iter_mut()
            .map(|a| match a {
                ArrayArg::In(a) => a.as_ptr().cast_mut(),
                ArrayArg::Out(a) => a.as_mut_ptr(),
            })
            .collect();
        Ok((entry, ptrs))
    }

    /// Runs kernel number `index` over `points` with `neurons` neurons.
    /// The arrays are checked once, here; the loops have no bounds checks.
    pub fn run(
        &self,
        index: usize,
        arrays: &mut [ArrayArg<'_>],
        neurons: usize,
        points: Range<usize>,
    ) -> Result<(), RunError> {
        let (entry, ptrs) = self.check(index, arrays, neurons, &points)?;
        let call = Call {
            code: entry.code,
            ptrs: ptrs.as_ptr(),
            neurons,
        };
        // SAFETY: `check` admitted the call for `points`; `ptrs` and the
        // slices it points into (borrowed by `arrays`) outlive the call; no
        // other thread runs.
        unsafe { call.run(points) };
        Ok(())
    }

    /// Like [`Compiled::run`], splitting `points` into `threads` contiguous
    /// chunks, the first run on the calling thread, the others on worker
    /// threads (started once and kept). The results are bit-identical to `run`
    /// whatever the thread count: every point is computed by the same code
    /// from the same inputs, independently of the others.
    ///
    /// Soundness: the inputs are shared slices nobody writes. The outputs
    /// are exclusive slices, distinct from each other and from the inputs.
    /// A store `out[i*point + k*neuron + offset]` with
    /// `neuron*(neurons-1) + offset < point` lands in row `i`
    /// (`i*point .. (i+1)*point`), so threads with disjoint point ranges
    /// write disjoint elements and never read an output. `Kernel::verify`
    /// guarantees the row condition up to the `max_neurons` the kernels were
    /// compiled for; the exact limit is recomputed per kernel, and a call
    /// beyond it runs on one thread. So does a call of a kernel whose points
    /// are not independent (an accumulator carries a value from one point to
    /// the next), whose results depend on where a range starts.
    ///
    /// The chunks (but the last) hold a multiple of the points a pass of
    /// the widest compiled vector loop computes, so that it covers them
    /// without a remainder for the narrower loops.
    pub fn run_parallel(
        &self,
        index: usize,
        arrays: &mut [ArrayArg<'_>],
        neurons: usize,
        points: Range<usize>,
        threads: usize,
    ) -> Result<(), RunError> {
        let (entry, ptrs) = self.check(index, arrays, neurons, &points)?;
        let call = Call {
            code: entry.code,
            ptrs: ptrs.as_ptr(),
            neurons,
        };
        let count = points.end.saturating_sub(points.start);
        let threads = threads.clamp(1, count.max(1));
        if threads == 1 || neurons > entry.row_safe_neurons || !entry.independent {
            // SAFETY: as in `run`.
            unsafe { call.run(points) };
            return Ok(());
        }
        let chunk = count
            .div_ceil(threads)
            .next_multiple_of(entry.points_per_pass);
        let chunks: Vec<Range<usize>> = (0..threads)
            .map(|t| {
                let start = points
                    .start
                    .saturating_add(t.saturating_mul(chunk))
                    .min(points.end);
                start..start.saturating_add(chunk).min(points.end)
            })
            .filter(|r| r.start < r.end)
            .collect();
        // SAFETY: `check` admitted the whole range; the chunks are
        // disjoint, so their stores are (see above); `ptrs` and the slices
        // outlive the call, which waits for every chunk.
        unsafe { pool::run(call, &chunks) };
        Ok(())
    }
}

thread_local! {
    /// Set by [`on_this_thread`]: kernel calls of this thread use no workers.
    static ONE_THREAD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with every kernel call it makes through [`ir::Executor`] on
/// the calling thread alone (for callers that split the work between
/// threads themselves).
pub fn on_this_thread<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            ONE_THREAD.with(|o| o.set(self.0));
        }
    }
    let _restore = Restore(ONE_THREAD.with(|o| o.replace(true)));
    f()
}

impl ir::Executor for Compiled {
    fn run(
        &self,
        index: usize,
        arrays: &mut [ArrayArg<'_>],
        neurons: usize,
        points: Range<usize>,
    ) -> Result<(), RunError> {
        let threads = if ONE_THREAD.with(std::cell::Cell::get) {
            1
        } else {
            self.threads
        };
        self.run_parallel(index, arrays, neurons, points, threads)
    }
}

/// A Cranelift-safe function name (`[A-Za-z0-9_]`) for a kernel name.
fn symbol_name(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if s.is_empty() {
        "kernel".into()
    } else {
        s
    }
}

/// Every distinct memory access of a kernel.
fn reaches(kernel: &Kernel) -> Vec<Reach> {
    fn walk(block: &[Stmt], in_loop: bool, out: &mut Vec<Reach>) {
        for stmt in block {
            match stmt {
                Stmt::Def(_, ir::Inst::Load { array, index })
                | Stmt::Store { array, index, .. } => {
                    let r = Reach {
                        array: array.0 as usize,
                        index: *index,
                        in_loop,
                    };
                    if !out.contains(&r) {
                        out.push(r);
                    }
                }
                Stmt::ForNeurons(body) => walk(body, true, out),
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    walk(&kernel.body, false, &mut out);
    out
}

/// The largest neuron count for which every store of `kernel` stays inside
/// its point's row (`neuron*(neurons-1) + offset < point`).
fn row_safe_neurons(kernel: &Kernel) -> usize {
    let mut limit = usize::MAX;
    for r in reaches(kernel) {
        if kernel.arrays[r.array].access != Access::Output {
            continue;
        }
        let Index {
            point,
            neuron,
            offset,
        } = r.index;
        let fits = if offset >= point {
            0
        } else {
            // neuron == 0: any count fits.
            ((point - 1 - offset).checked_div(neuron)).map_or(usize::MAX, |n| n.saturating_add(1))
        };
        limit = limit.min(fits);
    }
    limit
}

/// Whether the neuron loop of `kernel` can run with its lanes over
/// neurons (`f64x2` values holding neurons k and k + 1 of one point), and
/// up to which neuron count: `Some(limit)` when the loop's iterations are
/// independent (it reads and sets no accumulator) and every store in it
/// moves with the neuron (stride > 0, the same stride for every store to
/// an array, so that the vector loop's order of stores cannot change which
/// value an element ends with), `limit` being the largest count for which
/// no two iterations store to the same element. Such a loop is a layer's
/// jet rule: each neuron's jet from its own pre-activation jet, with
/// neuron k's elements adjacent to neuron k + 1's (stride 1), so that the
/// lanes load and store with single vector instructions. `None` for a
/// kernel without a neuron loop. (Stores of two loops of one kernel are
/// treated as if in one loop: conservative.)
fn neuron_lane_limit(kernel: &Kernel) -> Option<usize> {
    let loops: Vec<&Vec<Stmt>> = kernel
        .body
        .iter()
        .filter_map(|s| match s {
            Stmt::ForNeurons(body) => Some(body),
            _ => None,
        })
        .collect();
    if loops.is_empty() {
        return None;
    }
    let mut stores: Vec<(u32, Index)> = Vec::new();
    for stmt in loops.into_iter().flatten() {
        match stmt {
            Stmt::Set(..) | Stmt::Def(_, ir::Inst::Read(_)) | Stmt::ForNeurons(_) => return None,
            Stmt::Store { array, index, .. } => {
                if index.neuron == 0 {
                    return None;
                }
                stores.push((array.0, *index));
            }
            Stmt::Def(..) => {}
        }
    }
    let mut limit = usize::MAX;
    for (n, &(array, a)) in stores.iter().enumerate() {
        for &(other, b) in &stores[n + 1..] {
            if other != array {
                continue;
            }
            if a.neuron != b.neuron || a.point != b.point {
                return None;
            }
            // Elements o_a + s k and o_b + s k' coincide for k != k' only
            // if |o_a - o_b| = s |k - k'|, which needs |k - k'| >= the
            // quotient: up to that many neurons the stores are disjoint.
            let gap = a.offset.abs_diff(b.offset);
            if gap != 0 && gap % a.neuron == 0 {
                limit = limit.min(gap / a.neuron);
            }
        }
    }
    Some(limit)
}
