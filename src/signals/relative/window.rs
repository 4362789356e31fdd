//! A trailing, time-bounded sample of one metric, kept sorted as it arrives so that a percentile
//! is a binary search away (never a sort per cycle).

use std::collections::VecDeque;

/// The samples of one metric inside `[newest − span, newest]`, by time and sorted by value.
#[derive(Debug, Clone, Default)]
pub struct TrailingWindow {
    /// Arrival order: `(time_ms, value)`, oldest first. Drives eviction.
    by_time: VecDeque<(i64, f64)>,
    /// The same values, ascending.
    sorted: Vec<f64>,
}

impl TrailingWindow {
    /// Adds one sample at `time_ms` and drops the samples older than `time_ms − span_ms`.
    /// Non-finite values are skipped; so is a sample older than the newest one (history arrives
    /// in order; a late one would break the eviction order).
    pub fn push(&mut self, time_ms: i64, value: f64, span_ms: i64) {
        if !value.is_finite() || self.by_time.back().is_some_and(|(t, _)| *t > time_ms) {
            return;
        }
        let cutoff = time_ms.saturating_sub(span_ms);
        if self.replace_oldest(cutoff, time_ms, value) {
            return;
        }
        self.by_time.push_back((time_ms, value));
        let at = self.sorted.partition_point(|v| *v < value);
        self.sorted.insert(at, value);
        self.evict_before(time_ms.saturating_sub(span_ms));
    }

    /// The steady state of a full window: exactly one sample leaves as one arrives. The new value
    /// takes the old one's place in the sorted copy with one shift of the values between the
    /// two, instead of a removal and an insertion that each shift half the window. `false` (and
    /// nothing done) when that is not the case.
    fn replace_oldest(&mut self, cutoff_ms: i64, time_ms: i64, value: f64) -> bool {
        let only_one_leaves = match (self.by_time.front(), self.by_time.get(1)) {
            (Some((t0, _)), next) => *t0 < cutoff_ms && next.is_none_or(|(t1, _)| *t1 >= cutoff_ms),
            (None, _) => false,
        };
        if !only_one_leaves {
            return false;
        }
        let Some(&(_, old)) = self.by_time.front() else {
            return false;
        };
        let i = self.sorted.partition_point(|x| *x < old);
        if self.sorted.get(i) != Some(&old) {
            return false;
        }
        self.by_time.pop_front();
        self.by_time.push_back((time_ms, value));
        let j = self.sorted.partition_point(|x| *x < value);
        if j <= i {
            // The values in j..i move up one; the new one goes in at j.
            self.sorted[j..=i].rotate_right(1);
            self.sorted[j] = value;
        } else {
            // The values in i+1..j move down one; the new one goes in after them.
            self.sorted[i..j].rotate_left(1);
            self.sorted[j - 1] = value;
        }
        true
    }

    /// Drops every sample older than `cutoff_ms`.
    pub fn evict_before(&mut self, cutoff_ms: i64) {
        while let Some(&(t, v)) = self.by_time.front() {
            if t >= cutoff_ms {
                break;
            }
            self.by_time.pop_front();
            // Any copy of an equal value will do: they are indistinguishable.
            let at = self.sorted.partition_point(|x| *x < v);
            if self.sorted.get(at) == Some(&v) {
                self.sorted.remove(at);
            }
        }
    }

