//! Tests of the symbolic module: simplification rules and canonical forms,
//! derivatives against finite differences, field substitution, the node
//! limit, printing, and property tests against a naive tree evaluator.

use super::*;
use crate::math::{Activation, MathFn};
use proptest::prelude::*;

/// A graph with coordinates x (0), y (1) and parameter p.
fn setup() -> (Graph, [SymbolId; 3], [ExprId; 3]) {
    let mut g = Graph::new();
    let x = g.coordinate(0, "x").unwrap();
    let y = g.coordinate(1, "y").unwrap();
    let p = g.parameter("p").unwrap();
    let exprs = [g.symbol(x), g.symbol(y), g.symbol(p)];
    (g, [x, y, p], exprs)
}

/// Value of `e` with symbol number i set to `point[i]` and no fields.
fn value_at(g: &Graph, e: ExprId, point: &[f64]) -> f64 {
    g.eval(&[e], &|s| point[s.index()], &|_, _| f64::NAN)[0]
}

/// Sixth-order central difference of `f` at `x` with step `h`
/// (truncation error ~ h^6 f^(7) / 140).
fn stencil6(f: &dyn Fn(f64) -> f64, x: f64, h: f64) -> f64 {
    (-f(x - 3.0 * h) + 9.0 * f(x - 2.0 * h) - 45.0 * f(x - h) + 45.0 * f(x + h)
        - 9.0 * f(x + 2.0 * h)
        + f(x + 3.0 * h))
        / (60.0 * h)
}

/// Checks d(e)/dx against the finite difference of `e` in x at each point
/// (y, p fixed), for the first `orders` derivatives.
fn check_derivatives(g: &mut Graph, e: ExprId, x: SymbolId, points: &[f64], orders: usize) {
    let mut current = e;
    for order in 1..=orders {
        let next = g.diff(current, x).unwrap();
        for &x0 in points {
            let f = |t: f64| value_at(g, current, &[t, 0.3, 0.7]);
            let reference = stencil6(&f, x0, 1e-3);
            let symbolic = value_at(g, next, &[x0, 0.3, 0.7]);
            assert!(
                (symbolic - reference).abs() <= 1e-8 * (1.0 + reference.abs()),
                "order {order} of {} at x = {x0}: symbolic {symbolic}, finite difference {reference}",
                g.display(e)
            );
        }
        current = next;
    }
}

#[test]
fn equal_expressions_built_in_different_orders_share_an_id() {
    let (mut g, _, [x, y, p]) = setup();
    assert_eq!(g.add(x, y), g.add(y, x));
    assert_eq!(g.mul(x, y), g.mul(y, x));
    let (xy, yp) = (g.add(x, y), g.add(y, p));
    assert_eq!(g.add(xy, p), g.add(x, yp));
    let (xy, yp) = (g.mul(x, y), g.mul(y, p));
    assert_eq!(g.mul(xy, p), g.mul(x, yp));
    let sin = g.call(MathFn::Sin, x);
    let two = g.num(2.0);
    let two_y = g.mul(two, y);
    assert_eq!(g.add(sin, two_y), g.add(two_y, sin));
    // constants are summed in a fixed order, whatever order they come in
    let c: Vec<ExprId> = [0.1, 0.2, 0.3].iter().map(|&v| g.num(v)).collect();
    assert_eq!(
        g.add_all(&[x, c[0], c[1], c[2]]),
        g.add_all(&[c[2], c[1], x, c[0]])
    );
}

#[test]
fn constants_fold() {
    let mut g = Graph::new();
    let (two, three) = (g.num(2.0), g.num(3.0));
    let five = g.num(5.0);
    assert_eq!(g.add(two, three), five);
    let six = g.num(6.0);
    assert_eq!(g.mul(two, three), six);
    let eight = g.num(8.0);
    assert_eq!(g.pow(two, three), eight);
    let zero = g.num(0.0);
    assert_eq!(g.call(MathFn::Sin, zero), zero);
    let sigmoid = g.act(Activation::Sigmoid, zero);
    assert_eq!(g.number(sigmoid), Some(0.5));
    assert_eq!(g.num(-0.0), zero);
}

#[test]
fn identity_rules() {
    let (mut g, _, [x, _, _]) = setup();
    let (zero, one) = (g.num(0.0), g.num(1.0));
    assert_eq!(g.add(x, zero), x);
    assert_eq!(g.mul(zero, x), zero);
    assert_eq!(g.mul(one, x), x);
    assert_eq!(g.pow(x, one), x);
    assert_eq!(g.pow(x, zero), one);
    assert_eq!(g.pow(one, x), one);
    assert_eq!(g.sub(x, x), zero);
    assert_eq!(g.add_all(&[]), zero);
    assert_eq!(g.mul_all(&[]), one);
}

