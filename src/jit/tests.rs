//! The JIT against the reference interpreter: bit-identical results, bounds
//! checks, threads, deterministic listings.

use proptest::prelude::*;

use super::{lower, symbols, Compiled, JitError};
use crate::ir::{
    self, Access, ArrayArg, ArrayDecl, ArrayId, BinaryOp, Executor, Index, Inst, Kernel,
    KernelBuilder, RunError, Stmt, UnaryOp, ValueId,
};
use crate::math::MathFn;

fn decl(name: &str, access: Access) -> ArrayDecl {
    ArrayDecl {
        name: name.into(),
        access,
    }
}

fn at(point: usize, neuron: usize, offset: usize) -> Index {
    Index {
        point,
        neuron,
        offset,
    }
}

fn load(b: &mut KernelBuilder, array: u32, index: Index) -> ValueId {
    b.def(Inst::Load {
        array: ArrayId(array),
        index,
    })
}

fn store(b: &mut KernelBuilder, array: u32, index: Index, value: ValueId) {
    b.push(Stmt::Store {
        array: ArrayId(array),
        index,
        value,
    });
}

/// Equal bits, or both NaN (NaN payloads may legitimately differ when the
/// two compilers order the operands of a commutative operation differently).
fn same(x: f64, y: f64) -> bool {
    x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan())
}

fn same_bits(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(*x, *y))
}

fn assert_same(expected: &[f64], got: &[f64], what: &str) {
    assert_eq!(expected.len(), got.len(), "{what}: lengths");
    for (j, (x, y)) in expected.iter().zip(got).enumerate() {
        assert!(
            same(*x, *y),
            "{what}: element {j}: interpreter {x:e} ({:#x}), jit {y:e} ({:#x})",
            x.to_bits(),
            y.to_bits()
        );
    }
}

/// Runs `kernel` with the interpreter and with `compiled` (kernel number
/// `index`) on the given inputs (in declaration order of the input arrays),
/// with every output array sized exactly and pre-filled with a marker.
/// Returns both sets of outputs.
fn both(
    kernel: &Kernel,
    compiled: &Compiled,
    index: usize,
    inputs: &[&[f64]],
    neurons: usize,
    points: std::ops::Range<usize>,
    threads: usize,
) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
    let need = kernel.required_lengths(points.end, neurons);
    let fresh = || -> Vec<Vec<f64>> {
        kernel
            .arrays
            .iter()
            .zip(&need)
            .filter(|(d, _)| d.access == Access::Output)
            .map(|(_, n)| vec![-7.25; *n])
            .collect()
    };
    let mut expected = fresh();
    ir::run(
        kernel,
        &mut args(kernel, inputs, &mut expected),
        neurons,
        points.clone(),
    )
    .unwrap();
    let mut got = fresh();
    compiled
        .run_parallel(
            index,
            &mut args(kernel, inputs, &mut got),
            neurons,
            points,
            threads,
        )
        .unwrap();
    (expected, got)
}

/// The arguments of a call: `inputs` and `outs` in declaration order.
fn args<'a>(kernel: &Kernel, inputs: &[&'a [f64]], outs: &'a mut [Vec<f64>]) -> Vec<ArrayArg<'a>> {
    let mut ins = inputs.iter();
    let mut outs = outs.iter_mut();
    kernel
        .arrays
        .iter()
        .map(|d| match d.access {
            Access::Input => ArrayArg::In(ins.next().expect("input")),
            Access::Output => ArrayArg::Out(outs.next().expect("output")),
        })
        .collect()
}

fn check_kernel(kernel: &Kernel, inputs: &[&[f64]], neurons: usize, points: usize) {
    let compiled = Compiled::new(std::slice::from_ref(kernel), neurons.max(1)).unwrap();
    let (expected, got) = both(kernel, &compiled, 0, inputs, neurons, 0..points, 1);
    for (e, g) in expected.iter().zip(&got) {
        assert_same(e, g, &kernel.name);
    }
}

/// Awkward inputs: signed zeros, subnormals, huge, infinite and NaN values.
fn special_values() -> Vec<f64> {
    vec![
        -2.5,
        -1.0,
        -0.3,
        -0.0,
        0.0,
        1e-9,
        0.4,
        0.9,
        1.0,
        1.7,
        3.3,
        12.0,
        710.0,
        -745.5,
        1e300,
        -1e-310,
        5e-324,
        f64::MAX,
        f64::MIN_POSITIVE,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
    ]
}

#[test]
fn arithmetic_matches_the_interpreter_bitwise() {
    let mut b = KernelBuilder::new(
        "arith",
        vec![
            decl("x", Access::Input),
            decl("y", Access::Input),
            decl("out", Access::Output),
        ],
    );
    let x = load(&mut b, 0, at(1, 0, 0));
    let y = load(&mut b, 1, at(1, 0, 0));
    let c = b.def(Inst::Const(0.1));
    let mut outs = vec![
        b.def(Inst::Binary(BinaryOp::Add, x, y)),
        b.def(Inst::Binary(BinaryOp::Sub, x, y)),
        b.def(Inst::Binary(BinaryOp::Mul, x, y)),
        b.def(Inst::Binary(BinaryOp::Div, x, y)),
        b.def(Inst::Unary(UnaryOp::Neg, x)),
        b.def(Inst::Binary(BinaryOp::Add, x, c)),
        b.def(Inst::Binary(BinaryOp::Mul, c, y)),
        b.def(Inst::Binary(BinaryOp::Div, c, x)),
        b.def(Inst::Binary(BinaryOp::Pow, x, y)),
        b.def(Inst::Binary(BinaryOp::Pow, x, c)),
    ];
    // (x + 0.1) - 0.1 is not x: the JIT must not simplify it.
    let s = b.def(Inst::Binary(BinaryOp::Add, x, c));
    outs.push(b.def(Inst::Binary(BinaryOp::Sub, s, c)));
    let m = b.def(Inst::Binary(BinaryOp::Mul, x, y));
    outs.push(b.def(Inst::Binary(BinaryOp::Add, m, c)));
    let width = outs.len();
    for (j, v) in outs.into_iter().enumerate() {
        store(&mut b, 2, at(width, 0, j), v);
    }
    let kernel = b.finish();
    let vals = special_values();
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    for a in &vals {
        for c in &vals {
            xs.push(*a);
            ys.push(*c);
        }
    }
    check_kernel(&kernel, &[&xs, &ys], 0, xs.len());
}

