//! Stage 7c, simulate: explicit, fast explicit (FED) and semi-implicit
//! finite-difference schemes for nonlinear diffusion
//! `u_t = -(D^m)^* Phi(D^m u)`, m = 1 or 2, read as the neural networks they
//! are (Alt, Peter, Weickert, Schrader 2021).
//!
//! - [`recognize`] finds Phi and m in the checked problem (symbolically);
//! - [`grid`] builds K (a convolution) and K^T with the boundary folded in,
//!   and ||K|| exactly;
//! - [`kernels`] writes the flux, diffusivity and update loops in the IR
//!   (compiled by the JIT, or run by the reference interpreter);
//! - [`Problem::run`] runs a scheme:
//!   explicit `u <- u - tau K^T Phi(K u)` (a ResNet block),
//!   FED (cycles of explicit steps with varying sizes, the diffusivity
//!   Phi(s)/s frozen per cycle), or the semi-implicit
//!   `(I + tau K^T G(u^k) K) u^{k+1} = u^k` ([`banded`] solvers).
//!
//! Stability: with `0 <= Phi(s)/s <= L`, the explicit step is stable in the
//! Euclidean norm for `tau <= tau_max = 2 / (L ||K||^2)`.

pub mod banded;
pub mod data;
pub mod fed;
pub mod grid;
pub mod kernels;
pub mod network;
pub mod recognize;

use std::time::Instant;

use crate::check::{self, fmt_num, Expr, Spec};
use crate::diag::{Diagnostic, Span};
use crate::ir::{ArrayArg, Executor, Kernel};

pub use grid::{Boundary, Operator};
pub use recognize::Diffusion;

/// The three schemes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    Explicit,
    Fed,
    Implicit,
}

impl Scheme {
    /// `explicit`, `fed` or `implicit`.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Explicit => "explicit",
            Scheme::Fed => "fed",
            Scheme::Implicit => "implicit",
        }
    }
}

/// Solvers of the semi-implicit step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Solver {
    /// Damped Jacobi (the recurrent network).
    FixedPoint,
    /// Conjugate gradients.
    Cg,
    /// Multigrid V-cycles (Galerkin coarse grids, Gauss-Seidel smoothing).
    Multigrid,
}

impl Solver {
    /// `fixed_point`, `cg` or `multigrid`.
    pub fn name(self) -> &'static str {
        match self {
            Solver::FixedPoint => "fixed_point",
            Solver::Cg => "cg",
            Solver::Multigrid => "multigrid",
        }
    }
}

/// Grid values when neither the file nor the command line gives a grid.
pub const DEFAULT_GRID: usize = 256;
/// FED cycles by default.
pub const DEFAULT_CYCLES: usize = 8;
/// Implicit steps by default (tau = (t_end - t_start) / this).
pub const DEFAULT_IMPLICIT_STEPS: usize = 100;
/// The largest grid (5 arrays of this many f64 values: 2 GB).
pub const MAX_GRID: usize = 50_000_000;
/// The most steps a run may take.
pub const MAX_STEPS: usize = 1_000_000_000;
/// Relative residual at which the implicit solvers stop.
pub const SOLVER_TOLERANCE: f64 = 1e-10;
/// Iterations one implicit solve may take.
pub const SOLVER_MAX_ITERATIONS: usize = 1_000_000;
/// Growth of the norm below this (relative) counts as rounding, not growth.
pub const NORM_TOLERANCE: f64 = 1e-12;
/// Snapshots kept for the output files (at equal time intervals).
pub const SNAPSHOTS: usize = 5;

