//! Shapes of spatial domains beyond boxes: primitives (rectangles and
//! boxes, disks and balls, polygons) combined by union, difference and
//! intersection, with named boundary pieces.
//!
//! A leaf module (like `math`): the checker builds a [`Shape`], the sampler
//! draws points from it, the exact-solution check and the reports mask by
//! it. Nothing here reads files or knows the language.
//!
//! - Membership: [`Shape::contains`] evaluates the set expression on the
//!   primitives' closed sets (with a tolerance of 1e-12 times the shape's
//!   size, so points on a boundary count as inside).
//! - Boundary: every primitive's boundary is cut into *sides* (a rectangle
//!   has 2d, a polygon one per edge, a disk or ball one). A side has an
//!   exact outward unit normal n(x) = `A x + c` (affine: constant on flat
//!   sides, (x - center)/r on spheres) and a parametrization uniform in arc
//!   length or area. A point p of a side lies on the domain's boundary when
//!   exactly one of p - delta n and p + delta n is inside the shape
//!   (delta = 1e-7 times the size); the domain's outward normal there is n
//!   when the inside is at p - delta n, else -n. This one test covers every
//!   combination, including shared edges of a union (not boundary) and the
//!   rim of a hole (normal pointing into the hole).

use crate::random::SeededRng;

/// A primitive shape in d = 2 or 3 dimensions.
#[derive(Clone, Debug, PartialEq)]
pub enum Primitive {
    /// `rect([x0, x1], [y0, y1])` or `box(..., [z0, z1])`: lo < hi per coordinate.
    Rect { lo: Vec<f64>, hi: Vec<f64> },
    /// `disk(center, r)` (2-D) or `ball(center, r)` (3-D).
    Ball { center: Vec<f64>, radius: f64 },
    /// `polygon(v1, v2, ...)` (2-D), vertices counter-clockwise (the
    /// checker reorders clockwise input), simple.
    Polygon { vertices: Vec<[f64; 2]> },
}

/// The set expression of a shape over its primitives.
#[derive(Clone, Debug, PartialEq)]
pub enum ShapeNode {
    /// Primitive number `i` of [`Shape::primitives`].
    Primitive(usize),
    Union(Box<ShapeNode>, Box<ShapeNode>),
    Difference(Box<ShapeNode>, Box<ShapeNode>),
    Intersection(Box<ShapeNode>, Box<ShapeNode>),
}

/// One primitive of a shape, with the names of the `shape` statements it
/// belongs to (innermost first): `bc ... on NAME` selects its sides.
#[derive(Clone, Debug, PartialEq)]
pub struct PrimitiveEntry {
    pub primitive: Primitive,
    pub names: Vec<String>,
    /// How the source wrote it (`disk([0, 0], 0.5)`), for summaries.
    pub text: String,
}

/// A spatial domain: the set expression and its primitives.
#[derive(Clone, Debug, PartialEq)]
pub struct Shape {
    pub dims: usize,
    pub primitives: Vec<PrimitiveEntry>,
    pub root: ShapeNode,
    /// The bounding box of the shape's primitives (the coordinates'
    /// intervals).
    pub bounds: Vec<(f64, f64)>,
    /// How the source wrote the domain, for summaries.
    pub text: String,
}

/// One side of a primitive's boundary: `side` numbers the sides of
/// primitive `primitive` (rect: 2c for x_c = lo, 2c + 1 for x_c = hi;
/// polygon: edge from vertex `side` to the next; ball: 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Side {
    pub primitive: usize,
    pub side: usize,
}

/// An affine outward normal n(x) = `linear` x + `constant` (one row per
/// component).
#[derive(Clone, Debug, PartialEq)]
pub struct AffineNormal {
    pub constant: Vec<f64>,
    /// `linear[j][k]`: coefficient of x_k in n_j; a missing row is zero
    /// (flat sides in high dimensions keep no d x d matrix).
    pub linear: Vec<Vec<f64>>,
}

impl AffineNormal {
    /// n(p).
    pub fn at(&self, p: &[f64]) -> Vec<f64> {
        self.constant
            .iter()
            .enumerate()
            .map(|(j, c)| {
                let row = self.linear.get(j).map_or(&[][..], Vec::as_slice);
                c + row.iter().zip(p).map(|(a, x)| a * x).sum::<f64>()
            })
            .collect()
    }

    /// -n.
    pub fn flipped(&self) -> AffineNormal {
        AffineNormal {
            constant: self.constant.iter().map(|c| -c).collect(),
            linear: self
                .linear
                .iter()
                .map(|row| row.iter().map(|a| -a).collect())
                .collect(),
        }
    }
}