/// out[i, j] = f_j(x[i]) for every math function, negation, powi and pow.
fn math_kernel() -> Kernel {
    let mut b = KernelBuilder::new(
        "math",
        vec![decl("x", Access::Input), decl("out", Access::Output)],
    );
    let x = load(&mut b, 0, at(1, 0, 0));
    let mut outputs = Vec::new();
    for f in MathFn::ALL {
        outputs.push(b.def(Inst::Unary(UnaryOp::Call(f), x)));
    }
    outputs.push(b.def(Inst::Unary(UnaryOp::Neg, x)));
    for n in -5..=7 {
        outputs.push(b.def(Inst::Powi(x, n)));
    }
    let e = b.def(Inst::Const(0.37));
    outputs.push(b.def(Inst::Binary(BinaryOp::Pow, x, e)));
    let width = outputs.len();
    for (j, v) in outputs.into_iter().enumerate() {
        store(&mut b, 1, at(width, 0, j), v);
    }
    b.finish()
}

#[test]
fn every_math_function_and_powi_match_the_interpreter_bitwise() {
    let kernel = math_kernel();
    let mut xs = special_values();
    xs.extend((0..200).map(|j| (j as f64 - 100.0) * 0.173));
    check_kernel(&kernel, &[&xs], 0, xs.len());
}

#[test]
fn every_math_symbol_resolves_and_calls_the_reference_function() {
    // Distinct symbols, all registered.
    let table = symbols::table();
    assert_eq!(table.len(), MathFn::ALL.len() + 1);
    for f in MathFn::ALL {
        assert!(table.iter().any(|(name, _)| *name == symbols::symbol(f)));
        for x in special_values() {
            assert!(same(symbols::shim(f)(x), f.eval(x)));
        }
    }
    let mut names: Vec<&str> = table.iter().map(|(n, _)| *n).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), table.len());
    // Compile with sqrt, abs and tanh as calls too, so that every shim is
    // linked and called from machine code.
    let kernel = math_kernel();
    let options = lower::Options {
        native_sqrt_abs: false,
        inline_tanh: false,
        ..lower::Options::default()
    };
    let compiled = Compiled::with_options(std::slice::from_ref(&kernel), 1, options).unwrap();
    for f in MathFn::ALL {
        assert!(compiled.clif().contains("call fn"), "{}", compiled.clif());
        let _ = f;
    }
    let xs = special_values();
    let (expected, got) = both(&kernel, &compiled, 0, &[&xs], 0, 0..xs.len(), 1);
    assert_same(&expected[0], &got[0], "math via calls");
    // The default build uses native instructions for sqrt and abs.
    let native = Compiled::new(std::slice::from_ref(&kernel), 1).unwrap();
    assert!(native.clif().contains("sqrt"));
    assert!(native.clif().contains("fabs"));
    assert!(!native.clif().contains("pdec_sqrt"));
}

#[test]
fn powi_matches_for_extreme_exponents() {
    let mut b = KernelBuilder::new(
        "powi",
        vec![decl("x", Access::Input), decl("out", Access::Output)],
    );
    let x = load(&mut b, 0, at(1, 0, 0));
    let exponents = [
        -5,
        -4,
        -3,
        -2,
        -1,
        0,
        1,
        2,
        3,
        4,
        5,
        6,
        7,
        8,
        15,
        31,
        -32,
        1000,
        i32::MAX,
        i32::MIN,
    ];
    let outs: Vec<ValueId> = exponents.iter().map(|n| b.def(Inst::Powi(x, *n))).collect();
    for (j, v) in outs.iter().enumerate() {
        store(&mut b, 1, at(exponents.len(), 0, j), *v);
    }
    let kernel = b.finish();
    let mut xs = special_values();
    xs.extend([1.0000001, 0.9999999, -1.0000001, 2.0, 0.5, -3.0]);
    check_kernel(&kernel, &[&xs], 0, xs.len());
    // and the interpreter's own powi against hand-written products
    assert_eq!(ir::powi(3.0, 0), 1.0);
    assert_eq!(ir::powi(3.0, 5), 243.0);
    assert_eq!(ir::powi(2.0, -3), 0.125);
}

#[test]
fn strided_loads_and_stores() {
    // x holds 3 values per point; w 4 per neuron after a 2-element header;
    // out holds 2 + neurons values per point.
    let k = 5;
    let mut b = KernelBuilder::new(
        "strides",
        vec![
            decl("x", Access::Input),
            decl("w", Access::Input),
            decl("out", Access::Output),
        ],
    );
    let x0 = load(&mut b, 0, at(3, 0, 0));
    let x2 = load(&mut b, 0, at(3, 0, 2));
    let h = load(&mut b, 1, at(0, 0, 1));
    let a = b.def(Inst::Binary(BinaryOp::Sub, x2, x0));
    let c = b.def(Inst::Binary(BinaryOp::Mul, a, h));
    store(&mut b, 2, at(k + 2, 0, 1), c);
    store(&mut b, 2, at(k + 2, 0, 0), x2);
    b.neuron_loop(|b| {
        let w1 = load(b, 1, at(0, 4, 3));
        let w2 = load(b, 1, at(0, 4, 5));
        let x1 = load(b, 0, at(3, 0, 1));
        let p = b.def(Inst::Binary(BinaryOp::Mul, w1, x1));
        let q = b.def(Inst::Binary(BinaryOp::Div, p, w2));
        let r = b.def(Inst::Binary(BinaryOp::Add, q, c));
        store(b, 2, at(k + 2, 1, 2), r);
    });
    let kernel = b.finish();
    let n = 17;
    let xs: Vec<f64> = (0..3 * n).map(|j| (j as f64 * 0.37).sin()).collect();
    let ws: Vec<f64> = (0..2 + 4 * k)
        .map(|j| 1.0 + (j as f64 * 0.71).cos())
        .collect();
    let compiled = Compiled::new(std::slice::from_ref(&kernel), k).unwrap();
    for neurons in [0, 1, 3, k] {
        let (expected, got) = both(&kernel, &compiled, 0, &[&xs, &ws], neurons, 0..n, 1);
        assert_same(&expected[0], &got[0], "strides");
        // untouched elements keep the marker
        if neurons < k {
            assert_eq!(got[0][neurons + 2], -7.25);
        }
    }
    // a sub-range of points leaves the other rows alone
    let (expected, got) = both(&kernel, &compiled, 0, &[&xs, &ws], k, 4..9, 1);
    assert_same(&expected[0], &got[0], "strides 4..9");
    assert!(got[0][..4 * (k + 2)].iter().all(|v| *v == -7.25));
}

