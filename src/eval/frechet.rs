//! The Fréchet distance between two Gaussians fitted to feature sets (the FID formula, here on a
//! small classifier's features, so it is called the Fréchet classifier distance):
//! d² = |mu1 - mu2|² + Tr(S1 + S2 - 2 (S1 S2)^½).
//! Tr((S1 S2)^½) is computed as Tr((S1^½ S2 S1^½)^½), whose argument is symmetric positive
//! semi-definite, so both square roots come from nalgebra's symmetric eigendecomposition.

use nalgebra::{DMatrix, DVector, SymmetricEigen};

/// Mean and covariance (unbiased, as numpy's `np.cov`) of `rows` feature vectors of length `dim`.
pub fn gaussian(features: &[f32], dim: usize) -> (DVector<f64>, DMatrix<f64>) {
    let n = features.len() / dim.max(1);
    let x = DMatrix::from_row_slice(
        n,
        dim,
        &features[..n * dim]
            .iter()
            .map(|&v| v as f64)
            .collect::<Vec<_>>(),
    );
    let mean = DVector::from_iterator(dim, x.column_iter().map(|c| c.mean()));
    let mut centered = x;
    for mut row in centered.row_iter_mut() {
        row -= mean.transpose();
    }
    let cov = centered.transpose() * &centered / (n.max(2) - 1) as f64;
    (mean, cov)
}

/// The principal square root of a symmetric positive semi-definite matrix (negative
/// eigenvalues from rounding are clamped to zero).
pub fn sqrtm_psd(m: &DMatrix<f64>) -> DMatrix<f64> {
    let sym = (m + m.transpose()) * 0.5;
    let eig = SymmetricEigen::new(sym);
    let roots = eig.eigenvalues.map(|l| l.max(0.0).sqrt());
    &eig.eigenvectors * DMatrix::from_diagonal(&roots) * eig.eigenvectors.transpose()
}

/// Tr((S1 S2)^½) for covariance matrices S1, S2.
pub fn trace_sqrt_product(s1: &DMatrix<f64>, s2: &DMatrix<f64>) -> f64 {
    let r = sqrtm_psd(s1);
    let inner = &r * s2 * &r;
    SymmetricEigen::new((&inner + inner.transpose()) * 0.5)
        .eigenvalues
        .iter()
        .map(|l| l.max(0.0).sqrt())
        .sum()
}

/// The squared Fréchet distance between N(mu1, s1) and N(mu2, s2).
pub fn frechet_distance(
    mu1: &DVector<f64>,
    s1: &DMatrix<f64>,
    mu2: &DVector<f64>,
    s2: &DMatrix<f64>,
) -> f64 {
    let diff = mu1 - mu2;
    let d = diff.dot(&diff) + s1.trace() + s2.trace() - 2.0 * trace_sqrt_product(s1, s2);
    d.max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqrtm_of_a_known_matrix() {
        // [[5, 4], [4, 5]] = Q diag(9, 1) Qᵀ, whose root is [[2, 1], [1, 2]].
        let m = DMatrix::from_row_slice(2, 2, &[5.0, 4.0, 4.0, 5.0]);
        let r = sqrtm_psd(&m);
        let want = DMatrix::from_row_slice(2, 2, &[2.0, 1.0, 1.0, 2.0]);
        assert!((r - want).abs().max() < 1e-12);
    }

    #[test]
    fn trace_sqrt_product_matches_the_commuting_case() {
        // Diagonal matrices commute: Tr((S1 S2)^½) = Σ sqrt(a_i b_i).
        let s1 = DMatrix::from_diagonal(&DVector::from_vec(vec![4.0, 9.0, 0.25]));
        let s2 = DMatrix::from_diagonal(&DVector::from_vec(vec![1.0, 4.0, 16.0]));
        assert!((trace_sqrt_product(&s1, &s2) - (2.0 + 6.0 + 2.0)).abs() < 1e-12);
    }

    #[test]
    fn frechet_distance_of_known_gaussians() {
        // Same covariance, shifted mean: d² = |mu1 - mu2|².
        let s = DMatrix::from_row_slice(2, 2, &[2.0, 0.5, 0.5, 1.0]);
        let a = DVector::from_vec(vec![0.0, 0.0]);
        let b = DVector::from_vec(vec![3.0, 4.0]);
        assert!((frechet_distance(&a, &s, &b, &s) - 25.0).abs() < 1e-9);
        // 1-D: (m1-m2)² + (s1 - s2)² for standard deviations s1, s2.
        let v1 = DMatrix::from_element(1, 1, 4.0);
        let v2 = DMatrix::from_element(1, 1, 9.0);
        let m = DVector::from_element(1, 0.0);
        assert!((frechet_distance(&m, &v1, &m, &v2) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn gaussian_fit_matches_numpy_cov() {
        // np.cov([[1,2],[3,5],[5,9]], rowvar=False) = [[4, 7], [7, 12.333..]]
        let (mean, cov) = gaussian(&[1.0, 2.0, 3.0, 5.0, 5.0, 9.0], 2);
        assert_eq!(mean.as_slice(), &[3.0, 16.0 / 3.0]);
        let want = DMatrix::from_row_slice(2, 2, &[4.0, 7.0, 7.0, 37.0 / 3.0]);
        assert!((cov - want).abs().max() < 1e-12);
    }
}