impl Primitive {
    /// Whether `p` is in the closed set, within `tol`.
    pub fn contains(&self, p: &[f64], tol: f64) -> bool {
        match self {
            Primitive::Rect { lo, hi } => p
                .iter()
                .zip(lo.iter().zip(hi))
                .all(|(x, (l, h))| *x >= l - tol && *x <= h + tol),
            Primitive::Ball { center, radius } => {
                let r2: f64 = p.iter().zip(center).map(|(x, c)| (x - c) * (x - c)).sum();
                r2.sqrt() <= radius + tol
            }
            Primitive::Polygon { vertices } => {
                if polygon_distance(vertices, p) <= tol {
                    return true;
                }
                // Even-odd crossing number.
                let mut inside = false;
                let n = vertices.len();
                for i in 0..n {
                    let (a, b) = (vertices[i], vertices[(i + 1) % n]);
                    if (a[1] > p[1]) != (b[1] > p[1]) {
                        let x = a[0] + (p[1] - a[1]) * (b[0] - a[0]) / (b[1] - a[1]);
                        if p[0] < x {
                            inside = !inside;
                        }
                    }
                }
                inside
            }
        }
    }

    /// The bounding box.
    pub fn bounds(&self) -> Vec<(f64, f64)> {
        match self {
            Primitive::Rect { lo, hi } => lo.iter().copied().zip(hi.iter().copied()).collect(),
            Primitive::Ball { center, radius } => {
                center.iter().map(|c| (c - radius, c + radius)).collect()
            }
            Primitive::Polygon { vertices } => (0..2)
                .map(|j| {
                    let lo = vertices.iter().map(|v| v[j]).fold(f64::INFINITY, f64::min);
                    let hi = vertices
                        .iter()
                        .map(|v| v[j])
                        .fold(f64::NEG_INFINITY, f64::max);
                    (lo, hi)
                })
                .collect(),
        }
    }

    /// Number of sides.
    pub fn sides(&self) -> usize {
        match self {
            Primitive::Rect { lo, .. } => 2 * lo.len(),
            Primitive::Ball { .. } => 1,
            Primitive::Polygon { vertices } => vertices.len(),
        }
    }

    /// Exact area (2-D) or volume (3-D).
    pub fn measure(&self) -> f64 {
        match self {
            Primitive::Rect { lo, hi } => lo.iter().zip(hi).map(|(l, h)| h - l).product(),
            Primitive::Ball { center, radius } => match center.len() {
                2 => std::f64::consts::PI * radius * radius,
                3 => 4.0 / 3.0 * std::f64::consts::PI * radius.powi(3),
                d => ball_volume(d, *radius),
            },
            Primitive::Polygon { vertices } => polygon_signed_area(vertices).abs(),
        }
    }

    /// Length (2-D) or area (3-D) of side `side`.
    pub fn side_measure(&self, side: usize) -> f64 {
        match self {
            Primitive::Rect { lo, hi } => (0..lo.len())
                .filter(|&k| k != side / 2)
                .map(|k| hi[k] - lo[k])
                .product(),
            Primitive::Ball { center, radius } => match center.len() {
                2 => 2.0 * std::f64::consts::PI * radius,
                3 => 4.0 * std::f64::consts::PI * radius * radius,
                d => d as f64 * ball_volume(d, *radius) / radius,
            },
            Primitive::Polygon { vertices } => {
                let (a, b) = (vertices[side], vertices[(side + 1) % vertices.len()]);
                ((b[0] - a[0]).powi(2) + (b[1] - a[1]).powi(2)).sqrt()
            }
        }
    }

    /// The point of side `side` at parameters `u` in [0, 1]^(d-1); uniform
    /// `u` gives points uniform in arc length or area (a sphere by
    /// Archimedes' z = 1 - 2u).
    pub fn side_point(&self, side: usize, u: &[f64]) -> Vec<f64> {
        match self {
            Primitive::Rect { lo, hi } => {
                let c = side / 2;
                let mut k = 0;
                (0..lo.len())
                    .map(|j| {
                        if j == c {
                            if side % 2 == 0 {
                                lo[j]
                            } else {
                                hi[j]
                            }
                        } else {
                            let v = lo[j] + (hi[j] - lo[j]) * u[k];
                            k += 1;
                            v
                        }
                    })
                    .collect()
            }
            Primitive::Ball { center, radius } => {
                let direction = match center.len() {
                    2 => {
                        let a = 2.0 * std::f64::consts::PI * u[0];
                        vec![a.cos(), a.sin()]
                    }
                    d if d > 3 => {
                        // A point of the sphere (not uniform in u: the
                        // sampler draws sphere points above 3-D directly).
                        let mut v: Vec<f64> = u.iter().map(|x| 2.0 * x - 1.0).collect();
                        v.resize(d, 0.5);
                        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
                        v.iter().map(|x| x / norm).collect()
                    }
                    _ => {
                        let z = 1.0 - 2.0 * u[0];
                        let s = (1.0 - z * z).max(0.0).sqrt();
                        let a = 2.0 * std::f64::consts::PI * u[1];
                        vec![s * a.cos(), s * a.sin(), z]
                    }
                };
                center
                    .iter()
                    .zip(direction)
                    .map(|(c, d)| c + radius * d)
                    .collect()
            }
            Primitive::Polygon { vertices } => {
                let (a, b) = (vertices[side], vertices[(side + 1) % vertices.len()]);
                vec![a[0] + (b[0] - a[0]) * u[0], a[1] + (b[1] - a[1]) * u[0]]
            }
        }
    }