/// rows[i*K + k] = tanh(w[k]*x[i] + b[k]) and s[i] = sum_k w[k]*x[i].
fn neuron_kernel(neurons: usize) -> Kernel {
    let mut b = KernelBuilder::new(
        "neurons",
        vec![
            decl("x", Access::Input),
            decl("w", Access::Input),
            decl("b", Access::Input),
            decl("rows", Access::Output),
            decl("s", Access::Output),
        ],
    );
    let x = load(&mut b, 0, at(1, 0, 0));
    let acc = b.var();
    let zero = b.def(Inst::Const(0.0));
    b.push(Stmt::Set(acc, zero));
    b.neuron_loop(|b| {
        let w = load(b, 1, at(0, 1, 0));
        let bias = load(b, 2, at(0, 1, 0));
        let wx = b.def(Inst::Binary(BinaryOp::Mul, w, x));
        let z = b.def(Inst::Binary(BinaryOp::Add, wx, bias));
        let t = b.def(Inst::Unary(UnaryOp::Call(MathFn::Tanh), z));
        store(b, 3, at(neurons, 1, 0), t);
        let current = b.def(Inst::Read(acc));
        let sum = b.def(Inst::Binary(BinaryOp::Add, current, wx));
        b.push(Stmt::Set(acc, sum));
    });
    let total = b.def(Inst::Read(acc));
    store(&mut b, 4, at(1, 0, 0), total);
    b.finish()
}

fn neuron_inputs(n: usize, k: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let xs = (0..n).map(|i| (i as f64 * 0.731).sin()).collect();
    let w = (0..k).map(|i| (i as f64 * 1.37).cos() * 3.0).collect();
    let bias = (0..k).map(|i| (i as f64 * 0.91).sin()).collect();
    (xs, w, bias)
}

#[test]
fn neuron_loop_with_accumulator_and_matrix_rows() {
    let k = 37;
    let kernel = neuron_kernel(k);
    let n = 1001;
    let (xs, w, bias) = neuron_inputs(n, k);
    let compiled = Compiled::new(std::slice::from_ref(&kernel), k).unwrap();
    for neurons in [0, 1, 2, k] {
        let (expected, got) = both(&kernel, &compiled, 0, &[&xs, &w, &bias], neurons, 0..n, 1);
        assert_same(&expected[0], &got[0], "rows");
        assert_same(&expected[1], &got[1], "sums");
    }
    // the sum really is the sum
    let (_, got) = both(&kernel, &compiled, 0, &[&xs, &w, &bias], k, 0..n, 1);
    let mut s = 0.0;
    for wj in &w {
        s += wj * xs[5];
    }
    assert_eq!(got[1][5].to_bits(), s.to_bits());
}

#[test]
fn threads_give_bit_identical_results() {
    let k = 37;
    let kernel = neuron_kernel(k);
    let n = 1001;
    let (xs, w, bias) = neuron_inputs(n, k);
    let compiled = Compiled::new(std::slice::from_ref(&kernel), k).unwrap();
    let (reference, serial) = both(&kernel, &compiled, 0, &[&xs, &w, &bias], k, 0..n, 1);
    assert_same(&reference[0], &serial[0], "serial rows");
    for threads in [1, 2, 3, 8] {
        for points in [0..n, 3..n - 5, 10..11, 7..7] {
            let (expected, got) = both(
                &kernel,
                &compiled,
                0,
                &[&xs, &w, &bias],
                k,
                points.clone(),
                threads,
            );
            assert_same(&expected[0], &got[0], &format!("rows, {threads} threads"));
            assert_same(&expected[1], &got[1], &format!("sums, {threads} threads"));
        }
    }
    // more threads than points
    let (expected, got) = both(&kernel, &compiled, 0, &[&xs, &w, &bias], k, 0..2, 5);
    assert_same(&expected[0], &got[0], "rows, 5 threads for 2 points");
    // more neurons than the rows hold: falls back to one thread
    assert_eq!(super::row_safe_neurons(&kernel), k);
    let big = Compiled::new(&[neuron_kernel(4)], 4).unwrap();
    let (w8, b8) = (vec![0.5; 8], vec![0.25; 8]);
    let (expected, got) = both(&neuron_kernel(4), &big, 0, &[&xs, &w8, &b8], 8, 0..n, 4);
    assert_same(&expected[0], &got[0], "overlapping rows");
    // through the Executor trait
    let mut compiled = compiled;
    compiled.set_threads(3);
    assert_eq!(compiled.threads(), 3);
    let (mut rows, mut s) = (vec![0.0; n * k], vec![0.0; n]);
    Executor::run(
        &compiled,
        0,
        &mut [
            ArrayArg::In(&xs),
            ArrayArg::In(&w),
            ArrayArg::In(&bias),
            ArrayArg::Out(&mut rows),
            ArrayArg::Out(&mut s),
        ],
        k,
        0..n,
    )
    .unwrap();
    assert_same(&reference[0], &rows, "executor rows");
    assert_same(&reference[1], &s, "executor sums");
}

#[test]
fn concurrent_parallel_calls_give_bit_identical_results() {
    // Several threads share the compiled code and the worker threads.
    let k = 7;
    let kernel = neuron_kernel(k);
    let n = 301;
    let (xs, w, bias) = neuron_inputs(n, k);
    let compiled = Compiled::new(std::slice::from_ref(&kernel), k).unwrap();
    let (reference, _) = both(&kernel, &compiled, 0, &[&xs, &w, &bias], k, 0..n, 1);
    std::thread::scope(|scope| {
        for t in 0..4 {
            let (compiled, kernel, reference) = (&compiled, &kernel, &reference);
            let inputs: [&[f64]; 3] = [&xs, &w, &bias];
            scope.spawn(move || {
                for round in 0..20 {
                    let threads = 1 + (t + round) % 4;
                    let (_, got) = both(kernel, compiled, 0, &inputs, k, 0..n, threads);
                    assert_same(&reference[0], &got[0], "rows");
                    assert_same(&reference[1], &got[1], "sums");
                }
            });
        }
    });
}

#[test]
fn accumulators_carry_over_like_the_interpreter() {
    // $0 is set in the loop and at the end of each point; with no neurons
    // the read after the loop sees the previous point's value (0.0 first).
    let mut b = KernelBuilder::new(
        "carry",
        vec![decl("x", Access::Input), decl("out", Access::Output)],
    );
    let acc = b.var();
    let x = load(&mut b, 0, at(1, 0, 0));
    b.neuron_loop(|b| b.push(Stmt::Set(acc, x)));
    let r = b.def(Inst::Read(acc));
    store(&mut b, 1, at(1, 0, 0), r);
    let y = b.def(Inst::Binary(BinaryOp::Mul, x, x));
    b.push(Stmt::Set(acc, y));
    let kernel = b.finish();
    let xs: Vec<f64> = (1..=9).map(|j| j as f64).collect();
    assert!(!kernel.points_are_independent());
    let compiled = Compiled::new(std::slice::from_ref(&kernel), 2).unwrap();
    // no vector loop, and one thread whatever the call asks for
    assert!(!compiled.clif().contains("f64x2"), "{}", compiled.clif());
    for neurons in [0, 2] {
        for threads in [1, 3] {
            let (expected, got) = both(&kernel, &compiled, 0, &[&xs], neurons, 0..9, threads);
            assert_same(&expected[0], &got[0], "carry");
        }
    }
}

