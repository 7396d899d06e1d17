//! The host functions compiled kernels call: one `extern "C"` shim per
//! [`MathFn`] plus `pow`, registered with the JIT by explicit address (never
//! looked up with `dlsym`), so the machine code calls exactly the Rust functions
//! (`std`, and `libm` for erf and the Bessel functions) the interpreter
//! evaluates.

use crate::math::MathFn;

/// The import symbol of `pow(a, b)` (`f64::powf`).
pub(super) const POW: &str = "pdec_pow";

/// The import symbol of a math function.
pub(super) fn symbol(f: MathFn) -> &'static str {
    match f {
        MathFn::Sin => "pdec_sin",
        MathFn::Cos => "pdec_cos",
        MathFn::Tan => "pdec_tan",
        MathFn::Exp => "pdec_exp",
        MathFn::Log => "pdec_log",
        MathFn::Sqrt => "pdec_sqrt",
        MathFn::Tanh => "pdec_tanh",
        MathFn::Sinh => "pdec_sinh",
        MathFn::Cosh => "pdec_cosh",
        MathFn::Abs => "pdec_abs",
        MathFn::Sign => "pdec_sign",
        MathFn::Erf => "pdec_erf",
        MathFn::Erfc => "pdec_erfc",
        MathFn::BesselJ0 => "pdec_besselj0",
        MathFn::BesselJ1 => "pdec_besselj1",
        MathFn::BesselY0 => "pdec_bessely0",
        MathFn::BesselY1 => "pdec_bessely1",
        MathFn::BesselJ1Scaled => "pdec_besselj1_over_x",
        MathFn::BesselJ2Scaled => "pdec_besselj2_over_x2",
        MathFn::BesselJ3Scaled => "pdec_besselj3_over_x3",
    }
}

macro_rules! shims {
    ($($name:ident => $f:ident),* $(,)?) => {
        $(
            extern "C" fn $name(x: f64) -> f64 {
                MathFn::$f.eval(x)
            }
        )*
    };
}

shims! {
    shim_sin => Sin,
    shim_cos => Cos,
    shim_tan => Tan,
    shim_exp => Exp,
    shim_log => Log,
    shim_sqrt => Sqrt,
    shim_tanh => Tanh,
    shim_sinh => Sinh,
    shim_cosh => Cosh,
    shim_abs => Abs,
    shim_sign => Sign,
    shim_erf => Erf,
    shim_erfc => Erfc,
    shim_besselj0 => BesselJ0,
    shim_besselj1 => BesselJ1,
    shim_bessely0 => BesselY0,
    shim_bessely1 => BesselY1,
    shim_besselj1_over_x => BesselJ1Scaled,
    shim_besselj2_over_x2 => BesselJ2Scaled,
    shim_besselj3_over_x3 => BesselJ3Scaled,
}

extern "C" fn shim_pow(a: f64, b: f64) -> f64 {
    a.powf(b)
}

/// The host implementation of a math function, with the C ABI.
pub(super) fn shim(f: MathFn) -> extern "C" fn(f64) -> f64 {
    match f {
        MathFn::Sin => shim_sin,
        MathFn::Cos => shim_cos,
        MathFn::Tan => shim_tan,
        MathFn::Exp => shim_exp,
        MathFn::Log => shim_log,
        MathFn::Sqrt => shim_sqrt,
        MathFn::Tanh => shim_tanh,
        MathFn::Sinh => shim_sinh,
        MathFn::Cosh => shim_cosh,
        MathFn::Abs => shim_abs,
        MathFn::Sign => shim_sign,
        MathFn::Erf => shim_erf,
        MathFn::Erfc => shim_erfc,
        MathFn::BesselJ0 => shim_besselj0,
        MathFn::BesselJ1 => shim_besselj1,
        MathFn::BesselY0 => shim_bessely0,
        MathFn::BesselY1 => shim_bessely1,
        MathFn::BesselJ1Scaled => shim_besselj1_over_x,
        MathFn::BesselJ2Scaled => shim_besselj2_over_x2,
        MathFn::BesselJ3Scaled => shim_besselj3_over_x3,
    }
}

/// Every symbol compiled code may import, with its address.
pub(super) fn table() -> Vec<(&'static str, *const u8)> {
    let mut table: Vec<(&'static str, *const u8)> = MathFn::ALL
        .into_iter()
        .map(|f| (symbol(f), shim(f) as *const u8))
        .collect();
    table.push((POW, shim_pow as extern "C" fn(f64, f64) -> f64 as *const u8));
    table
}
