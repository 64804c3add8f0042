//! Statistics the detectors need: the Shapiro–Wilk W test and the normal quantile function.

/// Inverse of the standard normal CDF (Acklam's rational approximation, |rel. error| < 1.2e-9).
pub(crate) fn norm_ppf(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// The Shapiro–Wilk W statistic (Royston 1992 coefficients, as scipy's swilk), for 3 ≤ n ≤
/// 5000; `None` outside that or for constant data.
pub fn shapiro_w(data: &[f64]) -> Option<f64> {
    let n = data.len();
    if !(3..=5000).contains(&n) {
        return None;
    }
    let mut x = data.to_vec();
    x.sort_by(f64::total_cmp);
    let nf = n as f64;
    let m: Vec<f64> = (1..=n)
        .map(|i| norm_ppf((i as f64 - 0.375) / (nf + 0.25)))
        .collect();
    let mm: f64 = m.iter().map(|v| v * v).sum();
    let u = 1.0 / nf.sqrt();
    let an = m[n - 1] / mm.sqrt() + 0.221_157 * u - 0.147_981 * u.powi(2) - 2.071_190 * u.powi(3)
        + 4.434_685 * u.powi(4)
        - 2.706_056 * u.powi(5);
    let mut a = vec![0f64; n];
    if n > 5 {
        let an1 =
            m[n - 2] / mm.sqrt() + 0.042_981 * u - 0.293_762 * u.powi(2) - 1.752_461 * u.powi(3)
                + 5.682_633 * u.powi(4)
                - 3.582_633 * u.powi(5);
        let phi = (mm - 2.0 * m[n - 1].powi(2) - 2.0 * m[n - 2].powi(2))
            / (1.0 - 2.0 * an.powi(2) - 2.0 * an1.powi(2));
        for i in 2..n - 2 {
            a[i] = m[i] / phi.sqrt();
        }
        a[n - 1] = an;
        a[n - 2] = an1;
        a[0] = -an;
        a[1] = -an1;
    } else {
        let phi = (mm - 2.0 * m[n - 1].powi(2)) / (1.0 - 2.0 * an.powi(2));
        for i in 1..n - 1 {
            a[i] = m[i] / phi.sqrt();
        }
        a[n - 1] = an;
        a[0] = -an;
    }
    let mean = x.iter().sum::<f64>() / nf;
    let ss: f64 = x.iter().map(|v| (v - mean).powi(2)).sum();
    if ss <= 0.0 {
        return None;
    }
    let num: f64 = a
        .iter()
        .zip(&x)
        .map(|(ai, xi)| ai * xi)
        .sum::<f64>()
        .powi(2);
    Some((num / ss).min(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapiro_w_matches_scipy() {
        // scipy 1.x `scipy.stats.shapiro` on the same data.
        let u: Vec<f64> = (0..120).map(|i| ((i * 37) % 101) as f64).collect();
        let e: Vec<f64> = u.iter().map(|v| (v / 20.0).exp()).collect();
        let n: Vec<f64> = (0..120)
            .map(|i| norm_ppf((i as f64 + 0.5) / 120.0))
            .collect();
        for (data, want) in [
            (u, 0.954_662_428_920_064_5),
            (e, 0.759_275_732_519_762_1),
            (n, 0.999_629_195_518_708_5),
        ] {
            let w = shapiro_w(&data).unwrap();
            assert!((w - want).abs() < 2e-4, "{w} vs {want}");
        }
        assert!(shapiro_w(&[1.0, 1.0, 1.0]).is_none());
        assert!((norm_ppf(0.975) - 1.959_963_984_540_054).abs() < 1e-8);
    }
}
