//! Point sets for training and testing on box domains (space or space-time).
//!
//! - Interior grids exclude the faces: `grid(n)` puts n points per
//!   coordinate at `lo + (j + 1) (hi - lo) / (n + 1)`.
//! - Each face gets its own grid over the face's other coordinates. So that
//!   every edge and corner belongs to exactly one face, a face of coordinate
//!   `c` includes the bounds of the coordinates after `c` (closed: n points
//!   from lo to hi) and excludes those of the coordinates before `c` (open,
//!   as for interior grids).
//! - The initial face t = t_min is a face of the time coordinate (the last
//!   one), so its grid excludes the spatial boundary, which the boundary
//!   conditions cover.
//! - `random(n)` draws n uniform points with [`SeededRng`]; `sobol(n)` takes
//!   the first n points of an Owen-scrambled Sobol sequence (at most 2^16
//!   points and 256 dimensions). On faces, n is split evenly across the
//!   faces of a condition (n in all: n / F per face, one more on n mod F
//!   faces of a seeded random choice), each face with its own stream.
//! - Shaped domains (`geometry::Shape`): interior points are drawn in the
//!   bounding box and kept when inside (`grid(n)`: the box's grid masked;
//!   `random(n)`, `sobol(n)`: drawn until n are inside). Boundary points
//!   are drawn on each side of a primitive uniformly in arc length or
//!   area and kept where the side is on the domain's boundary:
//!   `grid(n)` spaces them by the box grid's step h = (largest width)/n
//!   (midpoints of equal arcs; a Fibonacci lattice on a sphere),
//!   `random(n)` and `sobol(n)` split n across the sides in proportion to
//!   their length or area.
//! - A ball above 3-D (`x in ball(d)`) is sampled directly (rejection from
//!   the bounding cube would keep 2.5e-3 of the draws at d = 10): interior
//!   points c + r U^(1/d) g/|g| and sphere points c + r g/|g|, g standard
//!   normal, U uniform (Muller 1959); `sobol(n)` draws random points there.
//! - With `time` on a shaped domain, the time coordinate of interior and
//!   boundary points is drawn uniformly in its interval (a `grid(n)` uses
//!   n equally spaced times), and the initial face t = t0 takes the shape's
//!   interior points.
//! - `random(n, resample = k)` is redrawn every k epochs by the trainers
//!   ([`resampled`]: the seed is advanced by the round number).

use crate::check::{
    Condition, ConditionKind, Face, Sampler, Side, Spec, SOBOL_MAX_DIMS, SOBOL_MAX_POINTS,
};
use crate::geometry::{Shape, Side as ShapeSide};
use crate::random::SeededRng;

/// Points in `dims` dimensions, stored row-major (`coords[i*dims + j]`).
#[derive(Clone, Debug, PartialEq)]
pub struct PointSet {
    pub dims: usize,
    pub coords: Vec<f64>,
}

impl PointSet {
    /// An empty set in `dims` dimensions.
    pub fn new(dims: usize) -> PointSet {
        PointSet {
            dims,
            coords: Vec::new(),
        }
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.coords.len().checked_div(self.dims).unwrap_or(0)
    }

    /// True if there are no points.
    pub fn is_empty(&self) -> bool {
        self.coords.is_empty()
    }

    /// Point `i`.
    pub fn point(&self, i: usize) -> &[f64] {
        &self.coords[i * self.dims..(i + 1) * self.dims]
    }

    fn extend(&mut self, other: PointSet) {
        self.coords.extend(other.coords);
    }
}

/// The training points of a problem: the interior set for the equations and
/// one set per condition (the union of its faces' points).
#[derive(Clone, Debug, PartialEq)]
pub struct TrainingPoints {
    pub interior: PointSet,
    /// Indexed like [`Spec::conditions`].
    pub conditions: Vec<PointSet>,
}

/// Samples the training points of `spec`.
pub fn training_points(spec: &Spec) -> TrainingPoints {
    let interior = interior_points(spec, &spec.sampling.interior, 0);
    let conditions = spec
        .conditions
        .iter()
        .map(|c| condition_points_of(spec, c))
        .collect();
    TrainingPoints {
        interior,
        conditions,
    }
}

