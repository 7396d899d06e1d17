//! The expression arena: node kinds, ids, symbols, the hash-cons index and
//! the node limit.
//!
//! Invariants (every other file of `symbolic` relies on them):
//! - The arena is append-only; an [`ExprId`] stays valid for the life of its
//!   [`Graph`] and always denotes the same [`Node`].
//! - Hash-consing: a structurally identical node is stored once, so equal ids
//!   mean equal expressions (and, thanks to the canonical forms built in
//!   `simplify.rs`, `a + b` and `b + a` get the same id).
//! - Every child id is smaller than its parent id, so visiting nodes in
//!   increasing id order is a topological order (children first). All
//!   traversals in this module are iterative and rely on this, so deep
//!   expressions never overflow the stack.
//! - `Num` nodes store an f64 by bits with `-0.0` normalized to `0.0`.

use std::collections::{HashMap, HashSet};
use std::fmt;

use crate::math::{Activation, MathFn};

/// Default upper bound on the number of nodes in a [`Graph`].
///
/// A node costs roughly 100 bytes (arena slot, hash-cons entry, operand
/// lists), so the default caps a graph at a few hundred megabytes. Repeated
/// differentiation of deep nests grows polynomially; this limit turns a
/// runaway into a [`SizeLimitExceeded`] error instead of exhausting memory.
pub const MAX_NODES: usize = 4_000_000;

/// Handle of a node in a [`Graph`] (its index in the arena).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExprId(u32);

impl ExprId {
    /// The arena index of this node; also its position in topological order.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for ExprId {
    /// Prints `%7`, the form used by [`Graph::debug_listing`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "%{}", self.0)
    }
}

/// Handle of a named scalar variable (a coordinate or a parameter).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SymbolId(u32);

impl SymbolId {
    /// Index of the symbol in its graph's symbol table (0, 1, 2, ... in
    /// order of declaration), handy for indexing a caller's value array.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// What a symbol stands for; decides how [`Node::Field`] differentiates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SymbolKind {
    /// Coordinate number `j` of the problem (x = 0, y = 1, ..., time last).
    /// Fields depend on coordinates: d(u)/d(coordinate j) is u with
    /// derivative count `alpha_j + 1`.
    Coordinate(usize),
    /// Any other scalar (network weights, biases, ...); fields do not depend
    /// on parameters.
    Parameter,
}

impl fmt::Display for SymbolKind {
    /// `coordinate 0` or `parameter`, for error messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SymbolKind::Coordinate(j) => write!(f, "coordinate {j}"),
            SymbolKind::Parameter => f.write_str("parameter"),
        }
    }
}

/// One node of the expression DAG. Operands are ids of earlier nodes.
///
/// Canonical forms (established by the simplifying constructors in
/// `simplify.rs`; [`Graph`] never builds `Add`/`Mul` any other way):
/// - `Add`: at least two operands, none of them an `Add`; at most one
///   numeric constant, stored first; the other terms sorted by id; like
///   terms (`c1*t + c2*t`) already collected.
/// - `Mul`: at least two operands, none of them a `Mul`; at most one
///   numeric coefficient (never 0 or 1), stored first; the other factors
///   sorted by id; powers of one base with numeric exponents merged.
///
/// Subtraction is `a + (-1)*b`, division `a * b^(-1)`, negation `(-1)*a`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Node {
    /// A numeric constant, as `f64::to_bits` (`-0.0` stored as `0.0`).
    /// Constant folding only ever produces finite values; a non-finite value
    /// appears only if a caller passes one to [`Graph::num`].
    Num(u64),
    /// A named scalar variable.
    Symbol(SymbolId),
    /// d^alpha u_field: `derivative[j]` = number of derivatives in coordinate
    /// `j` (all zeros = the value of the field). The field is a function of
    /// the first `derivative.len()` coordinates.
    Field {
        /// Number of the unknown field (index into the problem's unknowns).
        field: u32,
        /// Derivative count per coordinate (the multi-index alpha).
        derivative: Box<[u8]>,
    },
    /// Sum of the operands (n-ary, canonical order, see above).
    Add(Box<[ExprId]>),
    /// Product of the operands (n-ary, canonical order, see above).
    Mul(Box<[ExprId]>),
    /// `base ^ exponent` (f64 `powf` semantics).
    Pow(ExprId, ExprId),
    /// A built-in function applied to one argument.
    Call(MathFn, ExprId),
    /// A network activation applied to one argument.
    Act(Activation, ExprId),
}