#[test]
fn points_are_independent_when_every_read_follows_a_set_in_the_point() {
    let arrays = || vec![decl("x", Access::Input), decl("out", Access::Output)];
    // set before the loop, read and set in it, read after it
    let kernel = neuron_kernel(3);
    assert!(kernel.points_are_independent());
    // set only inside the loop (which may run zero times), read after it
    let mut b = KernelBuilder::new("after", arrays());
    let acc = b.var();
    let x = load(&mut b, 0, at(1, 0, 0));
    b.neuron_loop(|b| b.push(Stmt::Set(acc, x)));
    let r = b.def(Inst::Read(acc));
    store(&mut b, 1, at(1, 0, 0), r);
    assert!(!b.finish().points_are_independent());
    // set and then read inside the loop only
    let mut b = KernelBuilder::new("inside", arrays());
    let acc = b.var();
    let x = load(&mut b, 0, at(1, 0, 0));
    b.neuron_loop(|b| {
        b.push(Stmt::Set(acc, x));
        let r = b.def(Inst::Read(acc));
        store(b, 1, at(3, 1, 0), r);
    });
    assert!(b.finish().points_are_independent());
    // read inside the loop before its set there, with no set before the loop
    let mut b = KernelBuilder::new("first", arrays());
    let acc = b.var();
    let x = load(&mut b, 0, at(1, 0, 0));
    b.neuron_loop(|b| {
        b.push(Stmt::Set(acc, x));
    });
    b.neuron_loop(|b| {
        let r = b.def(Inst::Read(acc));
        store(b, 1, at(3, 1, 0), r);
        b.push(Stmt::Set(acc, x));
    });
    assert!(!b.finish().points_are_independent());
}

/// Vector loop configurations the tests compile with (streams per loop,
/// widest first): none, each width alone, and the default.
const VECTOR_STREAMS: [&[usize]; 5] = [&[], &[1], &[2], &[3, 1], &[4, 2, 1]];

/// The kernel compiled with each configuration of [`VECTOR_STREAMS`].
fn compile_each_way(kernel: &Kernel, max_neurons: usize) -> Vec<Compiled> {
    let kernels = std::slice::from_ref(kernel);
    VECTOR_STREAMS
        .iter()
        .map(|&vector_streams| {
            let options = lower::Options {
                vector_streams,
                ..lower::Options::default()
            };
            let compiled = Compiled::with_options(kernels, max_neurons, options).unwrap();
            let vector = compiled.clif().contains("f64x2");
            assert_eq!(vector, !vector_streams.is_empty(), "{}", compiled.clif());
            compiled
        })
        .collect()
}

/// Every configuration of vector loops and the interpreter agree bit for
/// bit on ranges of `0..n` with odd and even starts and lengths (single
/// points and empty ranges included), on 1 to 3 threads.
fn check_vector_loops(kernel: &Kernel, inputs: &[&[f64]], neurons: &[usize], n: usize) {
    let max_neurons = neurons.iter().copied().max().unwrap_or(0).max(1);
    let compiled = compile_each_way(kernel, max_neurons);
    let mut ranges = Vec::new();
    for start in 0..4.min(n) {
        for end in (start..=(start + 13).min(n)).chain([n - 1, n]) {
            if start <= end {
                ranges.push(start..end);
            }
        }
    }
    for &k in neurons {
        for range in &ranges {
            for threads in [1, 2, 3] {
                for (c, streams) in compiled.iter().zip(VECTOR_STREAMS) {
                    let (expected, got) = both(kernel, c, 0, inputs, k, range.clone(), threads);
                    for (e, g) in expected.iter().zip(&got) {
                        let what = format!(
                            "{} with vector loops {streams:?} on {range:?}, {k} neurons, \
                             {threads} threads",
                            kernel.name
                        );
                        assert_same(e, g, &what);
                    }
                }
            }
        }
    }
}

#[test]
fn vector_loops_match_the_scalar_loop_and_the_interpreter() {
    // splatted weights, adjacent (vector) loads and stores, strided stores,
    // tanh, an accumulator
    let k = 5;
    let n = 13;
    let (xs, w, bias) = neuron_inputs(n, k);
    check_vector_loops(&neuron_kernel(k), &[&xs, &w, &bias], &[0, 1, k], n);
    // every math function (host calls per lane), powi and pow
    let mut xs = special_values();
    xs.extend([0.25, -7.5, 2.0]);
    check_vector_loops(&math_kernel(), &[&xs], &[0], xs.len());
    // gathered loads (three values per point) and strided stores
    let mut b = KernelBuilder::new(
        "gather",
        vec![decl("x", Access::Input), decl("out", Access::Output)],
    );
    let x1 = load(&mut b, 0, at(3, 0, 1));
    let x2 = load(&mut b, 0, at(3, 0, 2));
    let d = b.def(Inst::Binary(BinaryOp::Div, x2, x1));
    store(&mut b, 1, at(2, 0, 1), d);
    store(&mut b, 1, at(2, 0, 0), x1);
    let kernel = b.finish();
    let xs: Vec<f64> = (0..3 * 11).map(|j| (j as f64 * 0.37).sin()).collect();
    check_vector_loops(&kernel, &[&xs], &[0], 11);
}

/// A layer-shaped kernel: per point, `before` over its input x (scalar
/// values the vector loop splats); per neuron, the `components` elements
/// of `pre` (adjacent neurons adjacent: lanes over neurons), a weight
/// w[2k] (stride 2: gathered), `inside`, and `components` stores to
/// `post` at the same places as the loads.
fn layer_kernel(before: &[Op], inside: &[Op], width: usize, components: usize) -> Kernel {
    let mut b = KernelBuilder::new(
        "layer",
        vec![
            decl("x", Access::Input),
            decl("pre", Access::Input),
            decl("w", Access::Input),
            decl("post", Access::Output),
        ],
    );
    let mut pool = vec![load(&mut b, 0, at(1, 0, 0))];
    for op in before {
        let v = emit(&mut b, &pool, op);
        pool.push(v);
    }
    let row = width * components;
    b.neuron_loop(|b| {
        let mut local = pool.clone();
        for c in 0..components {
            local.push(load(b, 1, at(row, 1, c * width)));
        }
        local.push(load(b, 2, at(0, 2, 0)));
        for op in inside {
            let v = emit(b, &local, op);
            local.push(v);
        }
        for c in 0..components {
            let v = local[local.len() - 1 - c];
            store(b, 3, at(row, 1, c * width), v);
        }
    });
    b.finish()
}

