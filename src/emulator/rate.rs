//! The per-SDKAppID rate limit: a sliding one-second window.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(1);

/// The admitted requests of one SDKAppID during the last second.
///
/// A sliding log rather than fixed one-second buckets: a client that sends 200 requests at the
/// end of one second and 200 at the start of the next is over Tencent's 200/s in any one-second
/// span, and livehook's own limiter must be tested against that stricter reading.
#[derive(Debug, Default)]
pub(crate) struct RateWindow {
    admitted: VecDeque<Instant>,
}

impl RateWindow {
    /// Admits a request arriving at `now` if fewer than `limit` were admitted in the second
    /// before it. Refused requests are not counted, so a client that backs off recovers after
    /// one second. A `limit` of 0 disables the check.
    pub(crate) fn admit(&mut self, now: Instant, limit: u32) -> bool {
        while let Some(&oldest) = self.admitted.front() {
            if now.saturating_duration_since(oldest) >= WINDOW {
                self.admitted.pop_front();
            } else {
                break;
            }
        }
        if limit == 0 {
            return true;
        }
        // The log never holds more than `limit` entries, so memory stays bounded.
        if self.admitted.len() >= limit as usize {
            return false;
        }
        self.admitted.push_back(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_up_to_the_limit_within_a_second() {
        let start = Instant::now();
        let mut window = RateWindow::default();
        for i in 0..5 {
            assert!(
                window.admit(start + Duration::from_millis(i * 10), 5),
                "request {i}"
            );
        }
        assert!(!window.admit(start + Duration::from_millis(100), 5));
        assert!(!window.admit(start + Duration::from_millis(999), 5));
        // The first request leaves the window exactly one second after it arrived.
        assert!(window.admit(start + Duration::from_millis(1000), 5));
        assert!(!window.admit(start + Duration::from_millis(1005), 5));
        assert!(window.admit(start + Duration::from_millis(1010), 5));
    }

    #[test]
    fn the_window_slides_rather_than_resetting_on_second_boundaries() {
        let start = Instant::now();
        let mut window = RateWindow::default();
        // Three at 0.9 s, then at 1.1 s the window [0.1 s, 1.1 s] still holds them.
        for _ in 0..3 {
            assert!(window.admit(start + Duration::from_millis(900), 3));
        }
        assert!(!window.admit(start + Duration::from_millis(1100), 3));
        assert!(window.admit(start + Duration::from_millis(1900), 3));
    }

    #[test]
    fn refused_requests_do_not_extend_the_penalty() {
        let start = Instant::now();
        let mut window = RateWindow::default();
        assert!(window.admit(start, 1));
        for ms in [100, 200, 900] {
            assert!(!window.admit(start + Duration::from_millis(ms), 1));
        }
        assert!(window.admit(start + Duration::from_millis(1000), 1));
    }

    #[test]
    fn zero_disables_the_limit() {
        let now = Instant::now();
        let mut window = RateWindow::default();
        assert!((0..10_000).all(|_| window.admit(now, 0)));
    }
}