impl Node {
    /// Calls `visit` on each operand id, in stored order.
    pub fn for_each_child(&self, mut visit: impl FnMut(ExprId)) {
        match self {
            Node::Num(_) | Node::Symbol(_) | Node::Field { .. } => {}
            Node::Add(ops) | Node::Mul(ops) => ops.iter().copied().for_each(visit),
            Node::Pow(base, exponent) => {
                visit(*base);
                visit(*exponent);
            }
            Node::Call(_, arg) | Node::Act(_, arg) => visit(*arg),
        }
    }

    /// The value of a `Num` node, `None` for every other kind.
    pub fn number(&self) -> Option<f64> {
        match self {
            Node::Num(bits) => Some(f64::from_bits(*bits)),
            _ => None,
        }
    }
}

/// An operation would grow the expression graph beyond what it allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SizeLimitExceeded {
    /// The graph holds more than `limit` nodes (see [`MAX_NODES`]).
    Nodes {
        /// The graph's node limit ([`Graph::node_limit`]).
        limit: usize,
    },
    /// A field derivative count would exceed 255 (the `u8` of
    /// [`Node::Field`]) in one coordinate.
    DerivativeOrder {
        /// The field being differentiated.
        field: u32,
        /// The coordinate whose derivative count would overflow.
        coordinate: usize,
    },
}

impl fmt::Display for SizeLimitExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SizeLimitExceeded::Nodes { limit } => write!(
                f,
                "the expression graph exceeds its limit of {limit} nodes \
                 (the derivatives requested are too large to build)"
            ),
            SizeLimitExceeded::DerivativeOrder { field, coordinate } => write!(
                f,
                "derivative of field {field} in coordinate {coordinate} \
                 would exceed order 255"
            ),
        }
    }
}

impl std::error::Error for SizeLimitExceeded {}

/// A symbol declaration contradicts an earlier one (same name with another
/// kind, or a coordinate index already named differently).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SymbolConflict {
    /// The name the caller asked for.
    pub requested_name: String,
    /// The kind the caller asked for.
    pub requested: SymbolKind,
    /// The name of the symbol already declared.
    pub existing_name: String,
    /// The kind of the symbol already declared.
    pub existing: SymbolKind,
}

impl fmt::Display for SymbolConflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot declare `{}` as {}: `{}` is already declared as {}",
            self.requested_name, self.requested, self.existing_name, self.existing
        )
    }
}

impl std::error::Error for SymbolConflict {}

/// Name and kind of one symbol.
#[derive(Clone, Debug)]
struct SymbolInfo {
    name: String,
    kind: SymbolKind,
}

/// A hash-consed, append-only DAG of scalar expressions.
///
/// Build expressions with the simplifying constructors ([`Graph::num`],
/// [`Graph::add`], [`Graph::mul`], [`Graph::call`], ...), differentiate with
/// [`Graph::diff`], substitute fields with [`Graph::substitute_fields`],
/// evaluate with [`Graph::eval`] or an [`super::Evaluator`], print with
/// [`Graph::display`].
///
/// The simple constructors are infallible; the node limit is enforced by the
/// operations that multiply size ([`Graph::diff`], [`Graph::diff_multi`],
/// [`Graph::substitute_fields`]), which check it before processing each node
/// and so overshoot it by at most the nodes one rule application creates.
#[derive(Clone, Debug)]
pub struct Graph {
    nodes: Vec<Node>,
    /// `constant[i]`: node `i` contains no symbol and no field.
    constant: Vec<bool>,
    index: HashMap<Node, ExprId>,
    symbols: Vec<SymbolInfo>,
    symbol_index: HashMap<String, SymbolId>,
    /// Coordinate index `j` -> the symbol declared for coordinate `j`.
    coordinate_symbols: HashMap<usize, SymbolId>,
    field_names: HashMap<u32, String>,
    /// Memoized derivatives: (expression, variable) -> derivative.
    pub(super) diff_cache: HashMap<(ExprId, SymbolId), ExprId>,
    node_limit: usize,
}

impl Default for Graph {
    /// An empty graph with the default limit [`MAX_NODES`].
    fn default() -> Graph {
        Graph::new()
    }
}