/// What the command line (or the file) asks for.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub scheme: Scheme,
    pub grid: Option<usize>,
    pub tau: Option<f64>,
    pub t_end: Option<f64>,
    pub cycles: Option<usize>,
    pub solver: Solver,
    pub allow_unstable: bool,
    /// The values of `initial u = data("...")`, read by the caller
    /// ([`data::parse`]); their count is the default grid.
    pub initial_values: Option<Vec<f64>>,
    /// Where the settings were written, for messages (None: the command line).
    pub span: Option<Span>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            scheme: Scheme::Explicit,
            grid: None,
            tau: None,
            t_end: None,
            cycles: None,
            solver: Solver::Cg,
            allow_unstable: false,
            initial_values: None,
            span: None,
        }
    }
}

/// The FED plan: M cycles of n steps.
#[derive(Clone, Debug, PartialEq)]
pub struct FedPlan {
    pub cycles: usize,
    /// Step sizes of one cycle in the order they are taken.
    pub steps: Vec<f64>,
    /// The explicit bound the cycle is built on (<= tau_max, so that M
    /// cycles end exactly at t_end).
    pub tau_bound: f64,
}

/// A recognised problem on its grid, with the scheme's step plan.
#[derive(Clone, Debug)]
pub struct Problem {
    pub diffusion: Diffusion,
    pub operator: Operator,
    pub scheme: Scheme,
    pub solver: Solver,
    /// Initial grid values (held values at the Dirichlet ends).
    pub initial: Vec<f64>,
    pub t_start: f64,
    pub t_end: f64,
    /// The step (explicit, implicit) or the largest step (FED).
    pub tau: f64,
    /// 2 / (L ||K||^2).
    pub tau_max: f64,
    /// Steps in all (FED: cycles x steps per cycle).
    pub steps: usize,
    pub fed: Option<FedPlan>,
    /// The exact solution, if the file gives one.
    pub exact: Option<Expr>,
    /// Index of the time coordinate (for evaluating `exact`).
    pub time: usize,
}

fn settings_error(settings: &Settings, code: &'static str, message: String) -> Vec<Diagnostic> {
    vec![match settings.span {
        Some(span) => Diagnostic::error(code, message, span).with_label_message("these settings"),
        None => Diagnostic::error_without_span(code, message),
    }]
}

