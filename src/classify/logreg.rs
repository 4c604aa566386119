//! Multinomial logistic regression over a few dense features and many
//! hashed sparse ones, fitted by stochastic gradient descent with
//! per-weight (AdaGrad) step sizes. Deterministic: the same examples in the
//! same order give the same weights, so a refit is reproducible and the
//! tests can pin its behaviour.
//!
//! Pure arithmetic: no text, no classes by name.

/// One training row.
#[derive(Debug, Clone)]
pub struct Example {
    pub dense: Vec<f32>,
    /// Hashed feature indices (each counts once; value `1/sqrt(len)`).
    pub sparse: Vec<u32>,
    pub class: usize,
    /// How many times the row is seen per epoch: the way a team's own
    /// labels outweigh the shipped ones without upsetting AdaGrad's steps.
    pub repeats: u32,
}

#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub epochs: usize,
    pub rate: f32,
    /// L2 penalty per step, on the weights a row touches.
    pub l2: f32,
    pub seed: u64,
}

impl Default for Settings {
    fn default() -> Settings {
        // Chosen on the dev sets' learning curves (docs/classifier.md): a
        // small rate is the early stopping that keeps the head from
        // memorising the few thousand shipped rows.
        Settings { epochs: 12, rate: 0.03, l2: 1e-5, seed: 0x5eed }
    }
}

#[derive(Debug, Clone)]
pub struct LogReg {
    classes: usize,
    dense_dim: usize,
    sparse_bits: u32,
    /// Row-major `[class][feature]`: dense features, then the bias.
    dense: Vec<f32>,
    /// Row-major `[feature][class]`, so a feature's classes are adjacent.
    sparse: Vec<f32>,
}

impl LogReg {
    pub fn new(classes: usize, dense_dim: usize, sparse_bits: u32) -> LogReg {
        LogReg { classes, dense_dim, sparse_bits, dense: vec![0.0; classes * (dense_dim + 1)], sparse: vec![0.0; classes << sparse_bits] }
    }

    pub fn classes(&self) -> usize {
        self.classes
    }

    fn scores(&self, dense: &[f32], sparse: &[u32], out: &mut [f32]) {
        debug_assert_eq!(dense.len(), self.dense_dim);
        let row = self.dense_dim + 1;
        let value = sparse_value(sparse);
        for (c, o) in out.iter_mut().enumerate() {
            let w = &self.dense[c * row..(c + 1) * row];
            *o = w[self.dense_dim] + w.iter().zip(dense).map(|(a, b)| a * b).sum::<f32>();
        }
        for &f in sparse {
            let w = &self.sparse[f as usize * self.classes..(f as usize + 1) * self.classes];
            for (o, w) in out.iter_mut().zip(w) {
                *o += w * value;
            }
        }
    }

    /// Class probabilities (softmax of the scores).
    pub fn probabilities(&self, dense: &[f32], sparse: &[u32]) -> Vec<f32> {
        let mut p = vec![0.0; self.classes];
        self.scores(dense, sparse, &mut p);
        softmax(&mut p);
        p
    }

    /// Fits a new model to `rows`.
    pub fn fit(classes: usize, dense_dim: usize, sparse_bits: u32, rows: &[Example], settings: Settings) -> LogReg {
        let mut m = LogReg::new(classes, dense_dim, sparse_bits);
        let mut g_dense = vec![1e-8f32; m.dense.len()];
        let mut g_sparse = vec![1e-8f32; m.sparse.len()];
        let mut order: Vec<u32> = rows.iter().enumerate().flat_map(|(i, r)| std::iter::repeat_n(i as u32, r.repeats as usize)).collect();
        let mut rng = fastrand::Rng::with_seed(settings.seed);
        let mut p = vec![0.0f32; classes];
        let row = dense_dim + 1;
        for _ in 0..settings.epochs {
            rng.shuffle(&mut order);
            for &i in &order {
                let ex = &rows[i as usize];
                m.scores(&ex.dense, &ex.sparse, &mut p);
                softmax(&mut p);
                let value = sparse_value(&ex.sparse);
                for (c, &pc) in p.iter().enumerate() {
                    // d(-log p_y)/d score_c
                    let err = pc - if c == ex.class { 1.0 } else { 0.0 };
                    let base = c * row;
                    for j in 0..=dense_dim {
                        let x = if j == dense_dim { 1.0 } else { ex.dense[j] };
                        let k = base + j;
                        let g = err * x + if j == dense_dim { 0.0 } else { settings.l2 * m.dense[k] };
                        g_dense[k] += g * g;
                        m.dense[k] -= settings.rate * g / g_dense[k].sqrt();
                    }
                    for &f in &ex.sparse {
                        let k = f as usize * classes + c;
                        let g = err * value + settings.l2 * m.sparse[k];
                        g_sparse[k] += g * g;
                        m.sparse[k] -= settings.rate * g / g_sparse[k].sqrt();
                    }
                }
            }
        }
        m
    }