impl Graph {
    /// An empty graph with the default node limit [`MAX_NODES`].
    pub fn new() -> Graph {
        Graph::with_node_limit(MAX_NODES)
    }

    /// An empty graph that allows at most `limit` nodes (clamped to what a
    /// 32-bit [`ExprId`] can address); small limits are for tests.
    pub fn with_node_limit(limit: usize) -> Graph {
        Graph {
            nodes: Vec::new(),
            constant: Vec::new(),
            index: HashMap::new(),
            symbols: Vec::new(),
            symbol_index: HashMap::new(),
            coordinate_symbols: HashMap::new(),
            field_names: HashMap::new(),
            diff_cache: HashMap::new(),
            node_limit: limit.min(u32::MAX as usize),
        }
    }

    /// The maximum number of nodes this graph allows.
    pub fn node_limit(&self) -> usize {
        self.node_limit
    }

    /// Number of nodes stored (reachable or not).
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True before the first node is created.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The node behind an id. Ids are only created by their own graph;
    /// passing an id from another graph is a programming error.
    pub fn node(&self, id: ExprId) -> &Node {
        &self.nodes[id.index()]
    }

    /// The value of `id` if it is a numeric constant.
    pub fn number(&self, id: ExprId) -> Option<f64> {
        self.node(id).number()
    }

    /// True if `id` contains no symbol and no field. A constant expression
    /// that is not a `Num` node has a non-finite (or NaN) value somewhere,
    /// since finite constant operations are always folded; the simplifier
    /// therefore applies no algebraic identity to such expressions.
    pub fn is_constant(&self, id: ExprId) -> bool {
        self.constant[id.index()]
    }

    /// `Err` if the graph has grown beyond its node limit.
    pub fn check_size(&self) -> Result<(), SizeLimitExceeded> {
        if self.nodes.len() > self.node_limit {
            Err(SizeLimitExceeded::Nodes {
                limit: self.node_limit,
            })
        } else {
            Ok(())
        }
    }

    /// Returns the id of `node`, storing it first if it is new. Callers
    /// guarantee that the operands already exist (so they have smaller ids)
    /// and that `Add`/`Mul` are in canonical form.
    ///
    /// # Panics
    /// Only if more than `u32::MAX` nodes are created, which memory rules out
    /// long before (the fallible operations stop at [`Graph::node_limit`]).
    pub(super) fn intern(&mut self, node: Node) -> ExprId {
        if let Some(&id) = self.index.get(&node) {
            return id;
        }
        let id = ExprId(u32::try_from(self.nodes.len()).expect("more than u32::MAX nodes"));
        let constant = match &node {
            Node::Num(_) => true,
            Node::Symbol(_) | Node::Field { .. } => false,
            _ => {
                let mut all_constant = true;
                node.for_each_child(|child| all_constant &= self.constant[child.index()]);
                all_constant
            }
        };
        self.constant.push(constant);
        self.nodes.push(node.clone());
        self.index.insert(node, id);
        id
    }

    /// Declares (or looks up) coordinate number `index` named `name`.
    /// Interned by name: calling it again with the same name and index
    /// returns the same symbol; a different index for the name, or a
    /// different name for the index, or a parameter of that name, is a
    /// [`SymbolConflict`].
    pub fn coordinate(&mut self, index: usize, name: &str) -> Result<SymbolId, SymbolConflict> {
        let requested = SymbolKind::Coordinate(index);
        if let Some(existing) = self.coordinate_symbol(index) {
            if self.symbol_name(existing) != name {
                return Err(self.conflict(name, requested, existing));
            }
        }
        self.declare(name, requested)
    }

    /// Declares (or looks up) the parameter `name` (a network weight, a
    /// bias, ...). A coordinate of that name is a [`SymbolConflict`].
    pub fn parameter(&mut self, name: &str) -> Result<SymbolId, SymbolConflict> {
        self.declare(name, SymbolKind::Parameter)
    }

    fn declare(&mut self, name: &str, kind: SymbolKind) -> Result<SymbolId, SymbolConflict> {
        if let Some(&existing) = self.symbol_index.get(name) {
            return if self.symbols[existing.index()].kind == kind {
                Ok(existing)
            } else {
                Err(self.conflict(name, kind, existing))
            };
        }
        let id = SymbolId(u32::try_from(self.symbols.len()).expect("more than u32::MAX symbols"));
        self.symbols.push(SymbolInfo {
            name: name.to_string(),
            kind,
        });
        self.symbol_index.insert(name.to_string(), id);
        if let SymbolKind::Coordinate(j) = kind {
            self.coordinate_symbols.insert(j, id);
        }
        Ok(id)
    }

