//! The nearest neighbour of every vector of a column, without comparing all pairs: an
//! inverted-file index built for the audit. Vectors are split into cells by two levels of
//! spherical k-means (about [`CELL_ROWS`] vectors a cell); each vector is compared with every
//! vector of its own cell and of its second cell — the runner-up in its coarse cell or the
//! best of its second coarse cell, whichever centroid is nearer. A near duplicate lies in one
//! of the two almost always (`recall_against_exact` measures it); the work is about
//! `1.5 · CELL_ROWS` dot products a vector instead of `n`.
//!
//! Small inputs (≤ [`EXACT_ROWS`]) are compared exactly.

/// Up to this many vectors, every pair is compared.
pub const EXACT_ROWS: usize = 4096;

/// Vectors a fine cell holds on average.
pub const CELL_ROWS: usize = 512;

/// Training points per centroid for k-means.
const TRAIN_PER_CENTROID: usize = 64;

/// k-means iterations.
const ITERATIONS: usize = 8;

/// The nearest other vector of each vector: its position and their cosine similarity
/// (`None` for a vector alone in the input).
#[derive(Debug, Clone, Default)]
pub struct Nearest {
    pub neighbor: Vec<Option<u32>>,
    pub similarity: Vec<f32>,
}

/// Dot product, in eight lanes so that the compiler vectorises it.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let mut s: f32 = acc.iter().sum();
    for (x, y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
}

/// `q` against each `dim`-long vector of `batch`, into `out` (one per vector).
#[inline]
fn dot_batch(q: &[f32], batch: &[f32], dim: usize, out: &mut [f32]) {
    for (o, v) in out.iter_mut().zip(batch.chunks_exact(dim)) {
        *o = dot(q, v);
    }
}

/// The vectors of `members`, one after another.
fn gather(data: &[f32], dim: usize, members: &[u32]) -> Vec<f32> {
    let mut out = Vec::with_capacity(members.len() * dim);
    for r in members {
        out.extend_from_slice(row(data, dim, *r));
    }
    out
}

/// Scales each vector of `data` (rows of `dim`) to unit length in place; a zero vector stays zero.
pub fn normalize(data: &mut [f32], dim: usize) {
    for v in data.chunks_exact_mut(dim) {
        let norm = dot(v, v).sqrt();
        if norm > 0.0 {
            v.iter_mut().for_each(|x| *x /= norm);
        }
    }
}

/// The nearest neighbour of every row of `data` (`n` unit vectors of `dim`), by cosine.
/// `seed` fixes the k-means initialisation, so the result is reproducible.
pub fn nearest(data: &[f32], dim: usize, seed: u64, threads: usize) -> Nearest {
    let n = if dim == 0 { 0 } else { data.len() / dim };
    let mut out = Nearest { neighbor: vec![None; n], similarity: vec![f32::NEG_INFINITY; n] };
    if n < 2 {
        out.similarity.iter_mut().for_each(|s| *s = f32::NAN);
        return out;
    }
    if n <= EXACT_ROWS {
        let all: Vec<u32> = (0..n as u32).collect();
        search_block(data, dim, &all, &mut out.neighbor, &mut out.similarity);
        return out;
    }
    let cells = cells(data, dim, seed, threads);
    // Each thread takes whole cells (largest first, dealt round-robin, so threads finish
    // together); results are written back by position.
    let threads = threads.max(1).min(cells.len());
    let mut order: Vec<usize> = (0..cells.len()).collect();
    order.sort_by_key(|c| std::cmp::Reverse(cells[*c].members.len()));
    let parts: Vec<Vec<(usize, Vec<Option<u32>>, Vec<f32>)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (cells, order) = (&cells, &order);
                scope.spawn(move || {
                    order.iter().skip(t).step_by(threads).map(|c| search_fine(data, dim, cells, *c)).collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_default()).collect()
    });
    for (cell, neighbor, similarity) in parts.into_iter().flatten() {
        for ((m, nb), s) in cells[cell].members.iter().zip(neighbor).zip(similarity) {
            out.neighbor[*m as usize] = nb;
            out.similarity[*m as usize] = s;
        }
    }
    out
}

