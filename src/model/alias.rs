//! Walker/Vose alias tables: O(1) draws from a discrete distribution with one 64-bit random
//! number and no allocation, the inner loop of ancestral sampling.

/// An alias table over `len()` outcomes. Only outcomes of positive weight get a column, so a
/// sparse distribution (the ZIP codes of one state among all ZIP codes) stays small and
/// cache-friendly.
#[derive(Debug, Clone)]
pub struct AliasTable {
    /// Acceptance threshold of each column, scaled to 2^32 (u64 so that 1.0 fits).
    threshold: Vec<u64>,
    /// The outcome a rejected column falls through to.
    alias: Vec<u32>,
    /// The outcome of each column, when columns are not simply outcomes 0..n (sparse).
    own: Option<Vec<u32>>,
    /// Number of outcomes, including those of zero weight.
    outcomes: usize,
}

impl AliasTable {
    /// Builds a table from non-negative weights. Returns `None` when the weights are empty,
    /// contain a negative or non-finite value, or sum to zero.
    pub fn new(weights: &[f64]) -> Option<Self> {
        let support: Vec<u32> =
            (0..weights.len().min(u32::MAX as usize) as u32).filter(|i| weights[*i as usize] > 0.0).collect();
        let positive: Vec<f64> = support.iter().map(|i| weights[*i as usize]).collect();
        if weights.iter().any(|w| !w.is_finite() || *w < 0.0) {
            return None;
        }
        Self::sparse(&support, &positive, weights.len())
    }

    /// Builds a table over `outcomes` outcomes from the positive weights of some of them
    /// (`support[i]` has weight `weights[i]`; the rest have none). Returns `None` when a weight
    /// is negative or non-finite, an outcome is out of range, or the weights sum to zero.
    pub fn sparse(support: &[u32], weights: &[f64], outcomes: usize) -> Option<Self> {
        if outcomes == 0
            || outcomes > u32::MAX as usize
            || support.len() != weights.len()
            || weights.iter().any(|w| !w.is_finite() || *w < 0.0)
            || support.iter().any(|s| *s as usize >= outcomes)
        {
            return None;
        }
        let (support, weights): (Vec<u32>, Vec<f64>) =
            support.iter().zip(weights).filter(|(_, w)| **w > 0.0).map(|(s, w)| (*s, *w)).unzip();
        let total: f64 = weights.iter().sum();
        if total <= 0.0 || !total.is_finite() {
            return None;
        }
        let k = support.len();
        // Vose's method over the support: scale weights so the mean column is 1, pair small
        // with large.
        let mut scaled: Vec<f64> = weights.iter().map(|w| w * k as f64 / total).collect();
        let mut small: Vec<u32> = Vec::new();
        let mut large: Vec<u32> = Vec::new();
        for (i, p) in scaled.iter().enumerate() {
            if *p < 1.0 {
                small.push(i as u32)
            } else {
                large.push(i as u32)
            }
        }
        let mut threshold = vec![1u64 << 32; k];
        let mut alias: Vec<u32> = (0..k as u32).collect();
        while let (Some(s), Some(l)) = (small.pop(), large.last().copied()) {
            threshold[s as usize] = (scaled[s as usize] * (1u64 << 32) as f64).round() as u64;
            alias[s as usize] = l;
            scaled[l as usize] -= 1.0 - scaled[s as usize];
            if scaled[l as usize] < 1.0 {
                large.pop();
                small.push(l);
            }
        }
        // Leftovers (numerical slack) keep threshold 1.0: they always accept themselves.
        let identity = k == outcomes && support.iter().enumerate().all(|(i, s)| *s as usize == i);
        let own = if identity {
            None
        } else {
            alias.iter_mut().for_each(|a| *a = support[*a as usize]);
            Some(support)
        };
        Some(AliasTable { threshold, alias, own, outcomes })
    }

    /// Number of outcomes.
    pub fn len(&self) -> usize {
        self.outcomes
    }

    /// Always false: a table has at least one outcome.
    pub fn is_empty(&self) -> bool {
        self.outcomes == 0
    }

    /// Draws an outcome from one uniformly random u64.
    #[inline(always)]
    pub fn sample(&self, random: u64) -> u32 {
        // High 32 bits pick the column (multiply-shift, no modulo bias worth speaking of
        // for tables far below 2^32 columns); low 32 bits decide accept or alias.
        let column = (((random >> 32) * self.threshold.len() as u64) >> 32) as usize;
        let coin = random & 0xFFFF_FFFF;
        if coin < self.threshold[column] {
            match &self.own {
                Some(own) => own[column],
                None => column as u32,
            }
        } else {
            self.alias[column]
        }
    }

    /// The columns as (threshold, own outcome, alias outcome), for callers that pack many
    /// tables into one array.
    pub fn columns(&self) -> impl Iterator<Item = (u64, u32, u32)> + '_ {
        self.threshold
            .iter()
            .zip(&self.alias)
            .enumerate()
            .map(|(c, (t, a))| (*t, self.own.as_ref().map(|o| o[c]).unwrap_or(c as u32), *a))
    }

    /// The probability of each outcome this table realises (for tests and reports).
    pub fn probabilities(&self) -> Vec<f64> {
        let k = self.threshold.len() as f64;
        let mut p = vec![0.0; self.outcomes];
        for (c, (&t, &a)) in self.threshold.iter().zip(&self.alias).enumerate() {
            let accept = t as f64 / (1u64 << 32) as f64;
            let own = self.own.as_ref().map(|o| o[c]).unwrap_or(c as u32);
            p[own as usize] += accept / k;
            p[a as usize] += (1.0 - accept) / k;
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn realises_the_weights() {
        let w = [1.0, 0.0, 3.0, 6.0, 0.5];
        let t = AliasTable::new(&w).expect("valid weights");
        let total: f64 = w.iter().sum();
        for (p, w) in t.probabilities().iter().zip(w) {
            assert!((p - w / total).abs() < 1e-9, "{p} vs {}", w / total);
        }
    }

    #[test]
    fn zero_weight_is_never_drawn() {
        let t = AliasTable::new(&[0.0, 1.0, 0.0]).expect("valid weights");
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..10_000 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            assert_eq!(t.sample(x), 1);
        }
    }

    #[test]
    fn rejects_bad_weights() {
        assert!(AliasTable::new(&[]).is_none());
        assert!(AliasTable::new(&[0.0, 0.0]).is_none());
        assert!(AliasTable::new(&[1.0, -1.0]).is_none());
        assert!(AliasTable::new(&[f64::NAN]).is_none());
        assert!(AliasTable::sparse(&[3], &[1.0], 3).is_none());
    }

    #[test]
    fn sparse_equals_dense() {
        let t = AliasTable::sparse(&[4, 1], &[3.0, 1.0], 6).expect("valid weights");
        assert_eq!(t.len(), 6);
        let p = t.probabilities();
        assert!((p[4] - 0.75).abs() < 1e-9 && (p[1] - 0.25).abs() < 1e-9 && p[0] == 0.0);
    }
}
