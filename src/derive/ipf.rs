//! Iterative proportional fitting: scale a non-negative seed table until its margins match
//! given targets. Zeros in the seed (structural zeros, e.g. no graduate degree at 19) stay zero.

/// Fits a 2-D table (rows × cols, row-major) to row and column targets. Column targets are
/// rescaled to the row total first (sources of different vintages rarely agree on the total).
/// Returns the fitted table and the largest relative margin error after fitting.
pub fn fit_2d(
    seed: &[f64],
    rows: usize,
    cols: usize,
    row_targets: &[f64],
    col_targets: &[f64],
    iterations: usize,
) -> (Vec<f64>, f64) {
    assert_eq!(seed.len(), rows * cols);
    let row_total: f64 = row_targets.iter().sum();
    let col_total: f64 = col_targets.iter().sum();
    let scale = if col_total > 0.0 { row_total / col_total } else { 0.0 };
    let col_targets: Vec<f64> = col_targets.iter().map(|c| c * scale).collect();
    let mut t = seed.to_vec();
    for _ in 0..iterations {
        for r in 0..rows {
            let s: f64 = t[r * cols..(r + 1) * cols].iter().sum();
            if s > 0.0 {
                let f = row_targets[r] / s;
                t[r * cols..(r + 1) * cols].iter_mut().for_each(|x| *x *= f);
            }
        }
        for c in 0..cols {
            let s: f64 = (0..rows).map(|r| t[r * cols + c]).sum();
            if s > 0.0 {
                let f = col_targets[c] / s;
                (0..rows).for_each(|r| t[r * cols + c] *= f);
            }
        }
    }
    let mut worst = 0.0f64;
    for r in 0..rows {
        let s: f64 = t[r * cols..(r + 1) * cols].iter().sum();
        if row_targets[r] > 0.0 {
            worst = worst.max((s - row_targets[r]).abs() / row_targets[r]);
        }
    }
    for c in 0..cols {
        let s: f64 = (0..rows).map(|r| t[r * cols + c]).sum();
        if col_targets[c] > 0.0 {
            worst = worst.max((s - col_targets[c]).abs() / col_targets[c]);
        }
    }
    (t, worst)
}

/// One margin of an N-dimensional fit: for each cell of the table, the index of the target
/// group it counts towards (`u32::MAX`: outside this margin's universe), and the targets.
pub struct GroupMargin {
    pub group_of: Vec<u32>,
    pub targets: Vec<f64>,
}

/// Fits a table of any shape (flattened) to several margins by cycling through them, in
/// order, so the last margin holds exactly. The caller makes the margins' totals agree over
/// shared universes; where the margins themselves disagree (different surveys), the result is
/// IPF's compromise. Groups whose target is zero zero their cells; seed zeros stay zero.
/// Returns the table and the largest relative error over all margins.
pub fn fit_groups(seed: &[f64], margins: &[GroupMargin], iterations: usize) -> (Vec<f64>, f64) {
    let mut t = seed.to_vec();
    let sums = |t: &[f64], m: &GroupMargin| {
        let mut s = vec![0.0f64; m.targets.len()];
        for (x, g) in t.iter().zip(&m.group_of) {
            if *g != u32::MAX {
                s[*g as usize] += x;
            }
        }
        s
    };
    for _ in 0..iterations {
        for m in margins {
            let s = sums(&t, m);
            let factors: Vec<f64> =
                m.targets.iter().zip(&s).map(|(target, sum)| if *sum > 0.0 { target / sum } else { 0.0 }).collect();
            for (x, g) in t.iter_mut().zip(&m.group_of) {
                if *g != u32::MAX {
                    *x *= factors[*g as usize];
                }
            }
        }
    }
    let mut worst = 0.0f64;
    for m in margins {
        for (sum, target) in sums(&t, m).iter().zip(&m.targets) {
            if *target > 0.0 {
                worst = worst.max((sum - target).abs() / target);
            }
        }
    }
    (t, worst)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_margins_and_keeps_structural_zeros() {
        // 3 ages × 3 levels; level 2 impossible at age 0.
        let seed = [1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0];
        let (t, worst) = fit_2d(&seed, 3, 3, &[100.0, 100.0, 100.0], &[150.0, 100.0, 50.0], 200);
        assert_eq!(t[2], 0.0);
        assert!(worst < 1e-6, "{worst}");
        let col2: f64 = t[2] + t[5] + t[8];
        assert!((col2 - 50.0).abs() < 1e-6);
    }
}