    /// Merges history `items` (any order) into the window, one sample per `period_ms` period: an
    /// item whose period already holds a sample is dropped (what is there stays), as is a second
    /// item of one period; the rest join in time order. Then the window keeps
    /// `[newest − span, newest]`. Rebuilds the window: for seeding, not for every cycle.
    pub fn merge(&mut self, items: &[(i64, f64)], period_ms: i64, span_ms: i64) {
        let period = period_ms.max(1);
        let mut taken: std::collections::HashSet<i64> = self
            .by_time
            .iter()
            .map(|(t, _)| t.div_euclid(period))
            .collect();
        let mut fresh: Vec<(i64, f64)> = items
            .iter()
            .copied()
            .filter(|(_, v)| v.is_finite())
            .collect();
        fresh.sort_by_key(|(t, _)| *t);
        let before = self.by_time.len();
        let mut all: Vec<(i64, f64)> = self.by_time.drain(..).collect();
        all.extend(
            fresh
                .into_iter()
                .filter(|(t, _)| taken.insert(t.div_euclid(period))),
        );
        if all.len() == before {
            self.by_time = all.into();
            return;
        }
        all.sort_by_key(|(t, _)| *t);
        self.sorted = all.iter().map(|(_, v)| *v).collect();
        self.sorted.sort_by(f64::total_cmp);
        let newest = all.last().map_or(0, |(t, _)| *t);
        self.by_time = all.into();
        self.evict_before(newest.saturating_sub(span_ms));
    }

    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sorted.is_empty()
    }

    /// Time of the oldest and newest sample.
    pub fn span(&self) -> Option<(i64, i64)> {
        Some((self.by_time.front()?.0, self.by_time.back()?.0))
    }

    /// The `p`-th percentile (0–100), linearly interpolated between the two nearest ranks (the
    /// common "type 7" definition); `None` when empty.
    pub fn percentile(&self, p: f64) -> Option<f64> {
        let n = self.sorted.len();
        if n == 0 || !p.is_finite() {
            return None;
        }
        let rank = (p.clamp(0.0, 100.0) / 100.0) * (n - 1) as f64;
        let lo = rank.floor() as usize;
        let hi = (lo + 1).min(n - 1);
        let frac = rank - lo as f64;
        Some(self.sorted[lo] + (self.sorted[hi] - self.sorted[lo]) * frac)
    }

    pub fn max(&self) -> Option<f64> {
        self.sorted.last().copied()
    }

    pub fn min(&self) -> Option<f64> {
        self.sorted.first().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_between_ranks() {
        let mut w = TrailingWindow::default();
        for (i, v) in [5.0, 1.0, 4.0, 2.0, 3.0].into_iter().enumerate() {
            w.push(i as i64, v, 100);
        }
        assert_eq!(w.percentile(0.0), Some(1.0));
        assert_eq!(w.percentile(50.0), Some(3.0));
        assert_eq!(w.percentile(100.0), Some(5.0));
        assert_eq!(w.percentile(87.5), Some(4.5));
        assert_eq!(TrailingWindow::default().percentile(50.0), None);
    }

    #[test]
    fn old_samples_leave_the_window_and_the_sorted_copy() {
        let mut w = TrailingWindow::default();
        w.push(0, 100.0, 10);
        w.push(5, 1.0, 10);
        w.push(10, 2.0, 10);
        assert_eq!(w.len(), 3, "a sample exactly `span` old stays");
        w.push(11, 3.0, 10);
        assert_eq!(w.len(), 3);
        assert_eq!(w.max(), Some(3.0), "the 100 left with its time");
        assert_eq!(w.span(), Some((5, 11)));
    }

    #[test]
    fn ties_are_removed_one_at_a_time() {
        let mut w = TrailingWindow::default();
        for t in 0..4 {
            w.push(t, 0.01, 100);
        }
        w.evict_before(2);
        assert_eq!(w.len(), 2);
        assert_eq!(w.percentile(50.0), Some(0.01));
    }

    #[test]
    fn a_full_window_stays_sorted_as_samples_replace_each_other() {
        // A pseudo-random walk through a 100-sample window, checked against a plain sort.
        let mut w = TrailingWindow::default();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut all: Vec<(i64, f64)> = Vec::new();
        for t in 0..1000i64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Few distinct values, so that ties are common.
            let v = (x % 37) as f64 / 4.0;
            w.push(t, v, 99);
            all.push((t, v));
            let mut want: Vec<f64> = all
                .iter()
                .filter(|(s, _)| *s >= t - 99)
                .map(|(_, v)| *v)
                .collect();
            want.sort_by(f64::total_cmp);
            assert_eq!(w.sorted, want, "at {t}");
            assert_eq!(w.len(), want.len());
        }
    }

    #[test]
    fn merging_history_keeps_one_sample_per_period_in_time_order() {
        let mut w = TrailingWindow::default();
        w.push(10 * 60, 7.0, 1000 * 60);
        w.push(11 * 60, 8.0, 1000 * 60);
        // Older history, out of order, one sample in a period that is already there.
        w.merge(
            &[(9 * 60, 1.0), (7 * 60, 2.0), (11 * 60 + 5, 99.0)],
            60,
            1000 * 60,
        );
        assert_eq!(w.len(), 4);
        assert_eq!(w.span(), Some((7 * 60, 11 * 60)));
        assert_eq!(w.max(), Some(8.0), "the period's own sample stays");
        assert_eq!(w.percentile(0.0), Some(1.0));
        // Live samples go on after a merge, and the window still evicts by time.
        w.push(12 * 60, 3.0, 4 * 60);
        assert_eq!(w.span(), Some((9 * 60, 12 * 60)));
        assert_eq!(w.len(), 4);
        // History older than the window is dropped on arrival.
        w.merge(&[(60, 50.0)], 60, 4 * 60);
        assert_eq!(w.max(), Some(8.0));
    }

    #[test]
    fn non_finite_and_out_of_order_samples_are_skipped() {
        let mut w = TrailingWindow::default();
        w.push(10, f64::NAN, 100);
        w.push(10, f64::INFINITY, 100);
        w.push(10, 1.0, 100);
        w.push(9, 2.0, 100);
        assert_eq!(w.len(), 1);
    }
}