#[test]
fn numeric_factors_and_like_terms_are_collected() {
    let (mut g, _, [x, y, _]) = setup();
    let (two, three, five, six) = (g.num(2.0), g.num(3.0), g.num(5.0), g.num(6.0));
    let three_x = g.mul(three, x);
    let six_x = g.mul(six, x);
    assert_eq!(g.mul(two, three_x), six_x);
    assert_eq!(g.node(six_x), &Node::Mul(vec![six, x].into()));
    let two_x = g.mul(two, x);
    assert_eq!(g.add(x, x), two_x);
    assert_eq!(g.sub(three_x, x), two_x);
    let xy = g.mul(x, y);
    let (two_xy, three_yx) = (g.mul(two, xy), g.mul_all(&[y, three, x]));
    let five_xy = g.mul(five, xy);
    assert_eq!(g.add(two_xy, three_yx), five_xy);
    let x_plus_y = g.add(x, y);
    assert_eq!(g.sub(x_plus_y, x), y);
    // subtraction and division have one canonical form
    let minus_one = g.num(-1.0);
    let minus_y = g.mul(minus_one, y);
    assert_eq!(g.sub(x, y), g.add(x, minus_y));
    let half = g.num(0.5);
    let half_x = g.mul(half, x);
    assert_eq!(g.div(x, two), half_x);
}

#[test]
fn nested_sums_and_products_are_flattened() {
    let (mut g, _, [x, y, p]) = setup();
    let xy = g.add(x, y);
    let sum = g.add(xy, p);
    assert!(matches!(g.node(sum), Node::Add(ops) if ops.len() == 3));
    let xy = g.mul(x, y);
    let two = g.num(2.0);
    let product = g.mul_all(&[xy, two, p]);
    assert!(matches!(g.node(product), Node::Mul(ops) if ops.len() == 4 && ops[0] == two));
}

#[test]
fn powers_of_one_base_merge_only_where_valid() {
    let (mut g, _, [x, y, _]) = setup();
    let x2 = g.powi(x, 2);
    assert_eq!(g.mul(x, x), x2);
    let x_inv = g.powi(x, -1);
    assert_eq!(g.mul(x2, x_inv), x);
    let one = g.num(1.0);
    assert_eq!(g.div(x, x), one);
    let x6 = g.powi(x, 6);
    assert_eq!(g.powi(x2, 3), x6);
    // (2x)^2 = 4 x^2 and 1/(x y) = x^-1 y^-1
    let (two, four) = (g.num(2.0), g.num(4.0));
    let two_x = g.mul(two, x);
    let four_x2 = g.mul(four, x2);
    assert_eq!(g.powi(two_x, 2), four_x2);
    let xy = g.mul(x, y);
    let y_inv = g.powi(y, -1);
    assert_eq!(g.powi(xy, -1), g.mul(x_inv, y_inv));
    // x^0.5 * x^0.5 and (x^0.5)^2 are NaN for x < 0: not x
    let half = g.num(0.5);
    let root = g.pow(x, half);
    let root_squared = g.mul(root, root);
    assert_ne!(root_squared, x);
    assert!(value_at(&g, root_squared, &[-1.0, 0.0, 0.0]).is_nan());
    assert_ne!(g.powi(root, 2), x);
    // (x^2)^0.5 is |x|, not x
    let abs_x = g.pow(x2, half);
    assert_ne!(abs_x, x);
    assert_eq!(value_at(&g, abs_x, &[-3.0, 0.0, 0.0]), 3.0);
    // x^0.5 * x^0.7 = x^1.2 is valid (both sides NaN for x < 0)
    let (seven, twelve) = (g.num(0.7), g.num(1.2));
    let x07 = g.pow(x, seven);
    assert_eq!(g.mul(root, x07), g.pow(x, twelve));
}

#[test]
fn function_rules_are_only_the_valid_ones() {
    let (mut g, _, [x, _, _]) = setup();
    let exp = g.call(MathFn::Exp, x);
    assert_eq!(g.call(MathFn::Log, exp), x);
    let log = g.call(MathFn::Log, x);
    assert_ne!(g.call(MathFn::Exp, log), x);
    let x2 = g.powi(x, 2);
    assert_ne!(g.call(MathFn::Sqrt, x2), x);
    let abs = g.call(MathFn::Abs, x);
    assert_eq!(g.call(MathFn::Abs, abs), abs);
}