/// The training points of epoch `epoch` (from 1) when a set is
/// `random(n, resample = k)` and epoch - 1 is a positive multiple of k:
/// that set drawn with seed + (epoch - 1)/k, the others as before. `None`
/// when nothing is redrawn at this epoch.
pub fn resampled(spec: &Spec, previous: &TrainingPoints, epoch: usize) -> Option<TrainingPoints> {
    let due = |k: usize| k > 0 && epoch > 1 && (epoch - 1) % k == 0;
    let r = spec.sampling.resample;
    if !r.iter().any(|&k| due(k)) {
        return None;
    }
    let reseed = |sampler: &Sampler, k: usize| match sampler.clone() {
        Sampler::Random { n, seed } if due(k) => Sampler::Random {
            n,
            seed: seed.wrapping_add(((epoch - 1) / k) as u64),
        },
        other => other,
    };
    let mut round = spec.clone();
    round.sampling.interior = reseed(&spec.sampling.interior, r[0]);
    round.sampling.boundary = reseed(&spec.sampling.boundary, r[1]);
    round.sampling.initial = reseed(&spec.sampling.initial, r[2]);
    let interior = if due(r[0]) {
        interior_points(&round, &round.sampling.interior, 0)
    } else {
        previous.interior.clone()
    };
    let conditions = spec
        .conditions
        .iter()
        .zip(&previous.conditions)
        .map(|(c, old)| {
            let k = match c.kind {
                ConditionKind::Boundary => r[1],
                ConditionKind::Initial => r[2],
            };
            if due(k) {
                condition_points_of(&round, c)
            } else {
                old.clone()
            }
        })
        .collect();
    Some(TrainingPoints {
        interior,
        conditions,
    })
}

fn condition_points_of(spec: &Spec, condition: &Condition) -> PointSet {
    let sampler = match condition.kind {
        ConditionKind::Boundary => &spec.sampling.boundary,
        ConditionKind::Initial => &spec.sampling.initial,
    };
    condition_points(spec, sampler, &condition.sides, &condition.faces)
}

/// The points of a condition on `sides` of the shape and on `faces` of
/// the box (see the module docs).
pub fn condition_points(
    spec: &Spec,
    sampler: &Sampler,
    sides: &[ShapeSide],
    faces: &[Face],
) -> PointSet {
    let bounds: Vec<(f64, f64)> = spec.coordinates.iter().map(|c| (c.lo, c.hi)).collect();
    let counts = face_counts(sampler, faces.len());
    let mut set = PointSet::new(bounds.len());
    if let Some(shape) = &spec.shape {
        let on_sides = shape_side_points(sampler, shape, sides);
        set.extend(with_time(spec, on_sides, sampler, None, 7));
        if let Some(t) = spec.time() {
            // The initial face of a shaped domain: the shape's interior at t0.
            for face in faces.iter().filter(|f| f.coordinate == t) {
                let t0 = match face.side {
                    Side::Lo => bounds[t].0,
                    Side::Hi => bounds[t].1,
                };
                let inside = shape_interior_points(sampler, shape, 5);
                set.extend(with_time(spec, inside, sampler, Some(t0), 0));
            }
            return set;
        }
    }
    for (f, face) in faces.iter().enumerate() {
        // Each face has its own random stream, shared by every condition on
        // that face, so conditions on one face see the same points.
        let stream = 1 + 2 * face.coordinate as u64 + u64::from(face.side == Side::Hi);
        let per_face = match *sampler {
            Sampler::Grid { n } => Sampler::Grid { n },
            Sampler::Random { seed, .. } => Sampler::Random { n: counts[f], seed },
            Sampler::Sobol { seed, .. } => Sampler::Sobol { n: counts[f], seed },
        };
        set.extend(box_points(&per_face, &bounds, Some(*face), stream));
    }
    set
}

/// How many of the n points of a random or Sobol sampler lie on each of
/// `faces` faces: n in all, n / F on every face and one more on n mod F
/// faces, chosen by a random permutation of the faces seeded by the
/// sampler's seed (so that with fewer points than faces, in high
/// dimensions, the points still fall on faces of every coordinate). Empty
/// for a grid, which puts its own grid on every face.
fn face_counts(sampler: &Sampler, faces: usize) -> Vec<usize> {
    let (Sampler::Random { n, seed } | Sampler::Sobol { n, seed }) = *sampler else {
        return Vec::new();
    };
    let faces = faces.max(1);
    let mut counts = vec![n / faces; faces];
    let extra = n % faces;
    if extra > 0 {
        let mut order: Vec<usize> = (0..faces).collect();
        let mut rng = SeededRng::new(seed, FACE_ORDER_STREAM);
        for i in (1..faces).rev() {
            let j = ((rng.uniform() * (i + 1) as f64) as usize).min(i);
            order.swap(i, j);
        }
        for &f in &order[..extra] {
            counts[f] += 1;
        }
    }
    counts
}

/// The random stream of [`face_counts`]'s permutation (apart from the
/// faces' streams, 1 + 2 coordinate + side).
const FACE_ORDER_STREAM: u64 = u64::MAX - 1;