#[test]
fn neuron_lanes_match_the_scalar_loop_and_the_interpreter() {
    // tanh of the weighted input and a product of components, at odd and
    // even neuron counts (vector passes of 6 and 2 neurons, then scalar)
    let before = [(2u8, 0, 0, 0.0), (11, 1, 0, 0.5)];
    let inside = [
        (2u8, 4, 2, 0.0),
        (6, 7, 6, 0.0), // tanh (MathFn::ALL[6]) of the product
        (2, 2, 3, 0.0),
        (0, 6, 7, 0.0),
        (3, 8, 4, 0.0),
    ];
    let width = 9;
    let kernel = layer_kernel(&before, &inside, width, 3);
    assert_eq!(super::neuron_lane_limit(&kernel), Some(width));
    let n = 7;
    let xs: Vec<f64> = (0..n).map(|i| 0.3 * i as f64 - 1.0).collect();
    let pre: Vec<f64> = (0..n * 3 * width)
        .map(|j| (j as f64 * 0.71).sin())
        .collect();
    let w: Vec<f64> = (0..2 * width).map(|j| (j as f64 * 0.37).cos()).collect();
    check_vector_loops(&kernel, &[&xs, &pre, &w], &[0, 1, 2, 5, 7, 8, 9], n);
    let compiled = Compiled::new(std::slice::from_ref(&kernel), width).unwrap();
    assert!(
        compiled.clif().contains("load.f64x2"),
        "adjacent neurons load with one vector load:\n{}",
        compiled.clif()
    );

    // Two stores 3 apart in a row of 10: neurons k and k + 3 would write
    // the same element, so above 3 neurons the loop runs scalar (in the
    // interpreter's order, which decides the element's final value).
    let mut b = KernelBuilder::new(
        "overlap",
        vec![decl("w", Access::Input), decl("out", Access::Output)],
    );
    b.neuron_loop(|b| {
        let v = load(b, 0, at(0, 1, 0));
        let two = b.def(Inst::Const(2.0));
        let u = b.def(Inst::Binary(BinaryOp::Mul, v, two));
        store(b, 1, at(10, 1, 0), v);
        store(b, 1, at(10, 1, 3), u);
    });
    let kernel = b.finish();
    assert_eq!(super::neuron_lane_limit(&kernel), Some(3));
    let w: Vec<f64> = (0..7).map(|j| 1.0 + j as f64).collect();
    check_vector_loops(&kernel, &[&w], &[0, 1, 2, 3, 4, 5, 6, 7], 4);

    // A neuron loop with an accumulator keeps its lanes over points.
    assert_eq!(super::neuron_lane_limit(&neuron_kernel(5)), None);
}

#[test]
fn tanh_in_vector_loops_handles_special_values() {
    let mut b = KernelBuilder::new(
        "tanh",
        vec![decl("x", Access::Input), decl("out", Access::Output)],
    );
    let x = load(&mut b, 0, at(1, 0, 0));
    let t = b.def(Inst::Unary(UnaryOp::Call(MathFn::Tanh), x));
    let minus = b.def(Inst::Unary(UnaryOp::Neg, x));
    let u = b.def(Inst::Unary(UnaryOp::Call(MathFn::Tanh), minus));
    store(&mut b, 1, at(2, 0, 0), t);
    store(&mut b, 1, at(2, 0, 1), u);
    let kernel = b.finish();
    let mut xs = special_values();
    // around the clamp (2|x| = 44), the rounding ties of k and ln2/2
    xs.extend([
        21.999999999999996,
        22.0,
        22.000000000000004,
        19.0,
        1e-300,
        -1e-300,
        0.34657359027997264,
        std::f64::consts::LN_2 * 0.75,
        std::f64::consts::LN_2 * 1.25,
        -f64::NAN,
    ]);
    check_vector_loops(&kernel, &[&xs], &[0], xs.len());
    // the values themselves, from the default vector loops, every point in
    // every lane of every stream
    let n = xs.len();
    let compiled = Compiled::new(std::slice::from_ref(&kernel), 1).unwrap();
    for start in 0..6 {
        let (_, got) = both(&kernel, &compiled, 0, &[&xs], 0, start..n, 1);
        for (i, x) in xs.iter().enumerate().skip(start) {
            let (t, u) = (got[0][2 * i], got[0][2 * i + 1]);
            assert!(same(t, crate::math::tanh(*x)), "tanh({x:e}) = {t:e}");
            assert!(same(u, crate::math::tanh(-*x)), "tanh({:e}) = {u:e}", -x);
            if x.is_nan() {
                assert!(t.is_nan() && u.is_nan());
            } else if x.is_infinite() {
                assert_eq!(t, x.signum());
                assert_eq!(u, -x.signum());
            } else if *x == 0.0 {
                assert_eq!(t.to_bits(), x.to_bits());
                assert_eq!(u.to_bits(), (-*x).to_bits());
            }
        }
    }
}

