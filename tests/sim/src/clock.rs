//! Simulated time: every duration the simulator waits is given in simulated
//! seconds and scaled to real time, so tests can run a "30 s clone" in 300 ms.
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Converts simulated durations to real ones with a fixed scale.
#[derive(Debug, Clone, Copy)]
pub struct SimClock {
    scale: f64,
}

impl SimClock {
    /// `scale` is real seconds per simulated second (1.0 = real time).
    pub fn new(scale: f64) -> Self {
        let scale = if scale.is_finite() && scale >= 0.0 {
            scale
        } else {
            1.0
        };
        Self { scale }
    }

    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// The real duration standing for `sim` simulated time.
    pub fn real(&self, sim: Duration) -> Duration {
        sim.mul_f64(self.scale)
    }

    /// Waits for `sim` simulated time.
    pub async fn sleep(&self, sim: Duration) {
        let real = self.real(sim);
        if !real.is_zero() {
            tokio::time::sleep(real).await;
        }
    }

    /// Seconds since the epoch (wall clock; PVE's UPIDs and ctime use it).
    pub fn epoch_now(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_shrinks_simulated_durations() {
        let clock = SimClock::new(0.01);
        assert_eq!(
            clock.real(Duration::from_secs(30)),
            Duration::from_millis(300)
        );
    }

    #[test]
    fn invalid_scale_falls_back_to_real_time() {
        let clock = SimClock::new(f64::NAN);
        assert_eq!(clock.real(Duration::from_secs(2)), Duration::from_secs(2));
    }
}