/// Points of `sampler` in the spatial domain of `spec` (the box or the
/// shape), with the time coordinate if there is one.
pub fn interior_points(spec: &Spec, sampler: &Sampler, stream: u64) -> PointSet {
    match &spec.shape {
        Some(shape) => {
            let space = shape_interior_points(sampler, shape, stream);
            with_time(spec, space, sampler, None, stream + 11)
        }
        None => {
            let bounds: Vec<(f64, f64)> = spec.coordinates.iter().map(|c| (c.lo, c.hi)).collect();
            box_points(sampler, &bounds, None, stream)
        }
    }
}

/// Appends the time coordinate to spatial points of a shaped domain: `t0`
/// if given, else drawn uniformly in the time interval (equally spaced
/// for `grid(n)`, each spatial point repeated at n times). Unchanged
/// without time.
fn with_time(
    spec: &Spec,
    space: PointSet,
    sampler: &Sampler,
    t0: Option<f64>,
    stream: u64,
) -> PointSet {
    let Some(t) = spec.time() else {
        return space;
    };
    let (lo, hi) = (spec.coordinates[t].lo, spec.coordinates[t].hi);
    let dims = space.dims + 1;
    let mut set = PointSet::new(dims);
    set.coords.reserve(space.len() * dims);
    let seed = match *sampler {
        Sampler::Random { seed, .. } | Sampler::Sobol { seed, .. } => seed,
        Sampler::Grid { .. } => 0,
    };
    let mut rng = SeededRng::new(seed, 500 + stream);
    for i in 0..space.len() {
        let times: Vec<f64> = match (t0, sampler) {
            (Some(t0), _) => vec![t0],
            (None, Sampler::Grid { n }) => open_axis((lo, hi), *n),
            (None, _) => vec![rng.uniform_in(lo, hi)],
        };
        for v in times {
            set.coords.extend_from_slice(space.point(i));
            set.coords.push(v);
        }
    }
    set
}

/// The centre and radius of a shape that is one ball above 3-D, sampled
/// directly.
fn lone_ball(shape: &Shape) -> Option<(&[f64], f64)> {
    match (shape.primitives.as_slice(), shape.dims > 3) {
        ([entry], true) => match &entry.primitive {
            crate::geometry::Primitive::Ball { center, radius } => Some((center, *radius)),
            _ => None,
        },
        _ => None,
    }
}

/// n points uniform in the ball (`surface = false`) or on its sphere:
/// c + r s g/|g| with g standard normal and s = U^(1/d) (or 1).
pub fn ball_points(
    center: &[f64],
    radius: f64,
    n: usize,
    surface: bool,
    rng: &mut SeededRng,
) -> PointSet {
    let d = center.len();
    let mut set = PointSet::new(d);
    set.coords.reserve(n * d);
    let mut g = vec![0.0; d];
    for _ in 0..n {
        let mut norm = 0.0;
        while norm == 0.0 {
            for v in &mut g {
                *v = rng.normal();
            }
            norm = g.iter().map(|v| v * v).sum::<f64>().sqrt();
        }
        let s = if surface {
            1.0
        } else {
            rng.uniform().powf(1.0 / d as f64)
        };
        for (c, v) in center.iter().zip(&g) {
            set.coords.push(c + radius * s * v / norm);
        }
    }
    set
}

/// The seed and count of a random or Sobol sampler (a grid's n^d points
/// in a ball above 3-D are drawn at random).
fn count_and_seed(sampler: &Sampler, dims: usize) -> (usize, u64) {
    match *sampler {
        Sampler::Random { n, seed } | Sampler::Sobol { n, seed } => (n, seed),
        Sampler::Grid { n } => (n.saturating_pow(dims as u32).min(1 << 20), 0),
    }
}

