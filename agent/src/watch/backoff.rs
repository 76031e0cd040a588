//! The poller's interval: short after a change, growing while nothing changes, capped.

use std::time::Duration;

/// An exponential backoff between `min` and `max`.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    min: Duration,
    max: Duration,
    factor: u32,
    current: Duration,
}

impl Backoff {
    /// Starts at `min`. A `max` below `min` is raised to `min`; a factor below 1 is 1.
    pub(crate) fn new(min: Duration, max: Duration, factor: u32) -> Self {
        Self {
            min,
            max: max.max(min),
            factor: factor.max(1),
            current: min,
        }
    }

    /// How long to wait before the next poll.
    pub(crate) fn current(&self) -> Duration {
        self.current
    }

    /// Something changed: poll soon again.
    pub(crate) fn reset(&mut self) {
        self.current = self.min;
    }

    /// Nothing changed: wait longer next time, up to the cap.
    pub(crate) fn grow(&mut self) {
        self.current = self
            .current
            .checked_mul(self.factor)
            .map_or(self.max, |next| next.min(self.max));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_and_resets_to_the_minimum() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_millis(500), 2);
        let mut seen = vec![backoff.current()];
        for _ in 0..4 {
            backoff.grow();
            seen.push(backoff.current());
        }
        let millis: Vec<u128> = seen.iter().map(Duration::as_millis).collect();
        assert_eq!(millis, [100, 200, 400, 500, 500]);
        backoff.reset();
        assert_eq!(backoff.current(), Duration::from_millis(100));
    }

    #[test]
    fn backoff_with_a_cap_below_the_minimum_stays_at_the_minimum() {
        let mut backoff = Backoff::new(Duration::from_secs(2), Duration::from_secs(1), 0);
        backoff.grow();
        assert_eq!(backoff.current(), Duration::from_secs(2));
    }
}
