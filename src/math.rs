//! The built-in scalar functions and activations, defined once.
//!
//! This is a leaf module shared by every stage: the checker resolves names
//! against [`MathFn::from_name`] and [`Activation::from_name`], the symbolic
//! stage differentiates them, the IR interpreter evaluates them with
//! [`MathFn::eval`], and the JIT imports the primal functions by
//! their names (`jit::symbols`). Adding a function means adding one arm to each `match`
//! in this file plus its derivative rule in `symbolic`.

use std::fmt;

/// A built-in function of one real argument (`sin(x)`, `tanh(x)`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MathFn {
    Sin,
    Cos,
    Tan,
    Exp,
    Log,
    Sqrt,
    Tanh,
    Sinh,
    Cosh,
    Abs,
}

impl MathFn {
    /// Every built-in function, in a fixed order (used for help texts and tests).
    pub const ALL: [MathFn; 10] = [
        MathFn::Sin,
        MathFn::Cos,
        MathFn::Tan,
        MathFn::Exp,
        MathFn::Log,
        MathFn::Sqrt,
        MathFn::Tanh,
        MathFn::Sinh,
        MathFn::Cosh,
        MathFn::Abs,
    ];

    /// The name users write in a `.pde` file.
    pub fn name(self) -> &'static str {
        match self {
            MathFn::Sin => "sin",
            MathFn::Cos => "cos",
            MathFn::Tan => "tan",
            MathFn::Exp => "exp",
            MathFn::Log => "log",
            MathFn::Sqrt => "sqrt",
            MathFn::Tanh => "tanh",
            MathFn::Sinh => "sinh",
            MathFn::Cosh => "cosh",
            MathFn::Abs => "abs",
        }
    }

    /// Looks a function up by its source name.
    pub fn from_name(name: &str) -> Option<MathFn> {
        MathFn::ALL.into_iter().find(|f| f.name() == name)
    }

    /// Number of arguments the function takes (all built-ins are unary).
    pub fn arity(self) -> usize {
        1
    }

    /// The reference value in f64 (the semantics every backend must match).
    pub fn eval(self, x: f64) -> f64 {
        match self {
            MathFn::Sin => x.sin(),
            MathFn::Cos => x.cos(),
            MathFn::Tan => x.tan(),
            MathFn::Exp => x.exp(),
            MathFn::Log => x.ln(),
            MathFn::Sqrt => x.sqrt(),
            MathFn::Tanh => x.tanh(),
            MathFn::Sinh => x.sinh(),
            MathFn::Cosh => x.cosh(),
            MathFn::Abs => x.abs(),
        }
    }
}

impl fmt::Display for MathFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The activation function of a neural-network ansatz, `act(w . x + b)`.
///
/// The symbolic stage expresses every derivative of an activation through the
/// activation's own value where possible (tanh' = 1 - tanh^2, sigmoid' =
/// s (1 - s)), so generated code evaluates one transcendental per neuron.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Activation {
    /// tanh(z)
    Tanh,
    /// sin(z)
    Sin,
    /// cos(z)
    Cos,
    /// 1 / (1 + exp(-z))
    Sigmoid,
    /// exp(-z^2)
    Gauss,
    /// log(1 + exp(z))
    Softplus,
}

impl Activation {
    /// Every activation, in a fixed order.
    pub const ALL: [Activation; 6] = [
        Activation::Tanh,
        Activation::Sin,
        Activation::Cos,
        Activation::Sigmoid,
        Activation::Gauss,
        Activation::Softplus,
    ];

    /// The name users write (`activation = tanh`).
    pub fn name(self) -> &'static str {
        match self {
            Activation::Tanh => "tanh",
            Activation::Sin => "sin",
            Activation::Cos => "cos",
            Activation::Sigmoid => "sigmoid",
            Activation::Gauss => "gauss",
            Activation::Softplus => "softplus",
        }
    }

    /// Looks an activation up by its source name.
    pub fn from_name(name: &str) -> Option<Activation> {
        Activation::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The reference value in f64.
    pub fn eval(self, z: f64) -> f64 {
        match self {
            Activation::Tanh => z.tanh(),
            Activation::Sin => z.sin(),
            Activation::Cos => z.cos(),
            Activation::Sigmoid => 1.0 / (1.0 + (-z).exp()),
            Activation::Gauss => (-z * z).exp(),
            // log(1 + e^z) computed without overflow for large z.
            Activation::Softplus => z.max(0.0) + (-z.abs()).exp().ln_1p(),
        }
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for f in MathFn::ALL {
            assert_eq!(MathFn::from_name(f.name()), Some(f));
        }
        for a in Activation::ALL {
            assert_eq!(Activation::from_name(a.name()), Some(a));
        }
        assert_eq!(MathFn::from_name("sigmoid"), None);
    }

    #[test]
    fn softplus_matches_naive_formula_where_that_is_safe() {
        for z in [-20.0, -1.5, 0.0, 0.3, 7.0, 30.0] {
            let naive = (1.0f64 + f64::exp(z)).ln();
            assert!((Activation::Softplus.eval(z) - naive).abs() <= 1e-14 * naive.max(1.0));
        }
        // and it does not overflow where the naive one does
        assert_eq!(Activation::Softplus.eval(1000.0), 1000.0);
    }
}