/// Points of `sampler` in the box `bounds`, or on one of its faces.
pub fn box_points(
    sampler: &Sampler,
    bounds: &[(f64, f64)],
    face: Option<Face>,
    stream: u64,
) -> PointSet {
    let dims = bounds.len();
    let fixed = face.map(|f| {
        let (lo, hi) = bounds[f.coordinate];
        (
            f.coordinate,
            match f.side {
                Side::Lo => lo,
                Side::Hi => hi,
            },
        )
    });
    match *sampler {
        Sampler::Grid { n } => {
            let axes: Vec<Vec<f64>> = (0..dims)
                .map(|c| match fixed {
                    Some((fc, v)) if fc == c => vec![v],
                    Some((fc, _)) if c > fc => closed_axis(bounds[c], n),
                    _ => open_axis(bounds[c], n),
                })
                .collect();
            tensor(&axes)
        }
        Sampler::Random { n, seed } => {
            let mut rng = SeededRng::new(seed, stream);
            let mut set = PointSet::new(dims);
            set.coords.reserve(n * dims);
            for _ in 0..n {
                for (c, &(lo, hi)) in bounds.iter().enumerate() {
                    let v = match fixed {
                        Some((fc, v)) if fc == c => v,
                        _ => rng.uniform_in(lo, hi),
                    };
                    set.coords.push(v);
                }
            }
            set
        }
        Sampler::Sobol { n, seed } => {
            let mut set = PointSet::new(dims);
            let n = n.min(SOBOL_MAX_POINTS);
            let seed = (seed ^ stream.wrapping_mul(0x9E37_79B9)) as u32;
            set.coords.reserve(n * dims);
            for i in 0..n {
                let mut dimension = 0u32;
                for (c, &(lo, hi)) in bounds.iter().enumerate() {
                    let v = match fixed {
                        Some((fc, v)) if fc == c => v,
                        _ => {
                            let u = sobol_burley::sample(
                                i as u32,
                                dimension.min(SOBOL_MAX_DIMS as u32 - 1),
                                seed,
                            );
                            dimension += 1;
                            lo + (hi - lo) * f64::from(u)
                        }
                    };
                    set.coords.push(v);
                }
            }
            set
        }
    }
}

/// Interior points of a shaped domain: the sampler's points of the
/// bounding box that lie in the shape (`random` and `sobol` draw until n
/// are inside, or until 1000 n draws, or the Sobol sequence ends).
pub fn shape_interior_points(sampler: &Sampler, shape: &Shape, stream: u64) -> PointSet {
    let bounds = &shape.bounds;
    let dims = bounds.len();
    if let Some((center, radius)) = lone_ball(shape) {
        let (n, seed) = count_and_seed(sampler, dims);
        let mut rng = SeededRng::new(seed, stream);
        return ball_points(center, radius, n, false, &mut rng);
    }
    match *sampler {
        Sampler::Grid { .. } => {
            let all = box_points(sampler, bounds, None, stream);
            let mut set = PointSet::new(dims);
            for i in 0..all.len() {
                if shape.contains(all.point(i)) {
                    set.coords.extend_from_slice(all.point(i));
                }
            }
            set
        }
        Sampler::Random { n, seed } => {
            let mut rng = SeededRng::new(seed, stream);
            let mut set = PointSet::new(dims);
            let mut p = vec![0.0; dims];
            let mut draws = 0usize;
            while set.len() < n && draws < n.saturating_mul(1000) {
                for (x, &(lo, hi)) in p.iter_mut().zip(bounds) {
                    *x = rng.uniform_in(lo, hi);
                }
                draws += 1;
                if shape.contains(&p) {
                    set.coords.extend_from_slice(&p);
                }
            }
            set
        }
        Sampler::Sobol { n, seed } => {
            let all = box_points(
                &Sampler::Sobol {
                    n: SOBOL_MAX_POINTS,
                    seed,
                },
                bounds,
                None,
                stream,
            );
            let mut set = PointSet::new(dims);
            for i in 0..all.len() {
                if set.len() == n {
                    break;
                }
                if shape.contains(all.point(i)) {
                    set.coords.extend_from_slice(all.point(i));
                }
            }
            set
        }
    }
}

/// Boundary points on `sides` of a shaped domain (see the module docs),
/// in the order of `sides`; only the parts on the domain's boundary.
pub fn shape_side_points(sampler: &Sampler, shape: &Shape, sides: &[ShapeSide]) -> PointSet {
    let dims = shape.dims;
    if let Some((center, radius)) = lone_ball(shape) {
        if sides.is_empty() {
            return PointSet::new(dims);
        }
        let (n, seed) = count_and_seed(sampler, dims - 1);
        let mut rng = SeededRng::new(seed, 1000);
        return ball_points(center, radius, n, true, &mut rng);
    }
    let total: f64 = sides
        .iter()
        .map(|s| shape.primitives[s.primitive].primitive.side_measure(s.side))
        .sum();
    let mut set = PointSet::new(dims);
    for &side in sides {
        let primitive = &shape.primitives[side.primitive].primitive;
        let measure = primitive.side_measure(side.side);
        let stream = 1000 + 64 * side.primitive as u64 + side.side as u64;
        let parameters: Vec<Vec<f64>> = match *sampler {
            Sampler::Grid { n } => {
                let h = shape.size() / n as f64;
                side_grid(primitive, side.side, h, dims)
            }
            Sampler::Random { n, seed } => {
                let count = (n as f64 * measure / total).ceil() as usize;
                let mut rng = SeededRng::new(seed, stream);
                (0..count)
                    .map(|_| (0..dims - 1).map(|_| rng.uniform_in(0.0, 1.0)).collect())
                    .collect()
            }
            Sampler::Sobol { n, seed } => {
                let count = ((n as f64 * measure / total).ceil() as usize).min(SOBOL_MAX_POINTS);
                let seed = (seed ^ stream.wrapping_mul(0x9E37_79B9)) as u32;
                (0..count)
                    .map(|i| {
                        (0..dims - 1)
                            .map(|k| f64::from(sobol_burley::sample(i as u32, k as u32, seed)))
                            .collect()
                    })
                    .collect()
            }
        };
        for u in parameters {
            let p = primitive.side_point(side.side, &u);
            if shape.boundary_orientation(side, &p).is_some() {
                set.coords.extend_from_slice(&p);
            }
        }
    }
    set
}