#[test]
fn bad_calls_are_refused_before_running() {
    let k = 4;
    let compiled = Compiled::new(&[neuron_kernel(k)], k).unwrap();
    let xs = vec![0.5; 10];
    let w = vec![1.0; k];
    // too short an output
    let (mut rows, mut s) = (vec![0.0; 10 * k - 1], vec![0.0; 10]);
    let err = compiled
        .run(
            0,
            &mut [
                ArrayArg::In(&xs),
                ArrayArg::In(&w),
                ArrayArg::In(&w),
                ArrayArg::Out(&mut rows),
                ArrayArg::Out(&mut s),
            ],
            k,
            0..10,
        )
        .unwrap_err();
    assert!(
        matches!(err, RunError::TooShort { ref name, need: 40, len: 39 } if name == "rows"),
        "{err:?}"
    );
    assert!(rows.iter().all(|v| *v == 0.0), "nothing may be written");
    // too short an input
    let mut rows = vec![0.0; 10 * k];
    let err = compiled
        .run_parallel(
            0,
            &mut [
                ArrayArg::In(&xs[..9]),
                ArrayArg::In(&w),
                ArrayArg::In(&w),
                ArrayArg::Out(&mut rows),
                ArrayArg::Out(&mut s),
            ],
            k,
            0..10,
            2,
        )
        .unwrap_err();
    assert!(matches!(err, RunError::TooShort { ref name, .. } if name == "x"));
    // an input passed as output
    let mut w_out = vec![1.0; k];
    let err = compiled
        .run(
            0,
            &mut [
                ArrayArg::In(&xs),
                ArrayArg::Out(&mut w_out),
                ArrayArg::In(&w),
                ArrayArg::Out(&mut rows),
                ArrayArg::Out(&mut s),
            ],
            k,
            0..10,
        )
        .unwrap_err();
    assert!(
        matches!(err, RunError::Access { ref name } if name == "w"),
        "{err:?}"
    );
    // more neurons than the weights hold
    let err = compiled
        .run(
            0,
            &mut [
                ArrayArg::In(&xs),
                ArrayArg::In(&w),
                ArrayArg::In(&w),
                ArrayArg::Out(&mut rows),
                ArrayArg::Out(&mut s),
            ],
            k + 1,
            0..10,
        )
        .unwrap_err();
    assert!(matches!(err, RunError::TooShort { .. }), "{err:?}");
    // wrong argument count, unknown kernel
    let err = compiled
        .run(0, &mut [ArrayArg::In(&xs)], k, 0..10)
        .unwrap_err();
    assert_eq!(
        err,
        RunError::ArgumentCount {
            expected: 5,
            got: 1
        }
    );
    let err = compiled.run(1, &mut [], k, 0..10).unwrap_err();
    assert_eq!(err, RunError::NoSuchKernel { index: 1 });
    // an empty or reversed range touches nothing and needs nothing
    compiled
        .run(
            0,
            &mut [
                ArrayArg::In(&[]),
                ArrayArg::In(&[]),
                ArrayArg::In(&[]),
                ArrayArg::Out(&mut []),
                ArrayArg::Out(&mut []),
            ],
            k,
            3..3,
        )
        .unwrap();
    compiled
        .run(
            0,
            &mut [
                ArrayArg::In(&xs),
                ArrayArg::In(&w),
                ArrayArg::In(&w),
                ArrayArg::Out(&mut rows),
                ArrayArg::Out(&mut s),
            ],
            k,
            #[allow(clippy::reversed_empty_ranges)]
            (7..2),
        )
        .unwrap();
}

#[test]
fn strides_whose_reach_overflows_are_refused() {
    // i * 2^62 wraps around for i >= 4: `check_call` alone would compute a
    // tiny length in a release build.
    let mut b = KernelBuilder::new(
        "huge",
        vec![decl("x", Access::Input), decl("out", Access::Output)],
    );
    let x = load(&mut b, 0, at(1 << 62, 0, 0));
    store(&mut b, 1, at(1, 0, 0), x);
    let kernel = b.finish();
    let compiled = Compiled::new(&[kernel], 1).unwrap();
    let xs = vec![1.0; 8];
    let mut out = vec![0.0; 8];
    let err = compiled
        .run(
            0,
            &mut [ArrayArg::In(&xs), ArrayArg::Out(&mut out)],
            0,
            0..5,
        )
        .unwrap_err();
    assert_eq!(
        err,
        RunError::TooShort {
            name: "x".into(),
            need: usize::MAX,
            len: 8
        }
    );
    // one point is fine: only x[0] is read
    compiled
        .run(
            0,
            &mut [ArrayArg::In(&xs), ArrayArg::Out(&mut out)],
            0,
            0..1,
        )
        .unwrap();
    assert_eq!(out[0], 1.0);
    // offsets beyond the 32-bit displacement compile (and are bounds-checked)
    let mut b = KernelBuilder::new(
        "far",
        vec![decl("x", Access::Input), decl("out", Access::Output)],
    );
    let x = load(&mut b, 0, at(1, 0, 1 << 40));
    store(&mut b, 1, at(1, 0, 0), x);
    let compiled = Compiled::new(&[b.finish()], 1).unwrap();
    let err = compiled
        .run(
            0,
            &mut [ArrayArg::In(&xs), ArrayArg::Out(&mut out)],
            0,
            0..1,
        )
        .unwrap_err();
    assert!(matches!(err, RunError::TooShort { need, .. } if need == (1 << 40) + 1));
}

#[test]
fn invalid_kernels_are_rejected() {
    // a store that escapes its row for 5 neurons
    let kernel = neuron_kernel(4);
    let err = Compiled::new(std::slice::from_ref(&kernel), 5).unwrap_err();
    assert!(
        matches!(err, JitError::Verify { ref kernel, .. } if kernel == "neurons"),
        "{err}"
    );
    // a use before definition
    let bad = Kernel {
        name: "bad".into(),
        arrays: vec![decl("out", Access::Output)],
        values: 1,
        vars: 0,
        body: vec![Stmt::Store {
            array: ArrayId(0),
            index: at(1, 0, 0),
            value: ValueId(0),
        }],
    };
    assert!(matches!(
        Compiled::new(&[kernel.clone(), bad], 4),
        Err(JitError::Verify { .. })
    ));
    // no kernels at all is fine
    let empty = Compiled::new(&[], 4).unwrap();
    assert!(empty.is_empty());
    assert_eq!(empty.clif(), "");
}

#[test]
fn clif_and_asm_are_deterministic_and_name_every_kernel() {
    let kernels = [neuron_kernel(3), math_kernel(), neuron_kernel(2)];
    let a = Compiled::new(&kernels, 2).unwrap();
    let b = Compiled::new(&kernels, 2).unwrap();
    assert_eq!(a.len(), 3);
    assert_eq!(a.clif(), b.clif());
    assert_eq!(a.asm(), b.asm());
    for name in ["neurons", "math"] {
        assert!(a.clif().contains(&format!("; kernel {name}\n")));
        assert!(a.clif().contains(&format!("function %{name}(")));
        assert!(a.asm().contains(&format!("; kernel {name}\n")));
    }
    assert_eq!(a.clif().matches("; kernel ").count(), 3);
    assert_eq!(a.asm().matches("; kernel ").count(), 3);
    assert!(a.asm().contains("ret"), "{}", a.asm());
    assert_eq!(super::symbol_name("a-b c"), "a_b_c");
    // several kernels in one module all run
    let (xs, w, bias) = neuron_inputs(10, 3);
    let (expected, got) = both(&kernels[0], &a, 0, &[&xs, &w, &bias], 2, 0..10, 1);
    assert_same(&expected[0], &got[0], "first kernel");
    let (expected, got) = both(&kernels[1], &a, 1, &[&xs], 0, 0..10, 1);
    assert_same(&expected[0], &got[0], "second kernel");
}

#[test]
fn compiled_code_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Compiled>();
}