#[test]
fn folding_never_creates_nan_or_infinite_constants() {
    let mut g = Graph::new();
    let (zero, one, minus_one) = (g.num(0.0), g.num(1.0), g.num(-1.0));
    let cases = [
        (g.div(zero, zero), f64::NAN),
        (g.call(MathFn::Log, minus_one), f64::NAN),
        (g.call(MathFn::Sqrt, minus_one), f64::NAN),
        (g.div(one, zero), f64::INFINITY),
        (g.call(MathFn::Log, zero), f64::NEG_INFINITY),
    ];
    for (e, expected) in cases {
        assert_eq!(g.number(e), None, "{} was folded", g.display(e));
        let v = value_at(&g, e, &[]);
        assert!(v == expected || (v.is_nan() && expected.is_nan()), "{v}");
    }
    // identities are not applied to non-finite constants: 0 * (1/0) and
    // (1/0) - (1/0) are NaN, not 0
    let inf = g.div(one, zero);
    let zero_times_inf = g.mul(zero, inf);
    assert!(value_at(&g, zero_times_inf, &[]).is_nan());
    let inf_minus_inf = g.sub(inf, inf);
    assert!(value_at(&g, inf_minus_inf, &[]).is_nan());
    let x = g.coordinate(0, "x").unwrap();
    let x = g.symbol(x);
    let nan_plus_x = g.add(zero_times_inf, x);
    assert!(value_at(&g, nan_plus_x, &[1.0]).is_nan());
    // log(exp(x)) = x is not applied to an overflowing constant
    let thousand = g.num(1000.0);
    let exp = g.call(MathFn::Exp, thousand);
    let log_exp = g.call(MathFn::Log, exp);
    assert_eq!(value_at(&g, log_exp, &[]), f64::INFINITY);
    // overflow stays unfolded and evaluates like IEEE arithmetic
    let (big, ten) = (g.num(1e308), g.num(10.0));
    let overflow = g.mul(big, ten);
    assert_eq!(g.number(overflow), None);
    assert_eq!(value_at(&g, overflow, &[]), f64::INFINITY);
}

#[test]
fn symbols_intern_by_name_and_conflicts_are_errors() {
    let (mut g, [x, _, p], _) = setup();
    assert_eq!(g.coordinate(0, "x"), Ok(x));
    assert_eq!(g.parameter("p"), Ok(p));
    assert_eq!(g.symbol_name(x), "x");
    assert_eq!(g.symbol_kind(p), Some(SymbolKind::Parameter));
    assert_eq!(g.lookup_symbol("y"), g.coordinate_symbol(1));
    let err = g.parameter("x").unwrap_err();
    assert_eq!(err.existing, SymbolKind::Coordinate(0));
    assert_eq!(
        err.to_string(),
        "cannot declare `x` as parameter: `x` is already declared as coordinate 0"
    );
    assert!(g.coordinate(0, "t").is_err());
    assert!(g.coordinate(2, "p").is_err());
}

#[test]
fn derivatives_of_functions_match_finite_differences() {
    let (mut g, [x, _, _], [xe, _, _]) = setup();
    let (a, b) = (g.num(0.7), g.num(0.2));
    let ax = g.mul(a, xe);
    let affine = g.add(ax, b); // 0.7 x + 0.2
    let x2 = g.powi(xe, 2);
    let positive = g.add(x2, b); // x^2 + 0.2 > 0
    for f in MathFn::ALL {
        let (arg, points): (ExprId, &[f64]) = match f {
            MathFn::Log | MathFn::Sqrt | MathFn::BesselY0 | MathFn::BesselY1 => {
                (positive, &[-0.9, -0.2, 0.4, 1.3])
            }
            MathFn::Tan => (affine, &[-1.2, -0.3, 0.5, 1.0]),
            MathFn::Abs | MathFn::Sign => (affine, &[-1.5, -0.6, 0.1, 1.3]),
            _ => (affine, &[-1.7, -0.4, 0.3, 1.1]),
        };
        let e = g.call(f, arg);
        check_derivatives(&mut g, e, x, points, 2);
    }
}