    /// The outward unit normal of side `side`, exact, as an affine map.
    pub fn side_normal(&self, side: usize) -> AffineNormal {
        let d = match self {
            Primitive::Rect { lo, .. } => lo.len(),
            Primitive::Ball { center, .. } => center.len(),
            Primitive::Polygon { .. } => 2,
        };
        let mut constant = vec![0.0; d];
        let mut linear = vec![vec![0.0; d]; d];
        match self {
            Primitive::Rect { .. } => {
                constant[side / 2] = if side % 2 == 0 { -1.0 } else { 1.0 };
            }
            Primitive::Ball { center, radius } => {
                for j in 0..d {
                    linear[j][j] = 1.0 / radius;
                    constant[j] = -center[j] / radius;
                }
            }
            Primitive::Polygon { vertices } => {
                // Counter-clockwise: the outward normal of edge a -> b is
                // (b - a) turned clockwise.
                let (a, b) = (vertices[side], vertices[(side + 1) % vertices.len()]);
                let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
                let length = (dx * dx + dy * dy).sqrt();
                constant[0] = dy / length;
                constant[1] = -dx / length;
            }
        }
        AffineNormal { constant, linear }
    }

    /// A short description of side `side` for messages (`x = -1`, `edge 2`).
    pub fn side_label(&self, side: usize, coordinates: &[String]) -> Option<String> {
        match self {
            Primitive::Rect { lo, hi } => {
                let c = side / 2;
                let v = if side % 2 == 0 { lo[c] } else { hi[c] };
                Some(format!("{} = {}", coordinates[c], crate::check::fmt_num(v)))
            }
            Primitive::Ball { .. } => None,
            Primitive::Polygon { .. } => Some(format!("edge {}", side + 1)),
        }
    }
}

/// The volume of a d-ball of radius r, pi^(d/2) r^d / Gamma(d/2 + 1)
/// (by logarithms, so that it underflows to 0 rather than to NaN).
pub fn ball_volume(d: usize, r: f64) -> f64 {
    let half = d as f64 / 2.0;
    (half * std::f64::consts::PI.ln() + d as f64 * r.ln() - libm::lgamma(half + 1.0)).exp()
}

/// Twice-signed area / 2 of a polygon (positive when counter-clockwise).
pub fn polygon_signed_area(vertices: &[[f64; 2]]) -> f64 {
    let n = vertices.len();
    (0..n)
        .map(|i| {
            let (a, b) = (vertices[i], vertices[(i + 1) % n]);
            a[0] * b[1] - b[0] * a[1]
        })
        .sum::<f64>()
        / 2.0
}

/// The first pair of edges (i < j, edge i from vertex i to i + 1) that
/// cross or touch, other than neighbours sharing their vertex; `None` for
/// a simple polygon.
pub fn polygon_crossing(vertices: &[[f64; 2]]) -> Option<(usize, usize)> {
    let n = vertices.len();
    let cross = |o: [f64; 2], a: [f64; 2], b: [f64; 2]| {
        (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])
    };
    let on_segment = |a: [f64; 2], b: [f64; 2], p: [f64; 2]| {
        p[0] >= a[0].min(b[0])
            && p[0] <= a[0].max(b[0])
            && p[1] >= a[1].min(b[1])
            && p[1] <= a[1].max(b[1])
    };
    let meet = |a: [f64; 2], b: [f64; 2], c: [f64; 2], d: [f64; 2]| {
        let (d1, d2) = (cross(c, d, a), cross(c, d, b));
        let (d3, d4) = (cross(a, b, c), cross(a, b, d));
        if ((d1 > 0.0 && d2 < 0.0) || (d1 < 0.0 && d2 > 0.0))
            && ((d3 > 0.0 && d4 < 0.0) || (d3 < 0.0 && d4 > 0.0))
        {
            return true;
        }
        (d1 == 0.0 && on_segment(c, d, a))
            || (d2 == 0.0 && on_segment(c, d, b))
            || (d3 == 0.0 && on_segment(a, b, c))
            || (d4 == 0.0 && on_segment(a, b, d))
    };
    for i in 0..n {
        for j in i + 1..n {
            if j == i + 1 || (i == 0 && j == n - 1) {
                continue;
            }
            let (a, b) = (vertices[i], vertices[(i + 1) % n]);
            let (c, d) = (vertices[j], vertices[(j + 1) % n]);
            if meet(a, b, c, d) {
                return Some((i, j));
            }
        }
    }
    None
}

