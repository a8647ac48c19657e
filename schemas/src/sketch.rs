//! A mergeable duration histogram with bounded relative error (the DDSketch construction):
//! a value `v > 0` falls in bucket `ceil(log_γ v)` with `γ = (1 + α) / (1 − α)`, and every value of
//! a bucket is within `α` of the bucket's representative `2γⁱ / (γ + 1)`. Merging two sketches adds
//! bucket counts, so a quantile over any set of stored sketches is as accurate as one over the raw
//! values. skein uses `α = 1%`, values in nanoseconds.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Relative accuracy of every sketch skein writes.
pub const RELATIVE_ACCURACY: f64 = 0.01;

/// A duration sketch. Serialized as sparse, sorted `indexes` with their `counts` (stored, not
/// indexed, in Elasticsearch).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", from = "StoredSketch", into = "StoredSketch")]
pub struct DurationSketch {
    /// Values that were exactly zero.
    zero_count: u64,
    bins: BTreeMap<i32, u64>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredSketch {
    relative_accuracy: f64,
    zero_count: u64,
    indexes: Vec<i32>,
    counts: Vec<u64>,
}

impl From<StoredSketch> for DurationSketch {
    fn from(stored: StoredSketch) -> Self {
        // Sketches written with another accuracy would merge wrongly; skein only writes one.
        let bins = stored.indexes.into_iter().zip(stored.counts).collect();
        Self { zero_count: stored.zero_count, bins }
    }
}

impl From<DurationSketch> for StoredSketch {
    fn from(sketch: DurationSketch) -> Self {
        let (indexes, counts) = sketch.bins.into_iter().unzip();
        Self { relative_accuracy: RELATIVE_ACCURACY, zero_count: sketch.zero_count, indexes, counts }
    }
}

impl Default for DurationSketch {
    fn default() -> Self {
        Self::new()
    }
}

fn gamma() -> f64 {
    (1.0 + RELATIVE_ACCURACY) / (1.0 - RELATIVE_ACCURACY)
}

/// `1 / ln γ`, computed once.
fn inverse_log_gamma() -> f64 {
    static VALUE: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *VALUE.get_or_init(|| 1.0 / gamma().ln())
}

/// The bucket of a positive value.
pub fn bucket_index(value: u64) -> i32 {
    ((value as f64).ln() * inverse_log_gamma()).ceil() as i32
}

/// The value a bucket stands for.
pub fn bucket_value(index: i32) -> f64 {
    let gamma = gamma();
    2.0 * gamma.powi(index) / (gamma + 1.0)
}

impl DurationSketch {
    pub fn new() -> Self {
        Self { zero_count: 0, bins: BTreeMap::new() }
    }

    /// Add one value.
    pub fn add(&mut self, value: u64) {
        self.add_many(value, 1);
    }

    /// Add a value `count` times.
    pub fn add_many(&mut self, value: u64, count: u64) {
        if value == 0 {
            self.zero_count += count;
        } else {
            *self.bins.entry(bucket_index(value)).or_insert(0) += count;
        }
    }

    /// Add a count to a bucket directly (merging, re-exporting).
    pub fn add_to_bucket(&mut self, index: i32, count: u64) {
        *self.bins.entry(index).or_insert(0) += count;
    }

    /// Add another sketch's counts.
    pub fn merge(&mut self, other: &DurationSketch) {
        self.zero_count += other.zero_count;
        for (index, count) in &other.bins {
            *self.bins.entry(*index).or_insert(0) += count;
        }
    }

    /// Number of values.
    pub fn count(&self) -> u64 {
        self.zero_count + self.bins.values().sum::<u64>()
    }

    pub fn is_empty(&self) -> bool {
        self.zero_count == 0 && self.bins.is_empty()
    }

    /// Values exactly zero.
    pub fn zero_count(&self) -> u64 {
        self.zero_count
    }

    /// Non-empty buckets, ascending.
    pub fn buckets(&self) -> impl Iterator<Item = (i32, u64)> + '_ {
        self.bins.iter().map(|(i, c)| (*i, *c))
    }

    /// The `q` quantile (0 ≤ q ≤ 1), within the relative accuracy of the true value; `None` when
    /// empty. Uses the lower rank `⌊q·(n−1)⌋`, as DDSketch does.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let n = self.count();
        if n == 0 || !(0.0..=1.0).contains(&q) {
            return None;
        }
        let rank = (q * (n - 1) as f64).floor() as u64;
        if rank < self.zero_count {
            return Some(0.0);
        }
        let mut seen = self.zero_count;
        for (index, count) in &self.bins {
            seen += count;
            if seen > rank {
                return Some(bucket_value(*index));
            }
        }
        self.bins.keys().next_back().map(|index| bucket_value(*index))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact_quantile(sorted: &[u64], q: f64) -> f64 {
        sorted[(q * (sorted.len() - 1) as f64).floor() as usize] as f64
    }

    #[test]
    fn quantiles_are_within_one_percent_over_a_wide_range() {
        // Durations from 1 µs to ~100 s, spread log-uniformly, deterministic.
        let mut values: Vec<u64> = (0..20_000u64).map(|i| (1_000.0 * 1.0012f64.powi(i as i32)) as u64).collect();
        let mut sketch = DurationSketch::new();
        for v in &values {
            sketch.add(*v);
        }
        values.sort_unstable();
        for q in [0.0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0] {
            let exact = exact_quantile(&values, q);
            let estimate = sketch.quantile(q).unwrap();
            assert!((estimate - exact).abs() <= RELATIVE_ACCURACY * exact, "q={q} exact={exact} estimate={estimate}");
        }
    }

    #[test]
    fn merged_sketches_answer_like_one_sketch_of_all_values() {
        let mut whole = DurationSketch::new();
        let mut parts = vec![DurationSketch::new(), DurationSketch::new(), DurationSketch::new()];
        for i in 0..3000u64 {
            let v = 1 + i * i * 37 % 5_000_000;
            whole.add(v);
            parts[(i % 3) as usize].add(v);
        }
        let mut merged = DurationSketch::new();
        for part in &parts {
            merged.merge(part);
        }
        assert_eq!(merged, whole);
        assert_eq!(merged.quantile(0.99), whole.quantile(0.99));
    }

    #[test]
    fn zeros_and_empty_sketches() {
        let mut sketch = DurationSketch::new();
        assert_eq!(sketch.quantile(0.5), None);
        sketch.add(0);
        sketch.add(0);
        sketch.add(1_000_000);
        assert_eq!(sketch.quantile(0.5), Some(0.0));
        let top = sketch.quantile(1.0).unwrap();
        assert!((top - 1e6).abs() <= 1e4);
        assert_eq!(sketch.count(), 3);
    }

    #[test]
    fn stored_form_round_trips_with_sorted_sparse_buckets() {
        let mut sketch = DurationSketch::new();
        sketch.add_many(5_000, 3);
        sketch.add(0);
        sketch.add(10);
        let json = serde_json::to_value(&sketch).unwrap();
        assert_eq!(json["relativeAccuracy"], 0.01);
        assert_eq!(json["zeroCount"], 1);
        let indexes: Vec<i64> = serde_json::from_value(json["indexes"].clone()).unwrap();
        assert!(indexes.windows(2).all(|w| w[0] < w[1]));
        let back: DurationSketch = serde_json::from_value(json).unwrap();
        assert_eq!(back, sketch);
    }
}