/// The derivatives that are taken at u = 0 when Gauss-Newton starts there
/// (issue 15): abs' = sign with sign(0) = 0, so abs has a finite
/// derivative everywhere (it was a/|a|, NaN at 0); a^p for p >= 1 is
/// finite at 0; sqrt' and (a^p)' for p < 1 are +inf at 0, as documented.
#[test]
fn derivatives_at_zero_are_defined_where_the_function_is_differentiable() {
    let (mut g, [x, _, _], [xe, ye, _]) = setup();
    let at = |g: &Graph, e: ExprId, t: f64| value_at(g, e, &[t, 0.3, 0.7]);
    let abs = g.call(MathFn::Abs, xe);
    let d_abs = g.diff(abs, x).unwrap();
    assert_eq!(g.display(d_abs).to_string(), "sign(x)");
    for (t, want) in [(0.0, 0.0), (-0.0, 0.0), (2.5, 1.0), (-1e-300, -1.0)] {
        assert_eq!(at(&g, d_abs, t), want, "abs' at {t}");
    }
    assert!(at(&g, d_abs, f64::NAN).is_nan());
    let d2_abs = g.diff(d_abs, x).unwrap();
    assert_eq!(g.number(d2_abs), Some(0.0));
    for p in [1.0, 1.5, 2.0, 3.25] {
        let exponent = g.num(p);
        let power = g.pow(xe, exponent);
        let d = g.diff(power, x).unwrap();
        let want = if p == 1.0 { 1.0 } else { 0.0 };
        assert_eq!(at(&g, d, 0.0), want, "(x^{p})' at 0");
    }
    // x^(y + 1) with the exponent depending on y: the general rule, whose
    // d/dx part is (y + 1) x^y, 0 at x = 0 for y = 0.3 (it was x^b b/x,
    // NaN at 0).
    let one = g.num(1.0);
    let exponent = g.add(ye, one);
    let power = g.pow(xe, exponent);
    let d = g.diff(power, x).unwrap();
    assert_eq!(at(&g, d, 0.0), 0.0);
    let sqrt = g.call(MathFn::Sqrt, xe);
    let d_sqrt = g.diff(sqrt, x).unwrap();
    assert_eq!(at(&g, d_sqrt, 0.0), f64::INFINITY);
    let half = g.num(0.5);
    let root = g.pow(xe, half);
    let d_root = g.diff(root, x).unwrap();
    assert_eq!(at(&g, d_root, 0.0), f64::INFINITY);
}

#[test]
fn bessel_and_erf_derivatives_match_finite_differences_to_third_order() {
    // Through the scaled functions J_n(x)/x^n, including points where
    // the argument is near 0 (where J1' = J0 - J1/x needs its limit) and
    // large arguments (J0, J1 by libm's asymptotic forms).
    let (mut g, [x, _, _], [xe, _, _]) = setup();
    let three = g.num(3.0);
    let scaled = g.mul(three, xe);
    for f in [
        MathFn::Erf,
        MathFn::Erfc,
        MathFn::BesselJ0,
        MathFn::BesselJ1,
    ] {
        let e = g.call(f, scaled);
        check_derivatives(&mut g, e, x, &[-2.9, -0.31, 0.004, 0.2, 1.7, 9.3], 3);
    }
    for f in [MathFn::BesselY0, MathFn::BesselY1] {
        let e = g.call(f, scaled);
        check_derivatives(&mut g, e, x, &[0.3, 1.1, 9.3], 3);
    }
}

#[test]
fn bessel_derivatives_take_their_limits_at_zero() {
    // J0' = -J1, J0'' = -1/2, J0''' = 0 at 0; J1' = 1/2, J1'' = 0 at 0.
    let (mut g, [x, _, _], [xe, _, _]) = setup();
    let j0 = g.call(MathFn::BesselJ0, xe);
    let j1 = g.call(MathFn::BesselJ1, xe);
    let j0_1 = g.diff(j0, x).unwrap();
    let j0_2 = g.diff(j0_1, x).unwrap();
    let j0_3 = g.diff(j0_2, x).unwrap();
    let j1_1 = g.diff(j1, x).unwrap();
    let j1_2 = g.diff(j1_1, x).unwrap();
    let at_zero = |g: &Graph, e| value_at(g, e, &[0.0, 0.0, 0.0]);
    assert_eq!(at_zero(&g, j0_1), 0.0);
    assert_eq!(at_zero(&g, j0_2), -0.5);
    assert_eq!(at_zero(&g, j0_3), 0.0);
    assert_eq!(at_zero(&g, j1_1), 0.5);
    assert_eq!(at_zero(&g, j1_2), 0.0);
}

#[test]
fn derivatives_of_activations_match_finite_differences() {
    let (mut g, [x, _, _], [xe, _, _]) = setup();
    let (w, b) = (g.num(1.3), g.num(-0.4));
    let wx = g.mul(w, xe);
    let z = g.add(wx, b);
    for a in Activation::ALL {
        let e = g.act(a, z);
        check_derivatives(&mut g, e, x, &[-1.4, -0.2, 0.5, 1.6], 3);
    }
}

#[test]
fn derivatives_of_powers_match_finite_differences() {
    let (mut g, [x, _, _], [xe, ye, pe]) = setup();
    let two = g.num(2.0);
    let cases = [
        g.pow(xe, ye),  // x^y: exponent independent of x
        g.pow(ye, xe),  // y^x
        g.pow(xe, xe),  // x^x: general rule
        g.pow(two, xe), // 2^x
        g.pow(xe, pe),  // x^p with a parameter exponent
        g.powi(xe, -3), // 1/x^3
        g.div(ye, xe),  // y/x
    ];
    for e in cases {
        check_derivatives(&mut g, e, x, &[0.4, 0.9, 1.7], 2);
    }
}