/// Parameters of a side's grid with step about h: midpoints of equal
/// arcs (2-D), a grid of midpoints on a rectangle's face or a Fibonacci
/// lattice on a sphere (3-D).
fn side_grid(
    primitive: &crate::geometry::Primitive,
    side: usize,
    h: f64,
    dims: usize,
) -> Vec<Vec<f64>> {
    use crate::geometry::Primitive;
    let count = |length: f64| ((length / h).round() as usize).max(1);
    let midpoints = |m: usize| (0..m).map(move |j| (j as f64 + 0.5) / m as f64);
    match (primitive, dims) {
        (_, 2) => midpoints(count(primitive.side_measure(side)))
            .map(|u| vec![u])
            .collect(),
        (Primitive::Rect { lo, hi }, _) => {
            let widths: Vec<f64> = (0..lo.len())
                .filter(|&k| k != side / 2)
                .map(|k| hi[k] - lo[k])
                .collect();
            let (m0, m1) = (count(widths[0]), count(widths[1]));
            midpoints(m0)
                .flat_map(|a| midpoints(m1).map(move |b| vec![a, b]))
                .collect()
        }
        _ => {
            // Fibonacci lattice: z uniform, azimuth by the golden ratio.
            let m = ((primitive.side_measure(side) / (h * h)).round() as usize).max(1);
            let golden = 0.5 * (5f64.sqrt() - 1.0);
            (0..m)
                .map(|j| vec![(j as f64 + 0.5) / m as f64, (j as f64 * golden).fract()])
                .collect()
        }
    }
}

/// n points strictly inside (lo, hi), equally spaced.
fn open_axis((lo, hi): (f64, f64), n: usize) -> Vec<f64> {
    (0..n)
        .map(|j| lo + (hi - lo) * (j + 1) as f64 / (n + 1) as f64)
        .collect()
}

/// n points from lo to hi inclusive (the midpoint for n = 1).
fn closed_axis((lo, hi): (f64, f64), n: usize) -> Vec<f64> {
    if n == 1 {
        return vec![0.5 * (lo + hi)];
    }
    (0..n)
        .map(|j| {
            if j + 1 == n {
                hi
            } else {
                lo + (hi - lo) * j as f64 / (n - 1) as f64
            }
        })
        .collect()
}

/// The tensor product of the axes, last coordinate fastest.
fn tensor(axes: &[Vec<f64>]) -> PointSet {
    let dims = axes.len();
    let total: usize = axes.iter().map(Vec::len).product();
    let mut set = PointSet::new(dims);
    set.coords.reserve(total * dims);
    let mut index = vec![0usize; dims];
    for _ in 0..total {
        for (c, axis) in axes.iter().enumerate() {
            set.coords.push(axis[index[c]]);
        }
        for c in (0..dims).rev() {
            index[c] += 1;
            if index[c] < axes[c].len() {
                break;
            }
            index[c] = 0;
        }
    }
    set
}

/// The dense test set for error reports: a closed grid of 101 points per
/// coordinate up to 2-D, 41 in 3-D, and 20,000 Sobol points above that.
pub fn test_points(spec: &Spec) -> PointSet {
    match test_axes(spec) {
        Some(axes) => {
            let grid = tensor(&axes);
            match test_mask(spec) {
                Some(mask) => {
                    let mut set = PointSet::new(grid.dims);
                    for (i, _) in mask.iter().enumerate().filter(|(_, inside)| **inside) {
                        set.coords.extend_from_slice(grid.point(i));
                    }
                    set
                }
                None => grid,
            }
        }
        None => interior_points(spec, &dense_sampler(spec.dims(), 20_000, 12345), 99),
    }
}