impl Problem {
    /// Recognises the equation, reads the conditions, builds the grid and
    /// plans the steps. Errors are input errors.
    pub fn new(spec: &Spec, settings: &Settings) -> Result<Problem, Vec<Diagnostic>> {
        let diffusion = recognize::recognise(spec)?;
        let boundary = grid::boundary(spec, diffusion.order)?;
        let data = match (&spec.initial_data, &settings.initial_values) {
            (None, _) => None,
            (Some(d), Some(values)) => Some((d, values)),
            (Some(d), None) => {
                return Err(vec![Diagnostic::error(
                    "E0707",
                    format!("the initial values in `{}` were not read", d.path),
                    d.span,
                )])
            }
        };
        let initial_expr = match data {
            None => Some(grid::initial(spec)?),
            Some((d, _)) => {
                if let Some(c) = spec
                    .conditions
                    .iter()
                    .find(|c| c.kind == check::ConditionKind::Initial)
                {
                    return Err(vec![Diagnostic::error(
                        "E0706",
                        "two initial conditions: an expression and data",
                        c.span,
                    )
                    .with_secondary(d.span, "data here")]);
                }
                None
            }
        };
        let time = spec.time().unwrap_or(1);
        let tc = &spec.coordinates[time];
        let xc = &spec.coordinates[0];
        let n = settings
            .grid
            .or(data.map(|(_, v)| v.len()))
            .unwrap_or(DEFAULT_GRID);
        if let Some((d, values)) = data {
            if values.len() != n {
                return Err(vec![Diagnostic::error(
                    "E0707",
                    format!(
                        "`{}` holds {} values, but the grid has {n}; the data needs one value per grid point",
                        d.path,
                        values.len()
                    ),
                    d.span,
                )
                .with_label_message("these values")
                .with_note("leave the grid unset (it is then the number of values), or resample the data")]);
            }
        }
        let min = Operator::min_grid(boundary) + diffusion.order - 1;
        if n < min {
            return Err(settings_error(
                settings,
                "E0705",
                format!(
                    "the grid needs at least {min} values for this equation and boundary, got {n}"
                ),
            ));
        }
        if n > MAX_GRID {
            return Err(settings_error(
                settings,
                "E0705",
                format!(
                    "a grid of {n} values needs {:.1} GB; the limit is {MAX_GRID} values",
                    5.0 * 8.0 * n as f64 / 1e9
                ),
            ));
        }
        let t_end = settings.t_end.unwrap_or(tc.hi);
        if !(t_end > tc.lo) || !t_end.is_finite() {
            return Err(settings_error(
                settings,
                "E0705",
                format!("t_end = {t_end} must lie after the start time {}", tc.lo),
            ));
        }
        let duration = t_end - tc.lo;
        let operator = Operator::new(diffusion.order, boundary, n, xc.lo, xc.hi);
        let tau_max = 2.0 / (diffusion.slope.sup * operator.norm_squared());
        if settings.scheme != Scheme::Explicit && !diffusion.diffusivity_defined_at_zero {
            return Err(vec![Diagnostic::error(
                "E0703",
                format!(
                    "the {} scheme freezes the diffusivity Phi(s)/s = {}, which has no value at s = 0 as written",
                    settings.scheme.name(),
                    diffusion.diffusivity_text()
                ),
                spec.equations[0].span,
            )
            .with_label_message("the flux of this equation")
            .with_note("write Phi(s) with a factor s (e.g. `u_x*g(u_x^2)`), or use the explicit scheme")]);
        }
        let mut fed_plan = None;
        let (tau, steps) = match settings.scheme {
            Scheme::Explicit | Scheme::Implicit => {
                let requested = match (settings.tau, settings.scheme) {
                    (Some(t), _) => t,
                    (None, Scheme::Explicit) => tau_max,
                    (None, _) => duration / DEFAULT_IMPLICIT_STEPS as f64,
                };
                if settings.scheme == Scheme::Explicit
                    && requested > tau_max * (1.0 + 1e-12)
                    && !settings.allow_unstable
                {
                    return Err(settings_error(
                        settings,
                        "E0704",
                        format!(
                            "tau = {} is above the stability bound tau_max = 2/(L ||K||^2) = {} \
                             (L = sup Phi(s)/s = {}, ||K||^2 = {}); use a smaller tau, or --allow-unstable to run it anyway",
                            fmt_num(requested),
                            fmt_num(tau_max),
                            fmt_num(diffusion.slope.sup),
                            fmt_num(operator.norm_squared())
                        ),
                    ));
                }
                let steps = (duration / requested * (1.0 - 1e-12)).ceil().max(1.0);
                if steps > MAX_STEPS as f64 {
                    return Err(settings_error(
                        settings,
                        "E0705",
                        format!("t_end with tau = {requested:e} takes {steps:e} steps; the limit is {MAX_STEPS:e}"),
                    ));
                }
                let steps = steps as usize;
                (duration / steps as f64, steps)
            }
            Scheme::Fed => {
                if settings.tau.is_some() {
                    return Err(settings_error(
                        settings,
                        "E0705",
                        "fed takes its step sizes from the stability bound and --cycles; --tau does not apply".into(),
                    ));
                }
                let cycles = settings.cycles.unwrap_or(DEFAULT_CYCLES);
                let length = duration / cycles as f64;
                let per_cycle = fed::steps_for(length, tau_max);
                if (per_cycle as f64) * (cycles as f64) > MAX_STEPS as f64 {
                    return Err(settings_error(
                        settings,
                        "E0705",
                        format!("{cycles} FED cycles of {per_cycle} steps exceed the limit of {MAX_STEPS:e} steps"),
                    ));
                }
                let tau_bound = 3.0 * length / (per_cycle * (per_cycle + 1)) as f64;
                let steps = fed::leja_order(&fed::steps(per_cycle, tau_bound));
                let largest = steps.iter().copied().fold(0.0, f64::max);
                fed_plan = Some(FedPlan {
                    cycles,
                    steps,
                    tau_bound,
                });
                (largest, per_cycle * cycles)
            }
        };
        let mut initial = Vec::with_capacity(n);
        let mut coords = vec![0.0; spec.coordinates.len()];
        coords[time] = tc.lo;
        for i in 0..n {
            coords[0] = operator.x(i);
            let v = match (&initial_expr, data) {
                (Some(e), _) => grid::eval_at(e, &coords).unwrap_or(f64::NAN),
                (None, Some((_, values))) => values[i],
                (None, None) => f64::NAN,
            };
            if !v.is_finite() {
                return Err(settings_error(
                    settings,
                    "E0706",
                    format!("the initial value at x = {} is {v}", coords[0]),
                ));
            }
            initial.push(v);
        }
        if let Boundary::Dirichlet { lo, hi } = boundary {
            initial[0] = lo;
            initial[n - 1] = hi;
        }
        Ok(Problem {
            diffusion,
            operator,
            scheme: settings.scheme,
            solver: settings.solver,
            initial,
            t_start: tc.lo,
            t_end,
            tau,
            tau_max,
            steps,
            fed: fed_plan,
            exact: spec.exact.first().cloned().flatten(),
            time,
        })
    }