#[test]
fn derivative_rules_use_the_node_itself() {
    let (mut g, [x, _, p], [xe, _, pe]) = setup();
    let t = g.act(Activation::Tanh, pe);
    let dt = g.diff(t, p).unwrap();
    assert_eq!(g.display(dt), "1 - tanh(p)^2");
    let s = g.act(Activation::Sigmoid, pe);
    let ds = g.diff(s, p).unwrap();
    assert_eq!(g.display(ds), "sigmoid(p)*(1 - sigmoid(p))");
    let e = g.call(MathFn::Exp, xe);
    assert_eq!(g.diff(e, x), Ok(e));
    // one transcendental per neuron: the 3rd derivative of sigmoid(p)
    // contains no activation node other than sigmoid(p) itself
    let d3 = g.diff_multi(s, &[p, p, p]).unwrap();
    let order = g.topological_order(&[d3]);
    let acts: Vec<ExprId> = order
        .into_iter()
        .filter(|&id| matches!(g.node(id), Node::Act(..)))
        .collect();
    assert_eq!(acts, vec![s]);
}

#[test]
fn differentiation_is_memoized_and_stays_polynomial() {
    let (mut g, [x, _, _], [xe, _, _]) = setup();
    // e_{k+1} = sin(e_k)^2 + x: a tree of 2^depth nodes, a DAG of O(depth)
    let depth = 40;
    let mut e = xe;
    for _ in 0..depth {
        let s = g.call(MathFn::Sin, e);
        let s2 = g.powi(s, 2);
        e = g.add(s2, xe);
    }
    let d = g.diff(e, x).unwrap();
    let size = g.len();
    assert_eq!(g.diff(e, x), Ok(d));
    assert_eq!(g.len(), size, "memoized diff created nodes");
    assert!(g.count_reachable(&[d]) < 20 * depth);
    let d2 = g.diff(d, x).unwrap();
    assert!(g.count_reachable(&[d2]) < 100 * depth);
}

#[test]
fn node_limit_stops_repeated_differentiation() {
    let limit = 3_000;
    let mut g = Graph::with_node_limit(limit);
    let x = g.coordinate(0, "x").unwrap();
    let xe = g.symbol(x);
    let sin = g.call(MathFn::Sin, xe);
    let product = g.mul(sin, xe);
    let mut e = g.act(Activation::Tanh, product);
    let mut result = Ok(e);
    for _ in 0..200 {
        result = g.diff(e, x);
        match result {
            Ok(d) => e = d,
            Err(_) => break,
        }
    }
    assert_eq!(result, Err(SizeLimitExceeded::Nodes { limit }));
    assert!(g.len() < 2 * limit, "overshoot: {} nodes", g.len());
    // a derivative order beyond u8 is an error too
    let mut g = Graph::new();
    let x = g.coordinate(0, "x").unwrap();
    let u = g.field(0, &[255]);
    assert_eq!(
        g.diff(u, x),
        Err(SizeLimitExceeded::DerivativeOrder {
            field: 0,
            coordinate: 0
        })
    );
}

#[test]
fn fields_follow_the_chain_rule() {
    let (mut g, [x, y, p], _) = setup();
    let u = g.field(0, &[0, 0]);
    let u2 = g.powi(u, 2);
    let d = g.diff(u2, x).unwrap();
    let fields = |field: u32, alpha: &[u8]| match (field, alpha) {
        (0, [0, 0]) => 3.0,
        (0, [1, 0]) => 5.0,
        (0, [1, 1]) => 7.0,
        _ => f64::NAN,
    };
    let v = g.eval(&[d], &|_| 0.0, &fields)[0];
    assert_eq!(v, 30.0); // 2 u u_x
    let (two, ux) = (g.num(2.0), g.field(0, &[1, 0]));
    assert_eq!(d, g.mul_all(&[two, u, ux]));
    let zero = g.num(0.0);
    assert_eq!(g.diff(u2, p), Ok(zero)); // fields do not depend on parameters
                                         // d(u_x * y)/dy = u_xy * y + u_x
    let ye = g.symbol(y);
    let ux_y = g.mul(ux, ye);
    let d = g.diff(ux_y, y).unwrap();
    let v = g.eval(&[d], &|s| if s == y { 2.0 } else { 0.0 }, &fields)[0];
    assert_eq!(v, 7.0 * 2.0 + 5.0);
}