/// Distance from `p` to the polygon's edges.
fn polygon_distance(vertices: &[[f64; 2]], p: &[f64]) -> f64 {
    let n = vertices.len();
    (0..n)
        .map(|i| {
            let (a, b) = (vertices[i], vertices[(i + 1) % n]);
            let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
            let t =
                (((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / (dx * dx + dy * dy)).clamp(0.0, 1.0);
            ((p[0] - a[0] - t * dx).powi(2) + (p[1] - a[1] - t * dy).powi(2)).sqrt()
        })
        .fold(f64::INFINITY, f64::min)
}

impl ShapeNode {
    fn contains(&self, primitives: &[PrimitiveEntry], p: &[f64], tol: f64) -> bool {
        match self {
            ShapeNode::Primitive(i) => primitives[*i].primitive.contains(p, tol),
            ShapeNode::Union(a, b) => {
                a.contains(primitives, p, tol) || b.contains(primitives, p, tol)
            }
            ShapeNode::Intersection(a, b) => {
                a.contains(primitives, p, tol) && b.contains(primitives, p, tol)
            }
            // Closed minus open: the rim of a hole belongs to the domain.
            ShapeNode::Difference(a, b) => {
                a.contains(primitives, p, tol) && !b.contains(primitives, p, -tol)
            }
        }
    }
}

/// Where a boundary point lies and the domain's outward normal there.
#[derive(Clone, Debug, PartialEq)]
pub struct BoundaryPoint {
    pub point: Vec<f64>,
    pub side: Side,
}

impl Shape {
    /// The largest extent of the bounding box.
    pub fn size(&self) -> f64 {
        self.bounds.iter().map(|(l, h)| h - l).fold(0.0, f64::max)
    }

    /// Whether the spatial point `p` is in the (closed) domain.
    pub fn contains(&self, p: &[f64]) -> bool {
        self.root
            .contains(&self.primitives, &p[..self.dims], 1e-12 * self.size())
    }

    /// Names a side for messages: the innermost `shape` name of its
    /// primitive (else the primitive as written), and which side of it
    /// (`outer (x = 1)`, `hole`, `l (edge 2)`).
    pub fn side_description(&self, side: Side, coordinates: &[String]) -> String {
        let entry = &self.primitives[side.primitive];
        let name = entry
            .names
            .first()
            .cloned()
            .unwrap_or_else(|| entry.text.clone());
        match entry.primitive.side_label(side.side, coordinates) {
            Some(label) => format!("{name} ({label})"),
            None => name,
        }
    }

    /// Every side of every primitive, in order.
    pub fn all_sides(&self) -> Vec<Side> {
        let mut sides = Vec::new();
        for (i, e) in self.primitives.iter().enumerate() {
            for s in 0..e.primitive.sides() {
                sides.push(Side {
                    primitive: i,
                    side: s,
                });
            }
        }
        sides
    }

    /// The sides of the primitives that belong to `shape NAME`.
    pub fn sides_named(&self, name: &str) -> Vec<Side> {
        self.all_sides()
            .into_iter()
            .filter(|s| self.primitives[s.primitive].names.iter().any(|n| n == name))
            .collect()
    }

    /// Whether the point `p` of side `side` lies on the domain's boundary;
    /// if so, the sign (+1 or -1) that turns the primitive's outward
    /// normal into the domain's.
    pub fn boundary_orientation(&self, side: Side, p: &[f64]) -> Option<f64> {
        let primitive = &self.primitives[side.primitive].primitive;
        let n = primitive.side_normal(side.side).at(p);
        let delta = 1e-7 * self.size();
        let shifted = |s: f64| -> Vec<f64> { p.iter().zip(&n).map(|(x, v)| x + s * v).collect() };
        let inner = self.contains(&shifted(-delta));
        let outer = self.contains(&shifted(delta));
        match (inner, outer) {
            (true, false) => Some(1.0),
            (false, true) => Some(-1.0),
            _ => None,
        }
    }

    /// The sign of the domain's outward normal relative to the side's own
    /// (constant along a side of a regular shape): the orientation at the
    /// first of a few probe points of the side that lies on the boundary.
    pub fn side_orientation(&self, side: Side) -> Option<f64> {
        let primitive = &self.primitives[side.primitive].primitive;
        let dims = self.dims;
        (1..64).find_map(|j| {
            let u: Vec<f64> = (0..dims - 1)
                .map(|k| {
                    ((j as f64) * [0.618_033_988_7, 0.754_877_666_2][k % 2] + k as f64 * 0.1)
                        .fract()
                })
                .collect();
            self.boundary_orientation(side, &primitive.side_point(side.side, &u))
        })
    }

    /// Exact area (2-D) or volume (3-D) when the shape is one primitive or
    /// a difference of a primitive and primitives inside it; otherwise
    /// `None` (the estimate [`Shape::measure_estimate`] still applies).
    pub fn exact_measure(&self) -> Option<f64> {
        fn node(shape: &Shape, n: &ShapeNode) -> Option<f64> {
            match n {
                ShapeNode::Primitive(i) => Some(shape.primitives[*i].primitive.measure()),
                ShapeNode::Difference(a, b) => {
                    // Exact only when b lies inside a.
                    let inner = node(shape, b)?;
                    let outer = node(shape, a)?;
                    let ShapeNode::Primitive(j) = **b else {
                        return None;
                    };
                    // b inside a: every corner of b's bounding box is in a.
                    let bounds = shape.primitives[j].primitive.bounds();
                    let corners_inside = (0..1usize << bounds.len()).all(|mask| {
                        let p: Vec<f64> = bounds
                            .iter()
                            .enumerate()
                            .map(|(k, (l, h))| if mask >> k & 1 == 0 { *l } else { *h })
                            .collect();
                        a.contains(&shape.primitives, &p, 0.0)
                    });
                    corners_inside.then_some(outer - inner)
                }
                _ => None,
            }
        }
        node(self, &self.root)
    }

    /// Monte Carlo estimate of the area or volume from `n` uniform points
    /// of the bounding box (seeded).
    pub fn measure_estimate(&self, n: usize, seed: u64) -> f64 {
        let mut rng = SeededRng::new(seed, 7);
        let box_measure: f64 = self.bounds.iter().map(|(l, h)| h - l).product();
        let mut p = vec![0.0; self.dims];
        let mut hits = 0usize;
        for _ in 0..n {
            for (x, (l, h)) in p.iter_mut().zip(&self.bounds) {
                *x = rng.uniform_in(*l, *h);
            }
            hits += usize::from(self.contains(&p));
        }
        box_measure * hits as f64 / n as f64
    }

    /// The length (2-D) or area (3-D) of the part of `side` on the domain's
    /// boundary, estimated from `n` uniform points of the side.
    pub fn side_boundary_measure(&self, side: Side, n: usize, seed: u64) -> f64 {
        let primitive = &self.primitives[side.primitive].primitive;
        let mut rng = SeededRng::new(seed, 8 + side.primitive as u64 * 64 + side.side as u64);
        let mut u = vec![0.0; self.dims - 1];
        let mut kept = 0usize;
        for _ in 0..n {
            for v in u.iter_mut() {
                *v = rng.uniform_in(0.0, 1.0);
            }
            let p = primitive.side_point(side.side, &u);
            kept += usize::from(self.boundary_orientation(side, &p).is_some());
        }
        primitive.side_measure(side.side) * kept as f64 / n as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(primitive: Primitive, name: &str) -> PrimitiveEntry {
        PrimitiveEntry {
            primitive,
            names: vec![name.to_string()],
            text: String::new(),
        }
    }

    /// [-1, 1]^2 minus the disk of radius 0.5 at the origin.
    fn square_with_hole() -> Shape {
        Shape {
            dims: 2,
            primitives: vec![
                entry(
                    Primitive::Rect {
                        lo: vec![-1.0, -1.0],
                        hi: vec![1.0, 1.0],
                    },
                    "outer",
                ),
                entry(
                    Primitive::Ball {
                        center: vec![0.0, 0.0],
                        radius: 0.5,
                    },
                    "hole",
                ),
            ],
            root: ShapeNode::Difference(
                Box::new(ShapeNode::Primitive(0)),
                Box::new(ShapeNode::Primitive(1)),
            ),
            bounds: vec![(-1.0, 1.0), (-1.0, 1.0)],
            text: String::new(),
        }
    }

    /// The L-shape [0, 2]^2 minus [1, 2]^2 as the union of two rectangles
    /// sharing the edge x in [0, 1], y = 1.
    fn l_shape_union() -> Shape {
        let rect = |lo: [f64; 2], hi: [f64; 2]| Primitive::Rect {
            lo: lo.to_vec(),
            hi: hi.to_vec(),
        };
        Shape {
            dims: 2,
            primitives: vec![
                entry(rect([0.0, 0.0], [2.0, 1.0]), "a"),
                entry(rect([0.0, 1.0], [1.0, 2.0]), "b"),
            ],
            root: ShapeNode::Union(
                Box::new(ShapeNode::Primitive(0)),
                Box::new(ShapeNode::Primitive(1)),
            ),
            bounds: vec![(0.0, 2.0), (0.0, 2.0)],
            text: String::new(),
        }
    }

    #[test]
    fn area_and_perimeter_estimates_match_the_exact_values() {
        let shape = square_with_hole();
        let exact_area = 4.0 - std::f64::consts::PI * 0.25;
        assert!((shape.exact_measure().unwrap() - exact_area).abs() < 1e-15);
        let estimate = shape.measure_estimate(200_000, 1);
        // Binomial standard error of the hit fraction: sqrt(p (1-p) / n) * 4 ~ 0.004.
        assert!(
            (estimate - exact_area).abs() < 0.015,
            "{estimate} vs {exact_area}"
        );
        let perimeter: f64 = shape
            .all_sides()
            .into_iter()
            .map(|s| shape.side_boundary_measure(s, 4000, 2))
            .sum();
        let exact = 8.0 + std::f64::consts::PI;
        assert!((perimeter - exact).abs() < 1e-12, "{perimeter} vs {exact}");

        // The union's shared edge is interior: perimeter 8, not 10.
        let l = l_shape_union();
        let perimeter: f64 = l
            .all_sides()
            .into_iter()
            .map(|s| l.side_boundary_measure(s, 4000, 3))
            .sum();
        // The sides that are partly boundary are cut at their midpoints,
        // so the estimate is binomial: within 5 standard errors.
        assert!((perimeter - 8.0).abs() < 0.1, "{perimeter}");
        let area = l.measure_estimate(200_000, 4);
        assert!((area - 3.0).abs() < 0.02, "{area}");
    }

    #[test]
    fn normals_are_unit_outward_and_flip_on_holes() {
        let shape = square_with_hole();
        // Hole: the domain's normal points to the disk's center.
        let hole = Side {
            primitive: 1,
            side: 0,
        };
        assert_eq!(shape.side_orientation(hole), Some(-1.0));
        let p = shape.primitives[1].primitive.side_point(0, &[0.125]);
        let n = shape.primitives[1].primitive.side_normal(0).at(&p);
        let norm = (n[0] * n[0] + n[1] * n[1]).sqrt();
        assert!((norm - 1.0).abs() < 1e-15);
        // p is at angle pi/4 on the circle: n = p / 0.5.
        assert!((n[0] - p[0] / 0.5).abs() < 1e-15 && (n[1] - p[1] / 0.5).abs() < 1e-15);
        // Outer square: x = 1 has normal +e_x, the domain's own.
        let right = Side {
            primitive: 0,
            side: 1,
        };
        assert_eq!(shape.side_orientation(right), Some(1.0));
        assert_eq!(
            shape.primitives[0].primitive.side_normal(1).constant,
            vec![1.0, 0.0]
        );
        // A clockwise-given triangle reordered counter-clockwise has
        // outward edge normals.
        let triangle = Primitive::Polygon {
            vertices: vec![[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]],
        };
        let n0 = triangle.side_normal(0).constant;
        assert_eq!(n0, vec![0.0, -1.0]);
        let n1 = triangle.side_normal(1).constant;
        let s = std::f64::consts::FRAC_1_SQRT_2;
        assert!((n1[0] - s).abs() < 1e-15 && (n1[1] - s).abs() < 1e-15);
    }

    #[test]
    fn membership_of_points() {
        let shape = square_with_hole();
        assert!(shape.contains(&[0.9, 0.9]));
        assert!(!shape.contains(&[0.1, 0.1]));
        assert!(
            shape.contains(&[0.5, 0.0]),
            "the rim of the hole is in the domain"
        );
        assert!(shape.contains(&[1.0, 0.0]));
        assert!(!shape.contains(&[1.1, 0.0]));
        let triangle = Primitive::Polygon {
            vertices: vec![[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]],
        };
        assert!(triangle.contains(&[0.2, 0.2], 0.0));
        assert!(!triangle.contains(&[0.6, 0.6], 0.0));
        assert!(triangle.contains(&[0.5, 0.5], 1e-12));
        assert!((triangle.measure() - 0.5).abs() < 1e-15);
    }

    fn single(primitive: Primitive) -> Shape {
        let bounds = primitive.bounds();
        let dims = bounds.len();
        Shape {
            dims,
            primitives: vec![entry(primitive, "s")],
            root: ShapeNode::Primitive(0),
            bounds,
            text: String::new(),
        }
    }

    fn perimeter(shape: &Shape, n: usize) -> f64 {
        shape
            .all_sides()
            .into_iter()
            .map(|s| shape.side_boundary_measure(s, n, 5))
            .sum()
    }

    /// Area (volume) and perimeter (surface) of every primitive: the exact
    /// measure, the Monte Carlo estimate within 5 binomial standard errors
    /// box * sqrt(p (1 - p) / n), and the boundary measure (exact for a
    /// single primitive, every sampled point is on the boundary).
    #[test]
    fn every_primitive_has_its_exact_area_and_perimeter() {
        use std::f64::consts::PI;
        let l_polygon = Primitive::Polygon {
            vertices: vec![
                [0.0, 0.0],
                [2.0, 0.0],
                [2.0, 1.0],
                [1.0, 1.0],
                [1.0, 2.0],
                [0.0, 2.0],
            ],
        };
        let cases = [
            (
                Primitive::Rect {
                    lo: vec![0.0, -1.0],
                    hi: vec![3.0, 1.0],
                },
                6.0,
                10.0,
            ),
            (
                Primitive::Rect {
                    lo: vec![0.0, 0.0, 0.0],
                    hi: vec![1.0, 2.0, 3.0],
                },
                6.0,
                22.0,
            ),
            (
                Primitive::Ball {
                    center: vec![1.0, -2.0],
                    radius: 0.5,
                },
                PI * 0.25,
                PI,
            ),
            (
                Primitive::Ball {
                    center: vec![0.0, 0.0, 1.0],
                    radius: 2.0,
                },
                4.0 / 3.0 * PI * 8.0,
                16.0 * PI,
            ),
            (l_polygon, 3.0, 8.0),
        ];
        for (i, (primitive, area, boundary)) in cases.into_iter().enumerate() {
            let shape = single(primitive);
            let exact = shape.exact_measure().unwrap();
            assert!(
                (exact - area).abs() < 1e-12 * area,
                "{i}: {exact} vs {area}"
            );
            let n = 100_000;
            let estimate = shape.measure_estimate(n, i as u64);
            let box_measure: f64 = shape.bounds.iter().map(|(l, h)| h - l).product();
            let p = area / box_measure;
            let sigma = box_measure * (p * (1.0 - p) / n as f64).sqrt();
            assert!(
                (estimate - area).abs() < 5.0 * sigma + 1e-12,
                "{i}: estimate {estimate} vs {area} (sigma {sigma})"
            );
            let b = perimeter(&shape, 1000);
            assert!(
                (b - boundary).abs() < 1e-12 * boundary,
                "{i}: boundary {b} vs {boundary}"
            );
        }
    }

    /// A 3-D box with a ball removed from its middle: volume and surface.
    #[test]
    fn box_minus_ball_volume_and_surface() {
        use std::f64::consts::PI;
        let shape = Shape {
            dims: 3,
            primitives: vec![
                entry(
                    Primitive::Rect {
                        lo: vec![-1.0; 3],
                        hi: vec![1.0; 3],
                    },
                    "cube",
                ),
                entry(
                    Primitive::Ball {
                        center: vec![0.0; 3],
                        radius: 0.5,
                    },
                    "cavity",
                ),
            ],
            root: ShapeNode::Difference(
                Box::new(ShapeNode::Primitive(0)),
                Box::new(ShapeNode::Primitive(1)),
            ),
            bounds: vec![(-1.0, 1.0); 3],
            text: String::new(),
        };
        let volume = 8.0 - 4.0 / 3.0 * PI / 8.0;
        assert!((shape.exact_measure().unwrap() - volume).abs() < 1e-12);
        let n = 100_000;
        let p = volume / 8.0;
        let sigma = 8.0 * (p * (1.0 - p) / n as f64).sqrt();
        let estimate = shape.measure_estimate(n, 3);
        assert!((estimate - volume).abs() < 5.0 * sigma, "{estimate}");
        let surface = perimeter(&shape, 2000);
        let exact = 24.0 + PI;
        assert!((surface - exact).abs() < 1e-12, "{surface} vs {exact}");
        let cavity = Side {
            primitive: 1,
            side: 0,
        };
        assert_eq!(shape.side_orientation(cavity), Some(-1.0));
    }

    /// Checks a side's normal at parameters `u`: unit length, and the
    /// domain's normal (the side's times the orientation) points out: a
    /// step eps along it leaves the shape, a step back stays inside.
    fn assert_outward(shape: &Shape, side: Side, u: &[f64]) -> Vec<f64> {
        let primitive = &shape.primitives[side.primitive].primitive;
        let p = primitive.side_point(side.side, u);
        let sign = shape
            .boundary_orientation(side, &p)
            .unwrap_or_else(|| panic!("{side:?} at {p:?} is not on the boundary"));
        let n: Vec<f64> = primitive
            .side_normal(side.side)
            .at(&p)
            .iter()
            .map(|v| sign * v)
            .collect();
        let norm: f64 = n.iter().map(|v| v * v).sum::<f64>().sqrt();
        assert!((norm - 1.0).abs() < 1e-14, "{side:?}: |n| = {norm}");
        let eps = 1e-4;
        let out: Vec<f64> = p.iter().zip(&n).map(|(x, v)| x + eps * v).collect();
        let back: Vec<f64> = p.iter().zip(&n).map(|(x, v)| x - eps * v).collect();
        assert!(!shape.contains(&out), "{side:?}: {out:?} should be outside");
        assert!(shape.contains(&back), "{side:?}: {back:?} should be inside");
        n
    }

    /// Every side of every primitive, and of a square with a hole, an
    /// intersection and a union: unit outward normals at several points.
    #[test]
    fn normals_of_every_primitive_point_outward() {
        let shapes = [
            single(Primitive::Rect {
                lo: vec![0.0, -1.0],
                hi: vec![3.0, 1.0],
            }),
            single(Primitive::Rect {
                lo: vec![0.0, 0.0, 0.0],
                hi: vec![1.0, 2.0, 3.0],
            }),
            single(Primitive::Ball {
                center: vec![1.0, -2.0],
                radius: 0.5,
            }),
            single(Primitive::Ball {
                center: vec![0.0, 0.0, 1.0],
                radius: 2.0,
            }),
            single(Primitive::Polygon {
                vertices: vec![
                    [0.0, 0.0],
                    [2.0, 0.0],
                    [2.0, 1.0],
                    [1.0, 1.0],
                    [1.0, 2.0],
                    [0.0, 2.0],
                ],
            }),
            square_with_hole(),
        ];
        for shape in &shapes {
            for side in shape.all_sides() {
                for u in [0.13, 0.37, 0.61, 0.89] {
                    let params: Vec<f64> = (0..shape.dims - 1)
                        .map(|k| (u + 0.29 * k as f64) % 1.0)
                        .collect();
                    assert_outward(shape, side, &params);
                }
            }
        }
        // The hole's rim: the domain's normal is -(p - c)/r, into the hole.
        let shape = square_with_hole();
        let hole = Side {
            primitive: 1,
            side: 0,
        };
        for u in [0.0, 0.2, 0.5, 0.9] {
            let p = shape.primitives[1].primitive.side_point(0, &[u]);
            let n = assert_outward(&shape, hole, &[u]);
            assert!((n[0] + p[0] / 0.5).abs() < 1e-15 && (n[1] + p[1] / 0.5).abs() < 1e-15);
        }
        // A lens: the disk of radius 1 at the origin intersected with the
        // disk of radius 1 at (1, 0); each arc keeps its disk's normal.
        let lens = Shape {
            dims: 2,
            primitives: vec![
                entry(
                    Primitive::Ball {
                        center: vec![0.0, 0.0],
                        radius: 1.0,
                    },
                    "left",
                ),
                entry(
                    Primitive::Ball {
                        center: vec![1.0, 0.0],
                        radius: 1.0,
                    },
                    "right",
                ),
            ],
            root: ShapeNode::Intersection(
                Box::new(ShapeNode::Primitive(0)),
                Box::new(ShapeNode::Primitive(1)),
            ),
            bounds: vec![(-1.0, 2.0), (-1.0, 1.0)],
            text: String::new(),
        };
        // The left disk's arc inside the right disk: angles within 60 deg of 0.
        let left = Side {
            primitive: 0,
            side: 0,
        };
        let n = assert_outward(&lens, left, &[0.05]);
        let a = 2.0 * std::f64::consts::PI * 0.05;
        assert!((n[0] - a.cos()).abs() < 1e-15 && (n[1] - a.sin()).abs() < 1e-15);
        assert_eq!(lens.boundary_orientation(left, &[-1.0, 0.0]), None);
        // Exact lens perimeter: two arcs of 120 degrees, 4 pi / 3.
        let perimeter = perimeter(&lens, 30_000);
        let exact = 4.0 * std::f64::consts::PI / 3.0;
        // Binomial: each arc's kept fraction 1/3 of 30,000 draws.
        let sigma = 2.0 * std::f64::consts::PI * (2.0 / 9.0 / 30_000.0f64).sqrt() * 2f64.sqrt();
        assert!(
            (perimeter - exact).abs() < 5.0 * sigma,
            "{perimeter} vs {exact}"
        );
        // The L-shape as a union: the shared edge y = 1, x in [0, 1] is
        // interior (no orientation), the outer edges are boundary.
        let l = l_shape_union();
        let top_of_a = Side {
            primitive: 0,
            side: 3,
        };
        assert_eq!(l.boundary_orientation(top_of_a, &[0.5, 1.0]), None);
        assert_eq!(l.boundary_orientation(top_of_a, &[1.5, 1.0]), Some(1.0));
    }

    #[test]
    fn crossing_polygon_edges_are_found() {
        assert_eq!(
            polygon_crossing(&[[0.0, 0.0], [2.0, 2.0], [2.0, 0.0], [0.0, 1.0]]),
            Some((0, 2))
        );
        assert_eq!(
            polygon_crossing(&[
                [0.0, 0.0],
                [2.0, 0.0],
                [2.0, 1.0],
                [1.0, 1.0],
                [1.0, 2.0],
                [0.0, 2.0]
            ]),
            None
        );
        // A vertex touching another edge.
        assert!(polygon_crossing(&[[0.0, 0.0], [2.0, 0.0], [1.0, 0.0], [1.0, 1.0]]).is_some());
    }
}