    /// The kernels of the schemes (see [`kernels`]).
    pub fn kernels(&self) -> Result<Vec<Kernel>, crate::lower::LowerError> {
        kernels::kernels(&self.diffusion, &self.operator)
    }

    /// Runs the scheme with `executor` (compiled [`Problem::kernels`], or
    /// the interpreter). Runtime failures (non-finite values, a solver
    /// that does not converge) are errors.
    pub fn run(&self, executor: &dyn Executor) -> Result<Outcome, String> {
        let mut state = State::new(self);
        let mut history = History::new(self, state.norm());
        let mut snapshots = vec![(self.t_start, state.values())];
        // The time loop alone: the buffers are allocated and touched.
        let start = Instant::now();
        let snapshot_every = |total: usize| (total / (SNAPSHOTS - 1)).max(1);
        let mut solver_stats = SolverStats::default();
        match self.scheme {
            Scheme::Explicit => {
                let every = snapshot_every(self.steps);
                for k in 1..=self.steps {
                    let norm = state.step(executor, self.tau, false, true)?;
                    let t = self.t_start + k as f64 * self.tau;
                    history.record(k, t, norm)?;
                    if k % every == 0 || k == self.steps {
                        snapshots.push((t, state.values()));
                    }
                }
            }
            Scheme::Fed => {
                let plan = self.fed.as_ref().ok_or("internal: FED without a plan")?;
                let every = snapshot_every(plan.cycles);
                let per_cycle = plan.steps.len();
                let cycle_length: f64 = plan.steps.iter().sum();
                for c in 1..=plan.cycles {
                    state.freeze(executor)?;
                    let mut norm = f64::NAN;
                    for (i, &tau) in plan.steps.iter().enumerate() {
                        // The norm is recorded at cycle ends only.
                        norm = state.step(executor, tau, true, i + 1 == per_cycle)?;
                    }
                    let t = self.t_start + c as f64 * cycle_length;
                    history.record(c * per_cycle, t, norm)?;
                    if c % every == 0 || c == plan.cycles {
                        snapshots.push((t, state.values()));
                    }
                }
            }
            Scheme::Implicit => {
                let every = snapshot_every(self.steps);
                for k in 1..=self.steps {
                    let solve = state.implicit_step(executor, self.tau, self.solver)?;
                    solver_stats.add(solve);
                    let t = self.t_start + k as f64 * self.tau;
                    history.record(k, t, state.norm())?;
                    if k % every == 0 || k == self.steps {
                        snapshots.push((t, state.values()));
                    }
                }
            }
        }
        let seconds = start.elapsed().as_secs_f64();
        let values = state.values();
        let errors = self.errors(&values);
        Ok(Outcome {
            values,
            snapshots,
            norms: history.norms,
            norm_increased: history.increased,
            seconds,
            solver: (self.scheme == Scheme::Implicit).then_some(solver_stats),
            errors,
        })
    }