/// A fine cell: its members, and for each the cell it probes second (the next nearest fine
/// cell, in its own coarse cell or the next nearest one).
#[derive(Debug, Default, Clone)]
struct Fine {
    members: Vec<u32>,
    second: Vec<Option<u32>>,
}

/// Searches one fine cell: its members' neighbours and similarities. The cell's vectors (and
/// each probed cell's) are gathered side by side first, so each member is compared with a
/// whole block at once.
fn search_fine(data: &[f32], dim: usize, cells: &[Fine], cell: usize) -> (usize, Vec<Option<u32>>, Vec<f32>) {
    let fine = &cells[cell];
    let m = fine.members.len();
    let (mut neighbor, mut similarity) = (vec![None; m], vec![f32::NEG_INFINITY; m]);
    let local = gather(data, dim, &fine.members);
    search_block(&local, dim, &fine.members, &mut neighbor, &mut similarity);
    // The second probe: the members that probe each other cell, against it.
    let mut probes: std::collections::BTreeMap<u32, Vec<usize>> = std::collections::BTreeMap::new();
    for (i, second) in fine.second.iter().enumerate() {
        if let Some(s) = second {
            probes.entry(*s).or_default().push(i);
        }
    }
    let mut scores = Vec::new();
    for (s, askers) in probes {
        let other = &cells[s as usize].members;
        if other.is_empty() {
            continue;
        }
        let block = gather(data, dim, other);
        scores.resize(other.len(), 0.0);
        for i in askers {
            dot_batch(&local[i * dim..(i + 1) * dim], &block, dim, &mut scores);
            for (j, d) in scores.iter().enumerate() {
                if *d > similarity[i] {
                    similarity[i] = *d;
                    neighbor[i] = Some(other[j]);
                }
            }
        }
    }
    (cell, neighbor, similarity)
}

/// Every pair of a block of gathered vectors (each pair once), updating both ends' best;
/// `members` names the rows.
fn search_block(block: &[f32], dim: usize, members: &[u32], neighbor: &mut [Option<u32>], similarity: &mut [f32]) {
    let m = members.len();
    let mut scores = vec![0.0f32; m];
    for i in 0..m.saturating_sub(1) {
        let rest = m - i - 1;
        dot_batch(&block[i * dim..(i + 1) * dim], &block[(i + 1) * dim..], dim, &mut scores[..rest]);
        for (k, d) in scores[..rest].iter().enumerate() {
            let j = i + 1 + k;
            if *d > similarity[i] {
                similarity[i] = *d;
                neighbor[i] = Some(members[j]);
            }
            if *d > similarity[j] {
                similarity[j] = *d;
                neighbor[j] = Some(members[i]);
            }
        }
    }
}

#[inline]
fn row(data: &[f32], dim: usize, r: u32) -> &[f32] {
    let start = r as usize * dim;
    &data[start..start + dim]
}