/// One random operation: `(kind, a, b, constant)`; `a` and `b` pick operands
/// from the values in scope.
type Op = (u8, usize, usize, f64);

fn emit(b: &mut KernelBuilder, pool: &[ValueId], &(kind, i, j, c): &Op) -> ValueId {
    let (x, y) = (pool[i % pool.len()], pool[j % pool.len()]);
    match kind % 12 {
        0 => b.def(Inst::Binary(BinaryOp::Add, x, y)),
        1 => b.def(Inst::Binary(BinaryOp::Sub, x, y)),
        2 => b.def(Inst::Binary(BinaryOp::Mul, x, y)),
        3 => b.def(Inst::Binary(BinaryOp::Div, x, y)),
        4 => b.def(Inst::Const(c)),
        5 => b.def(Inst::Unary(UnaryOp::Neg, x)),
        6 | 7 => b.def(Inst::Unary(
            UnaryOp::Call(MathFn::ALL[j % MathFn::ALL.len()]),
            x,
        )),
        8 => b.def(Inst::Powi(x, (j % 15) as i32 - 6)),
        9 => b.def(Inst::Binary(BinaryOp::Pow, x, y)),
        10 => {
            let k = b.def(Inst::Const(c));
            b.def(Inst::Binary(BinaryOp::Mul, x, k))
        }
        _ => {
            let k = b.def(Inst::Const(c));
            b.def(Inst::Binary(BinaryOp::Add, k, x))
        }
    }
}

/// A random straight-line kernel: three loaded inputs per point, `ops`,
/// the last three values stored.
fn random_kernel(ops: &[Op]) -> Kernel {
    let mut b = KernelBuilder::new(
        "random",
        vec![decl("x", Access::Input), decl("out", Access::Output)],
    );
    let mut pool: Vec<ValueId> = (0..3).map(|j| load(&mut b, 0, at(3, 0, j))).collect();
    for op in ops {
        let v = emit(&mut b, &pool, op);
        pool.push(v);
    }
    for j in 0..3 {
        let v = pool[pool.len() - 1 - j];
        store(&mut b, 1, at(3, 0, j), v);
    }
    b.finish()
}

/// A random kernel with a neuron loop: `before` over the point's inputs,
/// then a loop whose body (`inside`, over those values, a weight and the
/// accumulator) stores a row element and updates the accumulator, then
/// `after` over the values before the loop and the accumulator.
///
/// With `carry`, the accumulator is set only inside the loop, so with no
/// neurons a point reads the value the previous point left behind (the
/// points are then not independent and run in order, on one thread).
fn random_loop_kernel(
    before: &[Op],
    inside: &[Op],
    after: &[Op],
    neurons: usize,
    carry: bool,
) -> Kernel {
    let mut b = KernelBuilder::new(
        "random_loop",
        vec![
            decl("x", Access::Input),
            decl("w", Access::Input),
            decl("rows", Access::Output),
            decl("out", Access::Output),
        ],
    );
    let mut pool: Vec<ValueId> = (0..2).map(|j| load(&mut b, 0, at(2, 0, j))).collect();
    for op in before {
        let v = emit(&mut b, &pool, op);
        pool.push(v);
    }
    let acc = b.var();
    let init = *pool.last().unwrap();
    if !carry {
        b.push(Stmt::Set(acc, init));
    }
    b.neuron_loop(|b| {
        let mut local = pool.clone();
        local.push(load(b, 1, at(0, 2, 0)));
        local.push(load(b, 1, at(0, 2, 1)));
        if carry {
            let first = *local.last().unwrap();
            b.push(Stmt::Set(acc, first));
        }
        local.push(b.def(Inst::Read(acc)));
        for op in inside {
            let v = emit(b, &local, op);
            local.push(v);
        }
        let last = *local.last().unwrap();
        store(b, 2, at(neurons, 1, 0), last);
        let r = b.def(Inst::Read(acc));
        let s = b.def(Inst::Binary(BinaryOp::Add, r, last));
        b.push(Stmt::Set(acc, s));
    });
    let sum = b.def(Inst::Read(acc));
    pool.push(sum);
    for op in after {
        let v = emit(&mut b, &pool, op);
        pool.push(v);
    }
    let last = *pool.last().unwrap();
    store(&mut b, 3, at(2, 0, 0), last);
    store(&mut b, 3, at(2, 0, 1), sum);
    b.finish()
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let constant = prop_oneof![
        -3.0f64..3.0,
        -1e300f64..1e300,
        Just(0.0),
        Just(-0.0),
        Just(1.0),
        Just(0.5),
        -1e-300f64..1e-300,
        Just(5e-324),
        Just(-2.2250738585072014e-308),
        Just(f64::MAX),
        Just(f64::MIN_POSITIVE),
    ];
    (0u8..12, 0usize..64, 0usize..64, constant)
}