#[test]
fn exact_solution_substitution_gives_a_zero_residual() {
    let (mut g, [x, _, _], [xe, _, _]) = setup();
    g.set_field_name(0, "u");
    // residual of -u_xx = pi^2 sin(pi x)
    let pi = g.num(std::f64::consts::PI);
    let pi_x = g.mul(pi, xe);
    let sin = g.call(MathFn::Sin, pi_x);
    let pi2 = g.powi(pi, 2);
    let rhs = g.mul(pi2, sin);
    let uxx = g.field(0, &[2, 0]);
    let lhs = g.neg(uxx);
    let residual = g.sub(lhs, rhs);
    assert_eq!(g.display(residual), "-u_xx - 9.869604401089358*sin(pi*x)");
    let exact = sin;
    let substituted = g
        .substitute_fields(&[residual], &mut |g, _field, alpha| {
            let wrt = vec![x; usize::from(alpha[0])];
            g.diff_multi(exact, &wrt)
        })
        .unwrap();
    for x0 in [0.1, 0.37, 0.8] {
        let r = value_at(&g, substituted[0], &[x0, 0.0, 0.0]);
        assert!(r.abs() < 1e-12, "residual {r} at {x0}");
    }
    // expressions without fields are returned unchanged
    assert_eq!(
        g.substitute_fields::<SizeLimitExceeded>(&[rhs], &mut |_, _, _| unreachable!()),
        Ok(vec![rhs])
    );
}

#[test]
fn evaluator_is_reusable_across_points() {
    let (mut g, _, [xe, ye, _]) = setup();
    let xy = g.mul(xe, ye);
    let sin = g.call(MathFn::Sin, xy);
    let root = g.add(sin, xe);
    let mut evaluator = Evaluator::new(&g, &[root, xy]);
    assert_eq!(evaluator.tape_len(), g.count_reachable(&[root, xy]));
    for (a, b) in [(0.5, 2.0), (-1.0, 0.25), (3.0, -1.0)] {
        let point = [a, b, 0.0];
        let values = evaluator.eval(&|s| point[s.index()], &|_, _| 0.0).to_vec();
        assert_eq!(values, vec![(a * b).sin() + a, a * b]);
    }
}

#[test]
fn printer_uses_conventional_notation() {
    let (mut g, _, [x, y, p]) = setup();
    let (two, pi, one) = (g.num(2.0), g.num(std::f64::consts::PI), g.num(1.0));
    let pi_x = g.mul(pi, x);
    let sin = g.call(MathFn::Sin, pi_x);
    let e = g.mul_all(&[two, x, sin]);
    let e = g.neg(e);
    assert_eq!(g.display(e), "-2*x*sin(pi*x)");
    let cases: Vec<(ExprId, &str)> = vec![
        (g.sub(x, one), "x - 1"),
        (g.sub(one, x), "1 - x"),
        (g.div(x, y), "x/y"),
        (
            {
                let yp = g.mul(y, p);
                g.div(x, yp)
            },
            "x/(y*p)",
        ),
        (g.powi(x, -1), "1/x"),
        (
            {
                let x2 = g.powi(x, -2);
                g.mul(two, x2)
            },
            "2/x^2",
        ),
        (
            {
                let s = g.add(x, one);
                g.powi(s, 2)
            },
            "(x + 1)^2",
        ),
        (
            {
                let s = g.add(y, one);
                g.pow(x, s)
            },
            "x^(y + 1)",
        ),
        (
            {
                let s = g.add(x, one);
                g.div(y, s)
            },
            "y/(x + 1)",
        ),
        (
            {
                let m = g.neg(x);
                let h = g.num(0.5);
                g.pow(m, h)
            },
            "(-x)^0.5",
        ),
        (
            {
                let c = g.num(1e-7);
                g.mul(c, x)
            },
            "1e-7*x",
        ),
        (
            {
                let c = g.num(1.5);
                g.add(x, c)
            },
            "x + 1.5",
        ),
        (
            {
                let a = g.neg(x);
                g.sub(a, y)
            },
            "-x - y",
        ),
        (
            {
                let t = g.call(MathFn::Tanh, x);
                let t2 = g.powi(t, 2);
                g.sub(one, t2)
            },
            "1 - tanh(x)^2",
        ),
    ];
    for (e, expected) in cases {
        assert_eq!(g.display(e), expected);
    }
}

#[test]
fn printer_names_field_derivatives() {
    let (mut g, _, _) = setup();
    g.set_field_name(0, "u");
    let cases = [
        (vec![0, 0], "u"),
        (vec![2, 0], "u_xx"),
        (vec![1, 1], "u_xy"),
    ];
    for (alpha, expected) in cases {
        let f = g.field(0, &alpha);
        assert_eq!(g.display(f), expected);
    }
    let f = g.field(1, &[0, 1]);
    assert_eq!(g.display(f), "u1_y");
    let mut g = Graph::new();
    g.coordinate(0, "x1").unwrap();
    g.coordinate(1, "x2").unwrap();
    g.set_field_name(0, "v");
    let f = g.field(0, &[1, 2]);
    assert_eq!(g.display(f), "d(v, x1, x2, x2)");
}