/// The fine cells of a two-level spherical k-means, with each vector's second cell.
fn cells(data: &[f32], dim: usize, seed: u64, threads: usize) -> Vec<Fine> {
    let n = data.len() / dim;
    let wanted = n.div_ceil(CELL_ROWS).max(1);
    let coarse = (wanted as f64).sqrt().ceil() as usize;
    let all: Vec<u32> = (0..n as u32).collect();
    let centroids = kmeans(data, dim, &all, coarse, seed);
    let coarse = centroids.len() / dim;
    let assigned = assign(data, dim, &all, &centroids, threads);
    let mut groups: Vec<Vec<u32>> = vec![Vec::new(); coarse];
    for (r, (best, _)) in assigned.iter().enumerate() {
        groups[*best as usize].push(r as u32);
    }
    // Fine centroids per coarse cell; fine cell ids are global (offset by coarse cell).
    let mut fine_centroids: Vec<Vec<f32>> = Vec::with_capacity(coarse);
    let mut offset = Vec::with_capacity(coarse);
    let mut total = 0usize;
    for (g, members) in groups.iter().enumerate() {
        let k = members.len().div_ceil(CELL_ROWS).max(1);
        let c = match k {
            1 => members.first().map(|r| row(data, dim, *r).to_vec()).unwrap_or_default(),
            _ => kmeans(data, dim, members, k, seed ^ crate::hash::splitmix64(g as u64 + 1)),
        };
        offset.push(total);
        total += c.len() / dim;
        fine_centroids.push(c);
    }
    let mut cells = vec![Fine::default(); total];
    // Each vector: its best fine cell in its coarse cell, and as second probe the better of
    // the runner-up there and the best fine cell of its second coarse cell.
    let chunk = n.div_ceil(threads.max(1)).max(1);
    let placed: Vec<(u32, Option<u32>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = all
            .chunks(chunk)
            .map(|part| {
                let (assigned, fine_centroids, offset) = (&assigned, &fine_centroids, &offset);
                scope.spawn(move || {
                    part.iter()
                        .map(|r| {
                            let q = row(data, dim, *r);
                            let (c1, c2) = assigned[*r as usize];
                            let ranked = best_two(q, &fine_centroids[c1 as usize], dim);
                            let first = offset[c1 as usize] as u32 + ranked.0 .0;
                            let mut second = ranked.1.map(|(f, s)| (offset[c1 as usize] as u32 + f, s));
                            if let Some(c2) = c2.filter(|c| !fine_centroids[*c as usize].is_empty()) {
                                let (best, _) = best_two(q, &fine_centroids[c2 as usize], dim);
                                if second.is_none_or(|(_, s)| best.1 > s) {
                                    second = Some((offset[c2 as usize] as u32 + best.0, best.1));
                                }
                            }
                            (first, second.map(|(f, _)| f))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    });
    for (r, (first, second)) in placed.into_iter().enumerate() {
        cells[first as usize].members.push(r as u32);
        cells[first as usize].second.push(second);
    }
    cells
}

/// The best and second-best of the centroids (flattened) for `q`: (index, similarity).
fn best_two(q: &[f32], centroids: &[f32], dim: usize) -> ((u32, f32), Option<(u32, f32)>) {
    let mut best = (0u32, f32::NEG_INFINITY);
    let mut second: Option<(u32, f32)> = None;
    let mut scores = vec![0.0f32; centroids.len() / dim];
    if !scores.is_empty() {
        dot_batch(q, centroids, dim, &mut scores);
    }
    for (c, d) in scores.into_iter().enumerate() {
        if d > best.1 {
            if best.1 > f32::NEG_INFINITY {
                second = Some(best);
            }
            best = (c as u32, d);
        } else if second.is_none_or(|(_, s)| d > s) {
            second = Some((c as u32, d));
        }
    }
    (best, second)
}

/// The nearest and second-nearest of the centroids for each of `members`.
fn assign(data: &[f32], dim: usize, members: &[u32], centroids: &[f32], threads: usize) -> Vec<(u32, Option<u32>)> {
    let chunk = members.len().div_ceil(threads.max(1)).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = members
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|r| {
                            let (best, second) = best_two(row(data, dim, *r), centroids, dim);
                            (best.0, second.map(|s| s.0))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    })
}

/// Spherical k-means over a seeded sample of `members`: `k` unit centroids, flattened.
fn kmeans(data: &[f32], dim: usize, members: &[u32], k: usize, seed: u64) -> Vec<f32> {
    if members.is_empty() {
        return Vec::new();
    }
    // A fixed pseudo-random order of the members; the first ones train.
    let mut ranked: Vec<(u64, u32)> =
        members.iter().map(|r| (crate::hash::splitmix64(seed ^ crate::hash::splitmix64(*r as u64)), *r)).collect();
    let train = (k * TRAIN_PER_CENTROID).min(members.len());
    let nth = train.saturating_sub(1).min(ranked.len() - 1);
    ranked.select_nth_unstable(nth);
    ranked.truncate(train);
    ranked.sort_unstable();
    let sample: Vec<u32> = ranked.iter().map(|(_, r)| *r).collect();
    let k = k.min(sample.len()).max(1);
    let mut centroids: Vec<f32> = sample[..k].iter().flat_map(|r| row(data, dim, *r).iter().copied()).collect();
    let mut sums = vec![0.0f32; k * dim];
    let mut counts = vec![0usize; k];
    for _ in 0..ITERATIONS {
        sums.iter_mut().for_each(|s| *s = 0.0);
        counts.iter_mut().for_each(|c| *c = 0);
        let mut scores = vec![0.0f32; k];
        for r in &sample {
            let q = row(data, dim, *r);
            let mut best = (0usize, f32::NEG_INFINITY);
            dot_batch(q, &centroids, dim, &mut scores);
            for (c, d) in scores.iter().enumerate() {
                if *d > best.1 {
                    best = (c, *d);
                }
            }
            counts[best.0] += 1;
            sums[best.0 * dim..(best.0 + 1) * dim].iter_mut().zip(q).for_each(|(s, x)| *s += x);
        }
        for c in 0..k {
            // An empty cluster keeps its centroid.
            if counts[c] > 0 {
                centroids[c * dim..(c + 1) * dim].copy_from_slice(&sums[c * dim..(c + 1) * dim]);
            }
        }
        normalize(&mut centroids, dim);
    }
    centroids
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unit vectors in `dim` dimensions: `clusters` random directions, each with `per` points
    /// scattered around it, and every fifth point given a near copy.
    fn points(clusters: usize, per: usize, dim: usize) -> Vec<f32> {
        let mut state = 7u64;
        let mut next = || {
            state = crate::hash::splitmix64(state);
            (state >> 11) as f32 / (1u64 << 53) as f32 - 0.5
        };
        let mut out = Vec::new();
        for _ in 0..clusters {
            let center: Vec<f32> = (0..dim).map(|_| next()).collect();
            for i in 0..per {
                let p: Vec<f32> = center.iter().map(|c| c + 0.6 * next()).collect();
                out.extend(&p);
                if i % 5 == 0 {
                    out.extend(p.iter().map(|x| x + 0.02 * next()));
                }
            }
        }
        normalize(&mut out, dim);
        out
    }

    fn exact(data: &[f32], dim: usize) -> Nearest {
        let n = data.len() / dim;
        let mut out = Nearest { neighbor: vec![None; n], similarity: vec![f32::NEG_INFINITY; n] };
        let all: Vec<u32> = (0..n as u32).collect();
        search_block(data, dim, &all, &mut out.neighbor, &mut out.similarity);
        out
    }

    #[test]
    fn small_inputs_are_exact() {
        let data = points(5, 100, 16);
        let got = nearest(&data, 16, 1, 2);
        let want = exact(&data, 16);
        assert_eq!(got.neighbor, want.neighbor);
        assert!(got.neighbor.iter().all(|n| n.is_some()));
    }

    #[test]
    fn recall_against_exact() {
        let dim = 32;
        let data = points(40, 500, dim);
        let n = data.len() / dim;
        assert!(n > EXACT_ROWS);
        let got = nearest(&data, dim, 3, 2);
        let want = exact(&data, dim);
        // Near copies (cosine ≥ 0.95 to their nearest) are found with the exact similarity,
        // all but a few split by cell boundaries (8,000 of 8,002 here).
        let near: Vec<usize> = (0..n).filter(|i| want.similarity[*i] >= 0.95).collect();
        assert!(near.len() > n / 5, "{} near pairs of {n}", near.len());
        let found = near.iter().filter(|i| (got.similarity[**i] - want.similarity[**i]).abs() < 1e-6).count();
        assert!(found as f64 >= 0.999 * near.len() as f64, "near duplicates found: {found} of {}", near.len());
        // Approximate neighbours are never better than the exact ones, and mostly equal.
        assert!((0..n).all(|i| got.similarity[i] <= want.similarity[i] + 1e-6));
        let same = (0..n).filter(|i| (got.similarity[*i] - want.similarity[*i]).abs() < 1e-6).count();
        assert!(same as f64 >= 0.9 * n as f64, "{same} of {n} exact");
        // The same seed gives the same answer.
        assert_eq!(nearest(&data, dim, 3, 1).neighbor, got.neighbor);
    }

    #[test]
    fn degenerate_inputs() {
        assert!(nearest(&[], 8, 0, 2).neighbor.is_empty());
        let one = nearest(&[1.0, 0.0], 2, 0, 2);
        assert_eq!(one.neighbor, vec![None]);
        assert!(one.similarity[0].is_nan());
    }
}
