//! The workgroup reduction order of the shaders that sum with one workgroup of 256 (instance
//! norm, the PReLU slope gradient): invocation t adds terms t, t + 256, ... in order, then the
//! 256 partial sums are added in a tree of halving strides. The twins add in exactly this order.

/// Invocations per workgroup of the reducing shaders.
pub const WG: usize = 256;

/// Σ term(k) for k in 0..n, in the shaders' order.
pub fn workgroup_sum(n: usize, term: impl Fn(usize) -> f32) -> f32 {
    let mut part = [0.0f32; WG];
    for (t, acc) in part.iter_mut().enumerate() {
        let mut k = t;
        while k < n {
            *acc += term(k);
            k += WG;
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