#[test]
fn debug_listing_shows_one_node_per_line() {
    let mut g = Graph::new();
    let x = g.coordinate(0, "x").unwrap();
    let y = g.coordinate(1, "y").unwrap();
    let (xe, ye, two) = (g.symbol(x), g.symbol(y), g.num(2.0));
    let two_y = g.mul(two, ye);
    let sum = g.add(xe, two_y);
    let t = g.act(Activation::Tanh, sum);
    assert_eq!(
        g.debug_listing(&[t, sum]),
        "%0 = sym x\n%1 = sym y\n%2 = num 2\n%3 = mul %2 %1\n%4 = add %0 %3\n\
         %5 = act tanh %4\nroots: %5 %4\n"
    );
}

// ---------------------------------------------------------------------------
// Property tests against an independent tree representation.

/// A plain expression tree, evaluated naively as the reference.
#[derive(Clone, Debug)]
enum Tree {
    Num(f64),
    Var(usize),
    Add(Box<Tree>, Box<Tree>),
    Sub(Box<Tree>, Box<Tree>),
    Mul(Box<Tree>, Box<Tree>),
    Div(Box<Tree>, Box<Tree>),
    Powi(Box<Tree>, i32),
    Call(MathFn, Box<Tree>),
    Act(Activation, Box<Tree>),
}

fn tree_strategy() -> impl Strategy<Value = Tree> {
    let leaf = prop_oneof![
        (-3i32..=3).prop_map(|n| Tree::Num(f64::from(n))),
        (-2.0f64..2.0).prop_map(Tree::Num),
        (0usize..3).prop_map(Tree::Var),
        (0usize..3).prop_map(Tree::Var),
    ];
    leaf.prop_recursive(5, 40, 2, |inner| {
        let pair = (inner.clone(), inner.clone());
        prop_oneof![
            pair.clone()
                .prop_map(|(a, b)| Tree::Add(a.into(), b.into())),
            pair.clone()
                .prop_map(|(a, b)| Tree::Sub(a.into(), b.into())),
            pair.clone()
                .prop_map(|(a, b)| Tree::Mul(a.into(), b.into())),
            pair.prop_map(|(a, b)| Tree::Div(a.into(), b.into())),
            (inner.clone(), -3i32..=4).prop_map(|(a, n)| Tree::Powi(a.into(), n)),
            (
                prop::sample::select(vec![MathFn::Sin, MathFn::Cos, MathFn::Exp, MathFn::Tanh]),
                inner.clone()
            )
                .prop_map(|(f, a)| Tree::Call(f, a.into())),
            (prop::sample::select(Activation::ALL.to_vec()), inner)
                .prop_map(|(f, a)| Tree::Act(f, a.into())),
        ]
    })
}

/// Naive value and an error scale (a bound on how much rounding can move
/// the value, divided by machine epsilon, to first order). `None` where the
/// tree is near a pole or large, so that comparisons are meaningful.
fn naive(tree: &Tree, point: &[f64; 3]) -> Option<(f64, f64)> {
    let (value, scale) = match tree {
        Tree::Num(c) => (*c, c.abs()),
        Tree::Var(i) => (point[*i], point[*i].abs()),
        Tree::Add(a, b) | Tree::Sub(a, b) => {
            let ((a, sa), (b, sb)) = (naive(a, point)?, naive(b, point)?);
            let v = if matches!(tree, Tree::Add(..)) {
                a + b
            } else {
                a - b
            };
            (v, sa + sb + v.abs())
        }
        Tree::Mul(a, b) => {
            let ((a, sa), (b, sb)) = (naive(a, point)?, naive(b, point)?);
            (a * b, 2.0 * sa * sb + (a * b).abs())
        }
        Tree::Div(a, b) => {
            let ((a, sa), (b, sb)) = (naive(a, point)?, naive(b, point)?);
            if b.abs() < 1e-2 {
                return None;
            }
            (a / b, sa / b.abs() + a.abs() * sb / (b * b) + (a / b).abs())
        }
        Tree::Powi(a, n) => {
            let (a, sa) = naive(a, point)?;
            if *n < 0 && a.abs() < 1e-2 {
                return None;
            }
            let v = a.powi(*n);
            let slope = if *n == 0 {
                0.0
            } else {
                f64::from(n.abs()) * a.abs().powi(n - 1)
            };
            (v, slope * sa + v.abs())
        }
        Tree::Call(f, a) => {
            let (a, sa) = naive(a, point)?;
            let v = f.eval(a);
            let slope = if *f == MathFn::Exp { v } else { 1.0 };
            (v, slope * sa + v.abs())
        }
        Tree::Act(f, a) => {
            let (a, sa) = naive(a, point)?;
            let v = f.eval(a);
            (v, sa + v.abs())
        }
    };
    (value.is_finite() && value.abs() < 1e6 && scale < 1e8).then_some((value, scale))
}

