//! The text form of a kernel (`pdec emit --stage ir`).

use std::fmt;

use super::{Access, BinaryOp, Index, Inst, Kernel, Stmt, UnaryOp};

impl fmt::Display for Index {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if self.point != 0 {
            parts.push(format!("i*{}", self.point));
        }
        if self.neuron != 0 {
            parts.push(format!("k*{}", self.neuron));
        }
        if self.offset != 0 || parts.is_empty() {
            parts.push(self.offset.to_string());
        }
        write!(f, "{}", parts.join(" + "))
    }
}

impl fmt::Display for Kernel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let arrays: Vec<String> = self
            .arrays
            .iter()
            .map(|a| {
                let access = match a.access {
                    Access::Input => "in",
                    Access::Output => "out",
                };
                format!("{access} {}", a.name)
            })
            .collect();
        writeln!(f, "kernel {}({}) {{", self.name, arrays.join(", "))?;
        writeln!(f, "  for i in points {{")?;
        self.block(f, &self.body, 4)?;
        writeln!(f, "  }}")?;
        writeln!(f, "}}")
    }
}

impl Kernel {
    fn block(&self, f: &mut fmt::Formatter<'_>, block: &[Stmt], indent: usize) -> fmt::Result {
        let pad = " ".repeat(indent);
        for stmt in block {
            match stmt {
                Stmt::Def(v, inst) => {
                    write!(f, "{pad}%{} = ", v.0)?;
                    match *inst {
                        Inst::Const(c) => writeln!(f, "const {c:?}")?,
                        Inst::Load { array, index } => {
                            writeln!(f, "load {}[{index}]", self.arrays[array.0 as usize].name)?
                        }
                        Inst::Unary(UnaryOp::Neg, a) => writeln!(f, "neg %{}", a.0)?,
                        Inst::Unary(UnaryOp::Call(m), a) => writeln!(f, "{} %{}", m.name(), a.0)?,
                        Inst::Binary(op, a, b) => {
                            let name = match op {
                                BinaryOp::Add => "add",
                                BinaryOp::Sub => "sub",
                                BinaryOp::Mul => "mul",
                                BinaryOp::Div => "div",
                                BinaryOp::Pow => "pow",
                            };
                            writeln!(f, "{name} %{}, %{}", a.0, b.0)?
                        }
                        Inst::Powi(a, n) => writeln!(f, "powi %{}, {n}", a.0)?,
                        Inst::Read(var) => writeln!(f, "read ${}", var.0)?,
                    }
                }
                Stmt::Store {
                    array,
                    index,
                    value,
                } => writeln!(
                    f,
                    "{pad}store {}[{index}] = %{}",
                    self.arrays[array.0 as usize].name, value.0
                )?,
                Stmt::Set(var, value) => writeln!(f, "{pad}${} = %{}", var.0, value.0)?,
                Stmt::ForNeurons(body) => {
                    writeln!(f, "{pad}for k in neurons {{")?;
                    self.block(f, body, indent + 2)?;
                    writeln!(f, "{pad}}}")?;
                }
            }
        }
        Ok(())
    }
}