    /// Errors against the exact solution at t_end over the grid values.
    fn errors(&self, values: &[f64]) -> Option<Errors> {
        let exact = self.exact.as_ref()?;
        let mut coords = vec![0.0; self.time + 1];
        coords[self.time] = self.t_end;
        let (mut diff2, mut ref2, mut max_abs) = (0.0, 0.0, 0.0f64);
        for (i, &v) in values.iter().enumerate() {
            coords[0] = self.operator.x(i);
            let e = grid::eval_at(exact, &coords)?;
            diff2 += (v - e) * (v - e);
            ref2 += e * e;
            max_abs = max_abs.max((v - e).abs());
        }
        Some(Errors {
            relative_l2: (diff2 / ref2).sqrt(),
            max_abs,
        })
    }

    /// The exact solution at t_end on the grid, if the file gives one.
    pub fn exact_at_end(&self) -> Option<Vec<f64>> {
        let exact = self.exact.as_ref()?;
        let mut coords = vec![0.0; self.time + 1];
        coords[self.time] = self.t_end;
        (0..self.operator.n)
            .map(|i| {
                coords[0] = self.operator.x(i);
                grid::eval_at(exact, &coords)
            })
            .collect()
    }

    /// The grid coordinates.
    pub fn xs(&self) -> Vec<f64> {
        (0..self.operator.n).map(|i| self.operator.x(i)).collect()
    }

    /// Steps per FED cycle (1 for the other schemes).
    pub fn steps_per_cycle(&self) -> usize {
        self.fed.as_ref().map_or(1, |p| p.steps.len())
    }
}

/// Errors at t_end against the exact solution, as `solve` reports them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Errors {
    pub relative_l2: f64,
    pub max_abs: f64,
}

/// Totals of the implicit solves.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SolverStats {
    pub solves: usize,
    pub iterations: usize,
    /// Sum of log(final/initial residual), for the mean factor.
    log_reduction: f64,
}

impl SolverStats {
    fn add(&mut self, s: banded::Solve) {
        self.solves += 1;
        self.iterations += s.iterations;
        if s.iterations > 0 && s.initial_residual > 0.0 && s.final_residual > 0.0 {
            self.log_reduction += (s.final_residual / s.initial_residual).ln();
        }
    }

    /// The mean residual reduction per iteration over all solves.
    pub fn factor(&self) -> f64 {
        if self.iterations == 0 {
            0.0
        } else {
            (self.log_reduction / self.iterations as f64).exp()
        }
    }

    /// Iterations per step.
    pub fn mean_iterations(&self) -> f64 {
        self.iterations as f64 / self.solves.max(1) as f64
    }
}

/// What a run produced.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Grid values at t_end.
    pub values: Vec<f64>,
    /// (t, grid values) at equal intervals, the first at t_start.
    pub snapshots: Vec<(f64, Vec<f64>)>,
    /// (step, t, ||u||_2 over the free values) after every step (FED: every
    /// cycle end), the first the initial norm.
    pub norms: Vec<(usize, f64, f64)>,
    /// Whether the norm ever grew (by more than [`NORM_TOLERANCE`]
    /// relatively) from one record to the next.
    pub norm_increased: bool,
    /// Wall time of the time loop.
    pub seconds: f64,
    pub solver: Option<SolverStats>,
    pub errors: Option<Errors>,
}

struct History {
    norms: Vec<(usize, f64, f64)>,
    increased: bool,
}

impl History {
    fn new(p: &Problem, norm: f64) -> History {
        History {
            norms: vec![(0, p.t_start, norm)],
            increased: false,
        }
    }