/// Builds `tree` in `g` with the simplifying constructors; `mirror` swaps
/// the operands of every sum and product.
fn build(g: &mut Graph, vars: &[ExprId; 3], tree: &Tree, mirror: bool) -> ExprId {
    let pair = |g: &mut Graph, a: &Tree, b: &Tree| {
        let (a, b) = (build(g, vars, a, mirror), build(g, vars, b, mirror));
        if mirror {
            (b, a)
        } else {
            (a, b)
        }
    };
    match tree {
        Tree::Num(c) => g.num(*c),
        Tree::Var(i) => vars[*i],
        Tree::Add(a, b) => {
            let (a, b) = pair(g, a, b);
            g.add(a, b)
        }
        Tree::Mul(a, b) => {
            let (a, b) = pair(g, a, b);
            g.mul(a, b)
        }
        Tree::Sub(a, b) => {
            let (a, b) = (build(g, vars, a, mirror), build(g, vars, b, mirror));
            g.sub(a, b)
        }
        Tree::Div(a, b) => {
            let (a, b) = (build(g, vars, a, mirror), build(g, vars, b, mirror));
            g.div(a, b)
        }
        Tree::Powi(a, n) => {
            let a = build(g, vars, a, mirror);
            g.powi(a, *n)
        }
        Tree::Call(f, a) => {
            let a = build(g, vars, a, mirror);
            g.call(*f, a)
        }
        Tree::Act(f, a) => {
            let a = build(g, vars, a, mirror);
            g.act(*f, a)
        }
    }
}

fn point_strategy() -> impl Strategy<Value = [f64; 3]> {
    [-1.5f64..1.5, -1.5f64..1.5, -1.5f64..1.5]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn simplification_preserves_values(tree in tree_strategy(), point in point_strategy()) {
        let (mut g, _, vars) = setup();
        let e = build(&mut g, &vars, &tree, false);
        if let Some((expected, scale)) = naive(&tree, &point) {
            let got = value_at(&g, e, &point);
            prop_assert!(
                (got - expected).abs() <= 1e-9 * scale + 1e-300,
                "{} = {got}, naive {expected} (scale {scale})", g.display(e)
            );
        }
    }

    #[test]
    fn operand_order_does_not_change_the_id(tree in tree_strategy()) {
        let (mut g, _, vars) = setup();
        let e = build(&mut g, &vars, &tree, false);
        let mirrored = build(&mut g, &vars, &tree, true);
        prop_assert_eq!(e, mirrored, "{} vs {}", g.display(e), g.display(mirrored));
    }

    #[test]
    fn mixed_partial_derivatives_commute(tree in tree_strategy(), point in point_strategy()) {
        let (mut g, [x, y, _], vars) = setup();
        let e = build(&mut g, &vars, &tree, false);
        let dx = g.diff(e, x).unwrap();
        let dxy = g.diff(dx, y).unwrap();
        let dy = g.diff(e, y).unwrap();
        let dyx = g.diff(dy, x).unwrap();
        if naive(&tree, &point).is_some() {
            let (a, b) = (value_at(&g, dxy, &point), value_at(&g, dyx, &point));
            if a.is_finite() && b.is_finite() && a.abs().max(b.abs()) < 1e6 {
                prop_assert!(
                    (a - b).abs() <= 1e-8 * (1.0 + a.abs().max(b.abs())),
                    "{}: d/dy d/dx = {a}, d/dx d/dy = {b}", g.display(e)
                );
            }
        }
    }

    #[test]
    fn derivative_matches_finite_differences(
        tree in tree_strategy(),
        point in point_strategy(),
        coordinate in 0usize..2,
    ) {
        let (mut g, symbols, vars) = setup();
        let e = build(&mut g, &vars, &tree, false);
        let d = g.diff(e, symbols[coordinate]).unwrap();
        let shifted = |t: f64| {
            let mut p = point;
            p[coordinate] = t;
            naive(&tree, &p)
        };
        // all stencil points must be well inside the region `naive` accepts
        let x0 = point[coordinate];
        let samples: Option<Vec<(f64, f64)>> =
            (-6..=6).map(|k| shifted(x0 + f64::from(k) * 1e-3)).collect();
        if let Some(samples) = samples {
            let f = |t: f64| shifted(t).map_or(f64::NAN, |s| s.0);
            let scale = samples.iter().map(|s| s.1).fold(0.0, f64::max);
            let fine = stencil6(&f, x0, 1e-3);
            let coarse = stencil6(&f, x0, 2e-3);
            let estimate = (fine - coarse).abs() + 1e-12 * scale;
            // skip where the function is too rough for the stencil at this step
            if estimate <= 1e-5 * (1.0 + fine.abs()) {
                let got = value_at(&g, d, &point);
                prop_assert!(
                    (got - fine).abs() <= 1e-6 * (1.0 + fine.abs()) + 10.0 * estimate,
                    "d/d{} {} = {}: {got}, finite difference {fine}",
                    coordinate, g.display(e), g.display(d)
                );
            }
        }
    }
}
