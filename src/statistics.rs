//! What crash counts do and do not prove: the statistics of stress campaigns.
//!
//! A race fires on some runs and not others. "8/8 PASS" does not mean the race is gone, and
//! "1 crash without the fix, 0 with it" does not mean the fix works. These are the numbers that
//! say how much a count shows: a 95% interval for a crash rate (Wilson's), the highest rate still
//! consistent with seeing no crash at all, and Fisher's exact test for "A and B crash at
//! different rates".

/// The two-sided 95% normal quantile.
const Z95: f64 = 1.959_963_984_540_054;

/// Wilson's 95% score interval for `k` crashes in `n` runs: `(low, high)`, within [0, 1]. Unlike
/// the textbook `p ± z·sqrt(p(1-p)/n)`, it behaves at 0 and n crashes and for small n.
pub fn wilson(k: u64, n: u64) -> Option<(f64, f64)> {
    if n == 0 || k > n {
        return None;
    }
    let (k, n) = (k as f64, n as f64);
    let p = k / n;
    let z2 = Z95 * Z95;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = Z95 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denom;
    Some(((centre - half).max(0.0), (centre + half).min(1.0)))
}

/// The highest crash rate still consistent (at 95%, one-sided, exact binomial) with seeing no
/// crash in `n` runs: `1 - 0.05^(1/n)`. "0/8 crashed: the rate may still be as high as 31%."
pub fn upper_bound_if_none(n: u64) -> Option<f64> {
    (n > 0).then(|| 1.0 - 0.05f64.powf(1.0 / n as f64))
}

/// ln(k!) for every k up to `n`, by summation: exact to rounding, and one pass for the whole
/// test (a comparison of 50 000 runs each looks up hundreds of thousands of factorials).
fn ln_factorials(n: u64) -> Vec<f64> {
    let mut out = Vec::with_capacity(usize::try_from(n).unwrap_or(0).saturating_add(1));
    let mut acc = 0.0f64;
    out.push(0.0);
    for i in 1..=n {
        acc += (i as f64).ln();
        out.push(acc);
    }
    out
}

/// The probability of one 2×2 table with fixed margins (hypergeometric), `lf` from
/// [`ln_factorials`] of at least the table's total.
fn table_probability(lf: &[f64], a: u64, b: u64, c: u64, d: u64) -> f64 {
    let f = |k: u64| {
        usize::try_from(k)
            .ok()
            .and_then(|k| lf.get(k))
            .copied()
            .unwrap_or(f64::NAN)
    };
    (f(a + b) + f(c + d) + f(a + c) + f(b + d) - f(a + b + c + d) - f(a) - f(b) - f(c) - f(d)).exp()
}

/// Fisher's exact test, two-sided, for crashes in two configurations:
/// A crashed `a_crashed` of `a_runs` runs, B `b_crashed` of `b_runs`. The p-value is the
/// probability, were both equally likely to crash, of a split at least as uneven as the one seen.
pub fn fisher_exact(a_crashed: u64, a_runs: u64, b_crashed: u64, b_runs: u64) -> Option<f64> {
    if a_crashed > a_runs || b_crashed > b_runs || a_runs + b_runs == 0 {
        return None;
    }
    let (a, b) = (a_crashed, a_runs - a_crashed);
    let (c, d) = (b_crashed, b_runs - b_crashed);
    let row1 = a + b;
    let col1 = a + c;
    let n = a + b + c + d;
    let lf = ln_factorials(n);
    let observed = table_probability(&lf, a, b, c, d);
    // Every table with the same margins: `x` crashes in A.
    let low = col1.saturating_sub(n - row1);
    let high = row1.min(col1);
    let p: f64 = (low..=high)
        // `x >= low` keeps every cell non-negative; the order of operations keeps the
        // arithmetic so (`n - row1 - col1` alone may be negative).
        .map(|x| table_probability(&lf, x, row1 - x, col1 - x, (n - row1 + x) - col1))
        // Tables as likely as the observed one count too; the tolerance absorbs rounding.
        .filter(|&q| q <= observed * (1.0 + 1e-7))
        .sum();
    Some(p.min(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn wilson_against_published_values() {
        // 0/10: (0, 0.2775), the usual example of why Wald intervals fail at zero.
        let (lo, hi) = wilson(0, 10).unwrap();
        assert!(
            close(lo, 0.0, 1e-12) && close(hi, 0.2775, 1e-4),
            "{lo} {hi}"
        );
        // Newcombe (1998), Statistics in Medicine 17:857, method 3 on 81/263: 0.2553 to 0.3662.
        let (lo, hi) = wilson(81, 263).unwrap();
        assert!(
            close(lo, 0.2553, 1e-4) && close(hi, 0.3662, 1e-4),
            "{lo} {hi}"
        );
        // Newcombe (1998), 15/148: 0.0624 to 0.1605.
        let (lo, hi) = wilson(15, 148).unwrap();
        assert!(
            close(lo, 0.0624, 1e-4) && close(hi, 0.1605, 1e-4),
            "{lo} {hi}"
        );
        // Symmetric: k/n and (n-k)/n mirror each other.
        let (a, b) = wilson(3, 8).unwrap();
        let (c, d) = wilson(5, 8).unwrap();
        assert!(close(a, 1.0 - d, 1e-12) && close(b, 1.0 - c, 1e-12));
        assert_eq!(wilson(1, 0), None);
        assert_eq!(wilson(9, 8), None);
    }

    #[test]
    fn the_zero_event_bound() {
        // The exact one-sided 95% bound; the "rule of three" (3/n) approximates it for large n.
        assert!(close(upper_bound_if_none(8).unwrap(), 0.3123, 1e-4));
        assert!(close(upper_bound_if_none(3).unwrap(), 0.6316, 1e-4));
        assert!(close(
            upper_bound_if_none(1000).unwrap(),
            3.0 / 1000.0,
            1e-4
        ));
        assert_eq!(upper_bound_if_none(0), None);
    }

    #[test]
    fn fisher_with_more_crashes_than_the_other_side_has_runs() {
        // Found by the property test: A 2/4, B 0/1 made `n - row1 - col1` negative.
        let p = fisher_exact(2, 4, 0, 1).unwrap();
        assert!((p - 1.0).abs() < 1e-9, "{p}");
        assert_eq!(fisher_exact(2, 4, 0, 1), fisher_exact(0, 1, 2, 4));
    }

    #[test]
    fn fisher_against_published_values() {
        // Fisher's lady tasting tea: 3 of 4 cups right each way, two-sided p = 0.4857.
        assert!(close(fisher_exact(3, 4, 1, 4).unwrap(), 0.485_714, 1e-6));
        // The common textbook example (1 of 12 in one group, 9 of 12 in the other): two-sided
        // p = 0.002759.
        assert!(close(fisher_exact(1, 12, 9, 12).unwrap(), 0.002_759, 1e-6));
        // 1 crash in 8 runs without a fix, 0 in 8 with it: no evidence of a difference.
        assert!(close(fisher_exact(1, 8, 0, 8).unwrap(), 1.0, 1e-9));
        // 8/8 against 0/8: p = 2/C(16,8) = 0.000155.
        assert!(close(
            fisher_exact(8, 8, 0, 8).unwrap(),
            2.0 / 12870.0,
            1e-9
        ));
        assert_eq!(fisher_exact(3, 2, 0, 1), None);
    }
}