    fn conflict(&self, name: &str, requested: SymbolKind, existing: SymbolId) -> SymbolConflict {
        let info = &self.symbols[existing.index()];
        SymbolConflict {
            requested_name: name.to_string(),
            requested,
            existing_name: info.name.clone(),
            existing: info.kind,
        }
    }

    /// The name of a symbol (`"?"` for an id this graph did not create).
    pub fn symbol_name(&self, symbol: SymbolId) -> &str {
        self.symbols
            .get(symbol.index())
            .map_or("?", |info| info.name.as_str())
    }

    /// The kind of a symbol (`None` for an id this graph did not create).
    pub fn symbol_kind(&self, symbol: SymbolId) -> Option<SymbolKind> {
        self.symbols.get(symbol.index()).map(|info| info.kind)
    }

    /// Number of declared symbols; their ids have indices `0..symbol_count()`.
    pub fn symbol_count(&self) -> usize {
        self.symbols.len()
    }

    /// The symbol declared under `name`, if any.
    pub fn lookup_symbol(&self, name: &str) -> Option<SymbolId> {
        self.symbol_index.get(name).copied()
    }

    /// The symbol declared for coordinate number `index`, if any.
    pub fn coordinate_symbol(&self, index: usize) -> Option<SymbolId> {
        self.coordinate_symbols.get(&index).copied()
    }

    /// True when every declared coordinate name is one character, so that
    /// subscript derivatives such as `u_xy` are unambiguous.
    pub(super) fn coordinate_names_are_letters(&self) -> bool {
        self.coordinate_symbols
            .values()
            .all(|&s| self.symbol_name(s).chars().count() == 1)
    }

    /// The expression consisting of the variable `symbol`.
    pub fn symbol(&mut self, symbol: SymbolId) -> ExprId {
        self.intern(Node::Symbol(symbol))
    }

    /// The expression d^alpha u_field with `alpha = derivative` (derivative
    /// counts per coordinate; all zeros, or empty, = the field's value).
    /// Callers use one length, the number of coordinates, for all fields.
    pub fn field(&mut self, field: u32, derivative: &[u8]) -> ExprId {
        self.intern(Node::Field {
            field,
            derivative: derivative.into(),
        })
    }

    /// Sets the printed name of field number `field` (default `u<field>`).
    pub fn set_field_name(&mut self, field: u32, name: &str) {
        self.field_names.insert(field, name.to_string());
    }

    /// The printed name of field number `field`.
    pub fn field_name(&self, field: u32) -> String {
        self.field_names
            .get(&field)
            .cloned()
            .unwrap_or_else(|| format!("u{field}"))
    }

    /// Number of distinct nodes reachable from `roots` (the size of the DAG
    /// they span; shared subexpressions count once).
    pub fn count_reachable(&self, roots: &[ExprId]) -> usize {
        self.reachable_in_order(roots, |_| false).len()
    }

    /// The distinct nodes reachable from `roots`, sorted by id: a
    /// topological order (operands before the nodes that use them), the
    /// order in which to evaluate or emit code for them.
    pub fn topological_order(&self, roots: &[ExprId]) -> Vec<ExprId> {
        self.reachable_in_order(roots, |_| false)
    }

    /// The nodes reachable from `roots`, sorted by id (children before
    /// parents). Does not descend into (nor include) nodes for which `stop`
    /// is true. Iterative, so arbitrarily deep graphs are fine.
    pub(super) fn reachable_in_order(
        &self,
        roots: &[ExprId],
        stop: impl Fn(ExprId) -> bool,
    ) -> Vec<ExprId> {
        let mut seen = HashSet::new();
        let mut stack = Vec::new();
        for &root in roots {
            if !stop(root) && seen.insert(root) {
                stack.push(root);
            }
        }
        let mut order = Vec::new();
        while let Some(id) = stack.pop() {
            order.push(id);
            self.node(id).for_each_child(|child| {
                if !stop(child) && seen.insert(child) {
                    stack.push(child);
                }
            });
        }
        order.sort_unstable();
        order
    }
}
