//! The workgroup reduction order of the shaders that sum with one workgroup of 256 (instance
//! norm, the PReLU slope gradient): invocation t adds terms t, t + 256, ... in order, then the
//! 256 partial sums are added in a tree of halving strides. The twins add in exactly this order.

/// Invocations per workgroup of the reducing shaders.
pub const WG: usize = 256;

/// Σ term(k) for k in 0..n, in the shaders' order. Partial sums past the last term hold +0.0
/// throughout, and adding one to them is skipped: +0.0 + +0.0 is +0.0, bit for bit.
pub fn workgroup_sum(n: usize, term: impl Fn(usize) -> f32) -> f32 {
    let mut part = [0.0f32; WG];
    let mut live = n.min(WG);
    // A block of WG terms at a time: partial t still takes t, t + WG, ... in order, and the
    // loop walks the terms in memory order (it vectorizes where `term` reads a slice).
    let mut k = 0;
    while k < n {
        let len = WG.min(n - k);
        for (t, acc) in part[..len].iter_mut().enumerate() {
            *acc += term(k + t);
        }
        k += len;
    }
    let mut s = WG / 2;
    while s > 0 {
        for t in 0..s.min(live) {
            part[t] += part[t + s];
        }
        live = live.min(s);
        s /= 2;
    }
    part[0]
}

/// [`workgroup_sum`] fed its terms in order (term k goes to partial sum k mod 256, as
/// invocation k mod 256 adds it), so that a caller walking its data in memory order can sum
/// as it goes: the same value bit for bit.
pub struct Partials {
    part: [f32; WG],
    n: usize,
}

impl Default for Partials {
    fn default() -> Self {
        Self::new()
    }
}

impl Partials {
    pub fn new() -> Self {
        Self {
            part: [0.0; WG],
            n: 0,
        }
    }

    /// Adds the next terms, in order.
    pub fn add(&mut self, terms: impl IntoIterator<Item = f32>) {
        let mut t = self.n % WG;
        for v in terms {
            self.part[t] += v;
            t += 1;
            if t == WG {
                t = 0;
            }
            self.n += 1;
        }
    }

    /// The sum, in the shaders' tree (partial sums past the last term are skipped, as
    /// [`workgroup_sum`] skips them).
    pub fn total(mut self) -> f32 {
        let mut live = self.n.min(WG);
        let mut s = WG / 2;
        while s > 0 {
            for t in 0..s.min(live) {
                self.part[t] += self.part[t + s];
            }
            live = live.min(s);
            s /= 2;
        }
        self.part[0]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shaders' order without the skipping: all 256 partial sums, the whole tree.
    fn full_tree(n: usize, term: impl Fn(usize) -> f32) -> f32 {
        let mut part = [0.0f32; WG];
        for (t, acc) in part.iter_mut().enumerate() {
            for k in (t..n).step_by(WG) {
                *acc += term(k);
            }
        }
        let mut s = WG / 2;
        while s > 0 {
            for t in 0..s {
                part[t] += part[t + s];
            }
            s /= 2;
        }
        part[0]
    }

    /// Terms fed in runs of any length sum as `workgroup_sum` does.
    #[test]
    fn partials_are_the_workgroup_sum_bit_for_bit() {
        let value = |k: usize| ((k * 7919 % 1000) as f32 - 500.0) * 1.37e-3;
        for (n, run) in [
            (0, 1),
            (1, 1),
            (255, 7),
            (256, 256),
            (784, 49),
            (5000, 300),
            (5000, 1),
        ] {
            let mut sum = Partials::new();
            for start in (0..n).step_by(run) {
                sum.add((start..(start + run).min(n)).map(value));
            }
            let want = workgroup_sum(n, value);
            assert_eq!(
                sum.total().to_bits(),
                want.to_bits(),
                "n = {n}, runs of {run}"
            );
        }
    }

    #[test]
    fn workgroup_sum_is_the_full_tree_bit_for_bit() {
        let value = |k: usize| ((k * 7919 % 1000) as f32 - 500.0) * 1.37e-3;
        for n in [0, 1, 2, 3, 49, 100, 255, 256, 257, 784, 5000] {
            let got = workgroup_sum(n, value);
            assert_eq!(got.to_bits(), full_tree(n, value).to_bits(), "n = {n}");
        }
        // A lone -0.0 becomes +0.0 in the tree, as on the GPU.
        for n in [1, 3, 300] {
            let got = workgroup_sum(n, |_| -0.0);
            assert_eq!(got.to_bits(), full_tree(n, |_| -0.0).to_bits(), "n = {n}");
            assert_eq!(got.to_bits(), 0.0f32.to_bits());
        }
    }
}