/// n Sobol points when the dimension allows (at most [`SOBOL_MAX_DIMS`]),
/// else n random points: the point sets pdec chooses itself (test sets,
/// the exact-solution check).
pub fn dense_sampler(dims: usize, n: usize, seed: u64) -> Sampler {
    if dims <= SOBOL_MAX_DIMS {
        Sampler::Sobol { n, seed }
    } else {
        Sampler::Random { n, seed }
    }
}

/// For a shaped domain, which points of the test grid (`test_axes`) lie
/// in the shape: the test set is the grid masked by the shape.
pub fn test_mask(spec: &Spec) -> Option<Vec<bool>> {
    let shape = spec.shape.as_ref()?;
    let grid = tensor(&test_axes(spec)?);
    Some(
        (0..grid.len())
            .map(|i| shape.contains(grid.point(i)))
            .collect(),
    )
}

/// The axes of the test grid when the test set is a grid (up to 3-D): point
/// `i` of [`test_points`] has coordinate c from `axes[c]`, the last
/// coordinate varying fastest.
pub fn test_axes(spec: &Spec) -> Option<Vec<Vec<f64>>> {
    let dims = spec.coordinates.len();
    if dims > 3 {
        return None;
    }
    let n = if dims <= 2 { 101 } else { 41 };
    Some(
        spec.coordinates
            .iter()
            .map(|c| closed_axis((c.lo, c.hi), n))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit_square_faces() -> Vec<Face> {
        let mut faces = Vec::new();
        for coordinate in 0..2 {
            for side in [Side::Lo, Side::Hi] {
                faces.push(Face { coordinate, side });
            }
        }
        faces
    }

    #[test]
    fn interior_grid_excludes_faces_and_has_n_per_coordinate() {
        let bounds = [(0.0, 1.0), (-1.0, 1.0)];
        let set = box_points(&Sampler::Grid { n: 4 }, &bounds, None, 0);
        assert_eq!(set.len(), 16);
        for i in 0..set.len() {
            let p = set.point(i);
            assert!(p[0] > 0.0 && p[0] < 1.0 && p[1] > -1.0 && p[1] < 1.0);
        }
        assert_eq!(set.point(0), &[0.2, -0.6]);
    }

    #[test]
    fn every_boundary_grid_point_lies_on_exactly_one_face_set() {
        let bounds = [(0.0, 1.0), (0.0, 2.0)];
        let n = 5;
        let mut all = Vec::new();
        for face in unit_square_faces() {
            let set = box_points(&Sampler::Grid { n }, &bounds, Some(face), 0);
            for i in 0..set.len() {
                all.push((set.point(i)[0], set.point(i)[1]));
            }
        }
        // x-faces: 5 closed points each; y-faces: 5 open points each
        assert_eq!(all.len(), 20);
        for corner in [(0.0, 0.0), (0.0, 2.0), (1.0, 0.0), (1.0, 2.0)] {
            assert_eq!(
                all.iter().filter(|&&p| p == corner).count(),
                1,
                "{corner:?}"
            );
        }
        let mut dedup = all.clone();
        dedup.sort_by(|a, b| a.partial_cmp(b).unwrap());
        dedup.dedup();
        assert_eq!(dedup.len(), all.len(), "no point is on two faces");
    }

    #[test]
    fn random_points_are_reproducible_and_inside() {
        let bounds = [(2.0, 3.0), (-1.0, 0.0)];
        let s = Sampler::Random { n: 100, seed: 5 };
        let a = box_points(&s, &bounds, None, 0);
        let b = box_points(&s, &bounds, None, 0);
        let c = box_points(&Sampler::Random { n: 100, seed: 6 }, &bounds, None, 0);
        assert_eq!(a, b);
        assert_ne!(a, c);
        for i in 0..a.len() {
            let p = a.point(i);
            assert!((2.0..3.0).contains(&p[0]) && (-1.0..0.0).contains(&p[1]));
        }
        let face = Face {
            coordinate: 1,
            side: Side::Hi,
        };
        let on_face = box_points(&s, &bounds, Some(face), 3);
        assert!((0..on_face.len()).all(|i| on_face.point(i)[1] == 0.0));
    }

    #[test]
    fn random_boundary_points_are_n_in_all_on_faces_of_every_coordinate() {
        // 500 faces of [0, 1]^250, 100 points: one on each of 100 faces,
        // spread over the coordinates (not the first 50 coordinates' faces).
        let counts = face_counts(&Sampler::Random { n: 100, seed: 3 }, 500);
        assert_eq!(counts.iter().sum::<usize>(), 100);
        assert!(counts.iter().all(|&c| c <= 1));
        let last = counts.iter().rposition(|&c| c == 1).unwrap();
        assert!(last >= 250, "the faces with a point end at face {last}");
        // a multiple of the face count: the same count everywhere
        assert_eq!(
            face_counts(&Sampler::Sobol { n: 12, seed: 0 }, 4),
            vec![3; 4]
        );
        // 130 on 4 faces: 33, 33, 32, 32 in some order; another seed,
        // another order (for these seeds)
        let a = face_counts(&Sampler::Random { n: 130, seed: 0 }, 4);
        let b = face_counts(&Sampler::Random { n: 130, seed: 1 }, 4);
        assert_eq!(a.iter().sum::<usize>(), 130);
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, vec![32, 32, 33, 33]);
        assert_ne!(a, b);
        assert!(face_counts(&Sampler::Grid { n: 5 }, 4).is_empty());
    }

    #[test]
    fn sobol_points_fill_the_box_evenly() {
        let bounds = [(0.0, 1.0), (0.0, 1.0)];
        let set = box_points(&Sampler::Sobol { n: 1024, seed: 0 }, &bounds, None, 0);
        assert_eq!(set.len(), 1024);
        // Each of the 16 cells of a 4x4 partition gets close to 64 points.
        let mut cells = [0usize; 16];
        for i in 0..set.len() {
            let p = set.point(i);
            cells[(p[0] * 4.0) as usize * 4 + (p[1] * 4.0) as usize] += 1;
        }
        assert!(cells.iter().all(|&c| (56..=72).contains(&c)), "{cells:?}");
    }

    #[test]
    fn closed_axis_hits_both_ends_exactly() {
        let axis = closed_axis((0.1, 0.7), 7);
        assert_eq!(axis[0], 0.1);
        assert_eq!(axis[6], 0.7);
        assert_eq!(closed_axis((0.0, 2.0), 1), vec![1.0]);
    }

    use crate::geometry::{Primitive, PrimitiveEntry, ShapeNode};

    fn shape_of(primitives: Vec<Primitive>, root: ShapeNode, bounds: Vec<(f64, f64)>) -> Shape {
        Shape {
            dims: bounds.len(),
            primitives: primitives
                .into_iter()
                .map(|primitive| PrimitiveEntry {
                    primitive,
                    names: Vec::new(),
                    text: String::new(),
                })
                .collect(),
            root,
            bounds,
            text: String::new(),
        }
    }

    /// Pearson's statistic sum (O - E)^2 / E of counts against equal
    /// expected counts.
    fn chi_square(counts: &[usize]) -> f64 {
        let n: usize = counts.iter().sum();
        let e = n as f64 / counts.len() as f64;
        counts.iter().map(|&o| (o as f64 - e).powi(2) / e).sum()
    }

    // Uniformity tests: for k equally likely cells, Pearson's statistic of
    // a uniform sampler is chi-square with k - 1 degrees of freedom; each
    // bound below is its 0.999 quantile (Wilson-Hilferty), so a correct
    // sampler fails with probability 1e-3 over seeds, and the fixed seeds
    // make the tests deterministic.

    /// Interior of the unit disk by rejection: 8 rings of equal area
    /// (r^2 in [j/8, (j+1)/8]) times 8 sectors, 64 equally likely cells.
    #[test]
    fn disk_interior_points_are_uniform_in_area() {
        let disk = shape_of(
            vec![Primitive::Ball {
                center: vec![0.0, 0.0],
                radius: 1.0,
            }],
            ShapeNode::Primitive(0),
            vec![(-1.0, 1.0), (-1.0, 1.0)],
        );
        let set = shape_interior_points(&Sampler::Random { n: 12_800, seed: 3 }, &disk, 0);
        assert_eq!(set.len(), 12_800);
        let mut counts = vec![0usize; 64];
        for i in 0..set.len() {
            let p = set.point(i);
            let r2 = p[0] * p[0] + p[1] * p[1];
            assert!(r2 <= 1.0 + 1e-12);
            let ring = ((r2 * 8.0) as usize).min(7);
            let angle = p[1].atan2(p[0]) + std::f64::consts::PI;
            let sector = ((angle / (2.0 * std::f64::consts::PI) * 8.0) as usize).min(7);
            counts[ring * 8 + sector] += 1;
        }
        let chi2 = chi_square(&counts);
        assert!(chi2 < 103.4, "chi-square {chi2} with 63 degrees of freedom");
    }

    /// Interior of the L-shape [-1, 1]^2 minus [0, 1]^2: the 12 cells of
    /// side 1/2 inside are equally likely, the 4 of the removed corner empty.
    #[test]
    fn l_shape_interior_points_are_uniform_and_avoid_the_corner() {
        let l = shape_of(
            vec![
                Primitive::Rect {
                    lo: vec![-1.0, -1.0],
                    hi: vec![1.0, 1.0],
                },
                Primitive::Rect {
                    lo: vec![0.0, 0.0],
                    hi: vec![1.0, 1.0],
                },
            ],
            ShapeNode::Difference(
                Box::new(ShapeNode::Primitive(0)),
                Box::new(ShapeNode::Primitive(1)),
            ),
            vec![(-1.0, 1.0), (-1.0, 1.0)],
        );
        for sampler in [
            Sampler::Random { n: 6000, seed: 1 },
            Sampler::Sobol { n: 6000, seed: 1 },
        ] {
            let set = shape_interior_points(&sampler, &l, 0);
            assert_eq!(set.len(), 6000);
            let mut counts = vec![0usize; 16];
            for i in 0..set.len() {
                let p = set.point(i);
                let cell = |v: f64| (((v + 1.0) * 2.0) as usize).min(3);
                counts[cell(p[0]) * 4 + cell(p[1])] += 1;
            }
            let corner = [10, 11, 14, 15];
            assert!(corner.iter().all(|&c| counts[c] == 0), "{counts:?}");
            let inside: Vec<usize> = (0..16)
                .filter(|c| !corner.contains(c))
                .map(|c| counts[c])
                .collect();
            let chi2 = chi_square(&inside);
            assert!(
                chi2 < 31.3,
                "{sampler:?}: chi-square {chi2} (11 dof), {inside:?}"
            );
        }
    }

    /// Boundary points of a circle and a sphere: uniform in arc length
    /// (16 arcs of equal length) and in area (4 zones of equal height times
    /// 4 sectors: Archimedes' equal areas), 16 cells, 15 dof.
    #[test]
    fn circle_and_sphere_points_are_uniform_in_arc_length_and_area() {
        for dims in [2usize, 3] {
            let ball = shape_of(
                vec![Primitive::Ball {
                    center: vec![0.0; dims],
                    radius: 2.0,
                }],
                ShapeNode::Primitive(0),
                vec![(-2.0, 2.0); dims],
            );
            let side = ShapeSide {
                primitive: 0,
                side: 0,
            };
            let set = shape_side_points(&Sampler::Random { n: 8000, seed: 7 }, &ball, &[side]);
            assert_eq!(set.len(), 8000);
            let mut counts = vec![0usize; 16];
            for i in 0..set.len() {
                let p = set.point(i);
                let r: f64 = p.iter().map(|v| v * v).sum::<f64>().sqrt();
                assert!((r - 2.0).abs() < 1e-12);
                let angle =
                    (p[1].atan2(p[0]) + std::f64::consts::PI) / (2.0 * std::f64::consts::PI);
                let cell = if dims == 2 {
                    ((angle * 16.0) as usize).min(15)
                } else {
                    let zone = (((p[2] / 2.0 + 1.0) * 2.0) as usize).min(3);
                    zone * 4 + ((angle * 4.0) as usize).min(3)
                };
                counts[cell] += 1;
            }
            let chi2 = chi_square(&counts);
            assert!(
                chi2 < 37.7,
                "{dims}-D: chi-square {chi2} (15 dof), {counts:?}"
            );
        }
    }

    /// Boundary points of a square with a hole: per side in proportion to
    /// its length (each side's share within 1 point of n * length /
    /// perimeter, rounding up), and the points of the rim are on the rim.
    #[test]
    fn boundary_points_are_split_by_length() {
        let shape = shape_of(
            vec![
                Primitive::Rect {
                    lo: vec![-1.0, -1.0],
                    hi: vec![1.0, 1.0],
                },
                Primitive::Ball {
                    center: vec![0.0, 0.0],
                    radius: 0.5,
                },
            ],
            ShapeNode::Difference(
                Box::new(ShapeNode::Primitive(0)),
                Box::new(ShapeNode::Primitive(1)),
            ),
            vec![(-1.0, 1.0), (-1.0, 1.0)],
        );
        let sides = shape.all_sides();
        let n = 1000;
        let set = shape_side_points(&Sampler::Random { n, seed: 2 }, &shape, &sides);
        let perimeter = 8.0 + std::f64::consts::PI;
        let on_rim = (0..set.len())
            .filter(|&i| {
                let p = set.point(i);
                ((p[0] * p[0] + p[1] * p[1]).sqrt() - 0.5).abs() < 1e-12
            })
            .count();
        let expected = (n as f64 * std::f64::consts::PI / perimeter).ceil() as usize;
        assert_eq!(on_rim, expected);
        let on_right = (0..set.len()).filter(|&i| set.point(i)[0] == 1.0).count();
        assert_eq!(on_right, (n as f64 * 2.0 / perimeter).ceil() as usize);
    }
}