    fn record(&mut self, step: usize, t: f64, norm: f64) -> Result<(), String> {
        if !norm.is_finite() {
            return Err(format!(
                "the solution became non-finite at step {step} (t = {t:e}); the scheme diverged"
            ));
        }
        let last = self.norms.last().map_or(norm, |r| r.2);
        if norm > last * (1.0 + NORM_TOLERANCE) {
            self.increased = true;
        }
        self.norms.push((step, t, norm));
        Ok(())
    }
}

/// Free values per tile of an explicit step: K, the activation, K^T with
/// the skip connection, and the norm run tile by tile while the tile's
/// values are in cache (the results do not depend on the tiling).
pub const TILE: usize = 2048;

/// Sum of squares with independent partial sums (so that it vectorizes).
fn sum_squares(v: &[f64]) -> f64 {
    let mut acc = [0.0; 4];
    let chunks = v.chunks_exact(4);
    let rest = chunks.remainder();
    for c in chunks {
        for k in 0..4 {
            acc[k] += c[k] * c[k];
        }
    }
    let mut sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for x in rest {
        sum += x * x;
    }
    sum
}

/// The padded buffers of a run (see [`grid`]).
struct State<'p> {
    op: &'p Operator,
    w: Vec<f64>,
    next: Vec<f64>,
    /// The fluxes of one tile (padded positions from the tile's start - 1).
    window: Vec<f64>,
    /// The frozen diffusivity at K's rows (FED, implicit).
    g: Vec<f64>,
}

fn internal(e: crate::ir::RunError) -> String {
    format!("internal: kernel call refused: {e}")
}