    /// The weights as bytes (little-endian): `ESH1`, classes, dense
    /// features, sparse bits (u32 each), the dense weights (f32), then the
    /// count of sparse features with a weight and each as its index (u32)
    /// and its classes' weights (f32).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(b"ESH1");
        for v in [self.classes as u32, self.dense_dim as u32, self.sparse_bits] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        self.dense.iter().for_each(|w| out.extend_from_slice(&w.to_le_bytes()));
        let used: Vec<usize> =
            (0..1usize << self.sparse_bits).filter(|f| self.sparse[f * self.classes..(f + 1) * self.classes].iter().any(|w| *w != 0.0)).collect();
        out.extend_from_slice(&(used.len() as u32).to_le_bytes());
        for f in used {
            out.extend_from_slice(&(f as u32).to_le_bytes());
            self.sparse[f * self.classes..(f + 1) * self.classes].iter().for_each(|w| out.extend_from_slice(&w.to_le_bytes()));
        }
        out
    }

    /// Reads what `to_bytes` wrote; None if it is not that.
    pub fn from_bytes(bytes: &[u8]) -> Option<LogReg> {
        let mut at = 0;
        let mut take = |n: usize| -> Option<&[u8]> {
            let s = bytes.get(at..at + n)?;
            at += n;
            Some(s)
        };
        if take(4)? != b"ESH1" {
            return None;
        }
        let word = |s: &[u8]| u32::from_le_bytes(s.try_into().expect("4 bytes"));
        let classes = word(take(4)?) as usize;
        let dense_dim = word(take(4)?) as usize;
        let sparse_bits = word(take(4)?);
        if classes == 0 || classes > 16 || sparse_bits > 24 {
            return None;
        }
        let mut m = LogReg::new(classes, dense_dim, sparse_bits);
        for w in m.dense.iter_mut() {
            *w = f32::from_le_bytes(take(4)?.try_into().ok()?);
        }
        let used = word(take(4)?) as usize;
        for _ in 0..used {
            let f = word(take(4)?) as usize;
            if f >= 1 << sparse_bits {
                return None;
            }
            for c in 0..classes {
                m.sparse[f * classes + c] = f32::from_le_bytes(take(4)?.try_into().ok()?);
            }
        }
        take(1).is_none().then_some(m)
    }

    /// Size of the weights in bytes (for BENCHMARKS and `check`).
    pub fn weight_bytes(&self) -> usize {
        (self.dense.len() + self.sparse.len()) * std::mem::size_of::<f32>()
    }
}

fn sparse_value(sparse: &[u32]) -> f32 {
    if sparse.is_empty() {
        0.0
    } else {
        1.0 / (sparse.len() as f32).sqrt()
    }
}

pub fn softmax(v: &mut [f32]) {
    let max = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for x in v.iter_mut() {
        *x = (*x - max).exp();
        sum += *x;
    }
    for x in v.iter_mut() {
        *x /= sum;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAST: Settings = Settings { epochs: 12, rate: 0.3, l2: 1e-5, seed: 1 };

    fn row(dense: Vec<f32>, sparse: Vec<u32>, class: usize) -> Example {
        Example { dense, sparse, class, repeats: 1 }
    }

    #[test]
    fn separable_dense_data_is_learnt() {
        let rows: Vec<Example> = (0..60)
            .map(|i| {
                let c = i % 3;
                let mut d = vec![0.0; 3];
                d[c] = 1.0 + (i as f32 % 5.0) * 0.1;
                row(d, vec![], c)
            })
            .collect();
        let m = LogReg::fit(3, 3, 4, &rows, FAST);
        for r in &rows {
            let p = m.probabilities(&r.dense, &r.sparse);
            let best = (0..3).max_by(|a, b| p[*a].total_cmp(&p[*b])).unwrap();
            assert_eq!(best, r.class, "{p:?}");
        }
    }

    #[test]
    fn sparse_features_alone_decide_when_dense_ones_say_nothing() {
        let rows: Vec<Example> = (0..40).map(|i| row(vec![0.0], vec![7 + (i % 2) as u32], (i % 2) as usize)).collect();
        let m = LogReg::fit(2, 1, 4, &rows, FAST);
        assert!(m.probabilities(&[0.0], &[7])[0] > 0.9);
        assert!(m.probabilities(&[0.0], &[8])[1] > 0.9);
        // An unseen feature leaves the prior (the classes are balanced).
        let p = m.probabilities(&[0.0], &[3]);
        assert!((p[0] - 0.5).abs() < 0.1, "{p:?}");
    }

    #[test]
    fn repeated_rows_outweigh_single_contradicting_ones() {
        let mut rows = vec![row(vec![1.0], vec![], 0)];
        rows.push(Example { repeats: 9, ..row(vec![1.0], vec![], 1) });
        let m = LogReg::fit(2, 1, 2, &rows, FAST);
        assert!(m.probabilities(&[1.0], &[])[1] > 0.7);
    }

    #[test]
    fn fitting_is_deterministic() {
        let rows: Vec<Example> = (0..30).map(|i| row(vec![(i % 7) as f32 / 7.0], vec![(i % 5) as u32], i % 2)).collect();
        let a = LogReg::fit(2, 1, 3, &rows, FAST);
        let b = LogReg::fit(2, 1, 3, &rows, FAST);
        assert_eq!(a.dense, b.dense);
        assert_eq!(a.sparse, b.sparse);
    }

    #[test]
    fn weights_survive_bytes_exactly() {
        let rows: Vec<Example> = (0..30).map(|i| row(vec![(i % 7) as f32 / 7.0], vec![(i % 5) as u32], i % 2)).collect();
        let m = LogReg::fit(2, 1, 3, &rows, FAST);
        let back = LogReg::from_bytes(&m.to_bytes()).unwrap();
        assert_eq!(back.dense, m.dense);
        assert_eq!(back.sparse, m.sparse);
        let mut bytes = m.to_bytes();
        bytes.push(0);
        assert!(LogReg::from_bytes(&bytes).is_none(), "trailing bytes");
        assert!(LogReg::from_bytes(&m.to_bytes()[..20]).is_none(), "truncated");
    }

    #[test]
    fn softmax_is_stable_for_large_scores() {
        let mut v = [1000.0, 1000.0, -1000.0];
        softmax(&mut v);
        assert!((v[0] - 0.5).abs() < 1e-6 && v[2] == 0.0, "{v:?}");
    }
}
