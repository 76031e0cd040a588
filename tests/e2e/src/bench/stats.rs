//! Summaries of measured durations (milliseconds): nearest-rank percentiles,
//! so p99 of 200 samples is the 198th smallest, a value that was measured.
use std::time::SystemTime;

use serde::Serialize;

/// Count, extremes, mean and percentiles of one series, in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub count: usize,
    pub min_ms: f64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Summary {
    /// `None` for an empty series.
    pub fn of(samples: &[f64]) -> Option<Summary> {
        let mut sorted: Vec<f64> = samples.iter().copied().filter(|s| s.is_finite()).collect();
        if sorted.is_empty() {
            return None;
        }
        sorted.sort_by(f64::total_cmp);
        let mean = sorted.iter().sum::<f64>() / sorted.len() as f64;
        Some(Summary {
            count: sorted.len(),
            min_ms: sorted[0],
            mean_ms: mean,
            p50_ms: percentile(&sorted, 50.0),
            p90_ms: percentile(&sorted, 90.0),
            p99_ms: percentile(&sorted, 99.0),
            max_ms: sorted[sorted.len() - 1],
        })
    }
}

/// The nearest-rank percentile of an ascending, non-empty series.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// `to - from` in milliseconds, negative if `to` is earlier (a clock step
/// shows instead of being hidden).
pub fn millis_between(from: SystemTime, to: SystemTime) -> f64 {
    match to.duration_since(from) {
        Ok(d) => d.as_secs_f64() * 1000.0,
        Err(e) => -e.duration().as_secs_f64() * 1000.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn percentiles_are_nearest_rank_values_of_the_series() {
        let samples: Vec<f64> = (1..=200).rev().map(f64::from).collect();
        let summary = Summary::of(&samples).unwrap();
        assert_eq!(summary.count, 200);
        assert_eq!(summary.min_ms, 1.0);
        assert_eq!(summary.p50_ms, 100.0);
        assert_eq!(summary.p90_ms, 180.0);
        assert_eq!(summary.p99_ms, 198.0);
        assert_eq!(summary.max_ms, 200.0);
        assert_eq!(summary.mean_ms, 100.5);
    }

    #[test]
    fn one_sample_is_every_percentile_and_none_is_no_summary() {
        let summary = Summary::of(&[7.5]).unwrap();
        assert_eq!((summary.p50_ms, summary.p99_ms), (7.5, 7.5));
        assert_eq!(Summary::of(&[]), None);
    }

    #[test]
    fn an_earlier_end_gives_a_negative_duration() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(10);
        let later = t + Duration::from_micros(1500);
        assert_eq!(millis_between(t, later), 1.5);
        assert_eq!(millis_between(later, t), -1.5);
    }
}