impl<'p> State<'p> {
    fn new(p: &'p Problem) -> State<'p> {
        let op = &p.operator;
        let n = op.n;
        let mut w = vec![0.0; n + 2];
        w[1..=n].copy_from_slice(&p.initial);
        op.fill_ghosts(&mut w);
        State {
            op,
            next: w.clone(),
            g: w.clone(),
            w,
            window: vec![0.0; TILE + 4],
        }
    }

    fn values(&self) -> Vec<f64> {
        self.w[1..=self.op.n].to_vec()
    }

    fn norm(&self) -> f64 {
        sum_squares(&self.w[self.op.free()]).sqrt()
    }

    /// Kernel `index` (flux or diffusivity) over K's rows into `out`.
    fn activation(
        op: &Operator,
        exec: &dyn Executor,
        index: usize,
        w: &[f64],
        out: &mut [f64],
    ) -> Result<(), String> {
        let rows = op.flux_rows();
        let shift = op.shift();
        exec.run(
            index,
            &mut [ArrayArg::In(w), ArrayArg::Out(&mut out[shift..])],
            0,
            rows.start - shift..rows.end - shift,
        )
        .map_err(internal)
    }

    /// One step `w <- w - tau K^T F`, F = Phi(K w) (explicit) or g K w
    /// (`frozen`, FED), tile by tile; returns the new norm (NaN unless
    /// `norm`).
    fn step(
        &mut self,
        exec: &dyn Executor,
        tau: f64,
        frozen: bool,
        norm: bool,
    ) -> Result<f64, String> {
        let op = self.op;
        let free = op.free();
        let rows = op.flux_rows();
        let shift = op.shift();
        let mut sum = 0.0;
        let mut a = free.start;
        while a < free.end {
            let b = (a + TILE).min(free.end);
            // The free values a..b read the fluxes at base..end.
            let base = a - 1;
            let end = b + op.order - 1;
            if frozen && base >= rows.start && end <= rows.end {
                // Every flux is a row of K (no ghost): one fused loop.
                exec.run(
                    kernels::FROZEN_UPDATE,
                    &mut [
                        ArrayArg::In(&self.w[base - shift..]),
                        ArrayArg::In(&self.g[base..]),
                        ArrayArg::In(&[tau]),
                        ArrayArg::Out(&mut self.next[a..]),
                    ],
                    0,
                    0..b - a,
                )
                .map_err(internal)?;
                if norm {
                    sum += sum_squares(&self.next[a..b]);
                }
                a = b;
                continue;
            }
            let window = &mut self.window[..end - base];
            let (r0, r1) = (rows.start.max(base), rows.end.min(end));
            if r0 < r1 {
                let w = &self.w[r0 - shift..];
                let out = &mut window[r0 - base..];
                if frozen {
                    let g = &self.g[r0..];
                    exec.run(
                        kernels::FROZEN_FLUX,
                        &mut [ArrayArg::In(w), ArrayArg::In(g), ArrayArg::Out(out)],
                        0,
                        0..r1 - r0,
                    )
                } else {
                    exec.run(
                        kernels::FLUX,
                        &mut [ArrayArg::In(w), ArrayArg::Out(out)],
                        0,
                        0..r1 - r0,
                    )
                }
                .map_err(internal)?;
            }
            op.fill_flux_ghosts_in(window, base);
            exec.run(
                kernels::UPDATE,
                &mut [
                    ArrayArg::In(&self.w[base..]),
                    ArrayArg::In(window),
                    ArrayArg::In(&[tau]),
                    ArrayArg::Out(&mut self.next[a..]),
                ],
                0,
                0..b - a,
            )
            .map_err(internal)?;
            if norm {
                sum += sum_squares(&self.next[a..b]);
            }
            a = b;
        }
        std::mem::swap(&mut self.w, &mut self.next);
        self.op.fill_ghosts(&mut self.w);
        Ok(if norm { sum.sqrt() } else { f64::NAN })
    }

    /// g = Phi(s)/s at s = K w.
    fn freeze(&mut self, exec: &dyn Executor) -> Result<(), String> {
        Self::activation(self.op, exec, kernels::DIFFUSIVITY, &self.w, &mut self.g)
    }

    /// Solves (I + tau K^T G(w) K) w_new = w on the free values.
    fn implicit_step(
        &mut self,
        exec: &dyn Executor,
        tau: f64,
        solver: Solver,
    ) -> Result<banded::Solve, String> {
        self.freeze(exec)?;
        let op = self.op;
        let free = op.free();
        let q = free.len();
        let mut m = banded::Banded::zeros(q, op.order);
        for i in 0..q {
            m.add(i, i, 1.0);
        }
        let mut b: Vec<f64> = self.w[free.clone()].to_vec();
        for (row, on_free, on_held) in op.rows() {
            let g = self.g[row];
            let held: f64 = on_held.iter().map(|&(p, a)| a * self.w[p]).sum();
            for (i, &(p, a)) in on_free.iter().enumerate() {
                b[p - free.start] -= tau * g * a * held;
                for &(r, c) in &on_free[i..] {
                    let (pi, ri) = (p - free.start, r - free.start);
                    // Each unordered pair once: the matrix is stored symmetric.
                    m.add(pi, ri, tau * g * a * c);
                }
            }
        }
        let mut x = self.w[free.clone()].to_vec();
        let result = match solver {
            Solver::FixedPoint => {
                banded::fixed_point(&m, &b, &mut x, SOLVER_TOLERANCE, SOLVER_MAX_ITERATIONS)
            }
            Solver::Cg => banded::cg(&m, &b, &mut x, SOLVER_TOLERANCE, SOLVER_MAX_ITERATIONS),
            Solver::Multigrid => banded::Multigrid::new(m, op.boundary == Boundary::Reflecting)
                .solve(&b, &mut x, SOLVER_TOLERANCE, SOLVER_MAX_ITERATIONS),
        };
        let solve = result.map_err(|e| {
            format!(
                "the {} solver did not converge in {} iterations (relative residual {:e})",
                solver.name(),
                e.iterations,
                e.relative_residual
            )
        })?;
        self.w[free].copy_from_slice(&x);
        op.fill_ghosts(&mut self.w);
        Ok(solve)
    }
}