/// The case count of the random-kernel property tests: `default`, or the
/// value of the environment variable `PDEC_JIT_FUZZ_CASES` when it is set
/// (long runs: `PDEC_JIT_FUZZ_CASES=50000 cargo test --release --lib
/// random_`; CI keeps the defaults).
fn jit_fuzz_config(default: u32) -> ProptestConfig {
    let cases = std::env::var("PDEC_JIT_FUZZ_CASES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// `kernel` compiled with the vector-loop configuration number `streams`
/// of [`VECTOR_STREAMS`].
fn compile_with_streams(kernel: &Kernel, max_neurons: usize, streams: usize) -> Compiled {
    let options = lower::Options {
        vector_streams: VECTOR_STREAMS[streams % VECTOR_STREAMS.len()],
        ..lower::Options::default()
    };
    Compiled::with_options(std::slice::from_ref(kernel), max_neurons, options).unwrap()
}

fn input_strategy() -> impl Strategy<Value = f64> {
    prop_oneof![
        8 => -4.0f64..4.0,
        1 => proptest::num::f64::ANY,
        1 => prop_oneof![
            Just(0.0),
            Just(-0.0),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(f64::NAN),
            Just(1e308),
            Just(5e-324),
        ],
    ]
}

proptest! {
    #![proptest_config(jit_fuzz_config(96))]

    /// Straight-line kernels of every instruction on awkward inputs, with a
    /// random vector-loop configuration, start point and thread count.
    #[test]
    fn random_kernels_match_the_interpreter_bitwise(
        ops in proptest::collection::vec(op_strategy(), 1..60),
        xs in proptest::collection::vec(input_strategy(), 3..48),
        streams in 0usize..VECTOR_STREAMS.len(),
        start in 0usize..3,
        threads in 1usize..4,
    ) {
        let kernel = random_kernel(&ops);
        let n = xs.len() / 3;
        let compiled = compile_with_streams(&kernel, 1, streams);
        let (expected, got) = both(&kernel, &compiled, 0, &[&xs], 0, start.min(n)..n, threads);
        prop_assert!(
            same_bits(&expected[0], &got[0]),
            "{:?} vs {:?}\n{}", expected[0], got[0], kernel
        );
    }

    /// Kernels with a neuron loop and an accumulator: independent points
    /// (vector loops, threads) or, with `carry`, a value carried from point
    /// to point.
    #[test]
    fn random_loop_kernels_match_the_interpreter_bitwise(
        before in proptest::collection::vec(op_strategy(), 0..12),
        inside in proptest::collection::vec(op_strategy(), 1..20),
        after in proptest::collection::vec(op_strategy(), 0..12),
        xs in proptest::collection::vec(input_strategy(), 2..24),
        ws in proptest::collection::vec(input_strategy(), 12),
        neurons in 0usize..6,
        carry in proptest::bool::weighted(0.25),
        streams in 0usize..VECTOR_STREAMS.len(),
        start in 0usize..3,
        threads in 1usize..4,
    ) {
        let kernel = random_loop_kernel(&before, &inside, &after, 6, carry);
        prop_assert_eq!(kernel.points_are_independent(), !carry);
        let n = xs.len() / 2;
        let compiled = compile_with_streams(&kernel, 6, streams);
        let range = start.min(n)..n;
        let (expected, got) = both(&kernel, &compiled, 0, &[&xs, &ws], neurons, range, threads);
        prop_assert!(same_bits(&expected[0], &got[0]), "rows differ\n{}", kernel);
        prop_assert!(same_bits(&expected[1], &got[1]), "outputs differ\n{}", kernel);
    }
}

proptest! {
    #![proptest_config(jit_fuzz_config(64))]

    /// Layer-shaped kernels (lanes over neurons) with random operations
    /// before and in the neuron loop, at random neuron counts up to the
    /// width, vector-loop configurations, starts and thread counts.
    #[test]
    fn random_layer_kernels_match_the_interpreter_bitwise(
        before in proptest::collection::vec(op_strategy(), 0..8),
        inside in proptest::collection::vec(op_strategy(), 1..24),
        xs in proptest::collection::vec(input_strategy(), 1..6),
        pre in proptest::collection::vec(input_strategy(), 42),
        ws in proptest::collection::vec(input_strategy(), 14),
        neurons in 0usize..8,
        streams in 0usize..VECTOR_STREAMS.len(),
        start in 0usize..2,
        threads in 1usize..4,
    ) {
        let width = 7;
        let kernel = layer_kernel(&before, &inside, width, 2);
        prop_assert_eq!(super::neuron_lane_limit(&kernel), Some(width));
        let n = xs.len().min(pre.len() / (2 * width));
        let compiled = compile_with_streams(&kernel, width, streams);
        let range = start.min(n)..n;
        let (expected, got) = both(&kernel, &compiled, 0, &[&xs, &pre, &ws], neurons, range, threads);
        prop_assert!(same_bits(&expected[0], &got[0]), "{:?} vs {:?}\n{}", expected[0], got[0], kernel);
    }
}

/// A kernel of about `size` instructions shaped like the lowering's output:
/// per-point inputs, a neuron loop with an activation and its derivatives,
/// sums and stores.
fn big_kernel(size: usize, neurons: usize) -> Kernel {
    let mut b = KernelBuilder::new(
        "big",
        vec![
            decl("x", Access::Input),
            decl("w", Access::Input),
            decl("rows", Access::Output),
            decl("out", Access::Output),
        ],
    );
    let mut pool: Vec<ValueId> = (0..4).map(|j| load(&mut b, 0, at(4, 0, j))).collect();
    let acc = b.var();
    let zero = b.def(Inst::Const(0.0));
    b.push(Stmt::Set(acc, zero));
    // Each operation uses the previous value, so that nothing is dead.
    let per_op = |j: usize, len: usize| -> Op { ((j * 7 % 12) as u8, len - 1, j * 3 + 2, 0.25) };
    b.neuron_loop(|b| {
        let mut local = pool.clone();
        for j in 0..4 {
            local.push(load(b, 1, at(0, 4, j)));
        }
        for j in 0..size / 2 {
            let v = emit(b, &local, &per_op(j, local.len()));
            local.push(v);
            if j % 10 == 9 {
                store(b, 2, at(neurons * 20, 20, j / 10 % 20), v);
            }
        }
        let r = b.def(Inst::Read(acc));
        let s = b.def(Inst::Binary(BinaryOp::Add, r, *local.last().unwrap()));
        b.push(Stmt::Set(acc, s));
    });
    pool.push(b.def(Inst::Read(acc)));
    for j in 0..size / 2 {
        let v = emit(&mut b, &pool, &per_op(j + 1000, pool.len()));
        pool.push(v);
    }
    store(&mut b, 3, at(1, 0, 0), *pool.last().unwrap());
    b.finish()
}

fn instruction_count(block: &[Stmt]) -> usize {
    block
        .iter()
        .map(|s| match s {
            Stmt::ForNeurons(body) => instruction_count(body),
            _ => 1,
        })
        .sum()
}

#[test]
fn big_kernels_match_the_interpreter_bitwise() {
    let kernel = big_kernel(200, 8);
    assert!(instruction_count(&kernel.body) > 150);
    let n = 50;
    let xs: Vec<f64> = (0..4 * n).map(|j| (j as f64 * 0.37).sin()).collect();
    let ws: Vec<f64> = (0..32).map(|j| (j as f64 * 0.21).cos()).collect();
    let compiled = Compiled::new(std::slice::from_ref(&kernel), 8).unwrap();
    for threads in [1, 3] {
        let (expected, got) = both(&kernel, &compiled, 0, &[&xs, &ws], 8, 0..n, threads);
        assert_same(&expected[0], &got[0], "big rows");
        assert_same(&expected[1], &got[1], "big out");
    }
}

/// `cargo test --release -- --ignored --nocapture compile_time`
#[test]
#[ignore]
fn compile_time() {
    for size in [200, 1000, 5000] {
        let kernel = big_kernel(size, 8);
        let count = instruction_count(&kernel.body);
        // The fastest of several compilations (the machine may be busy).
        let per = (0..20)
            .map(|_| {
                let start = std::time::Instant::now();
                Compiled::new(std::slice::from_ref(&kernel), 8).unwrap();
                start.elapsed()
            })
            .min()
            .unwrap_or_default();
        println!("{count} IR statements: {per:?} per compilation");
    }
}
