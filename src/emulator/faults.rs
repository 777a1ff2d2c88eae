//! Fault injection: which requests get a damaged answer, and how.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::VecDeque;

/// The ways the emulator can misbehave, chosen per request at `Options::fault_rate`.
///
/// The kinds differ in whether the request takes effect, and that difference is the point of
/// injecting them:
///
/// - [`BadGateway`](FaultKind::BadGateway), [`InternalError`](FaultKind::InternalError) and
///   [`RateLimited`](FaultKind::RateLimited) are decided before the request is looked at, so
///   nothing is applied: a retry simply does the work.
/// - [`Stall`](FaultKind::Stall) and [`TruncatedBody`](FaultKind::TruncatedBody) damage only the
///   answer: the operation *is* applied, then the answer is held back or cut short. A client that
///   retries a `set_callback` after such an answer therefore sees 100300 (config already exists)
///   for a create that in fact succeeded, which is exactly the case livehook's apply must
///   converge through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// HTTP 502 with an HTML body, as a gateway in front of the API answers. Nothing is applied.
    BadGateway,
    /// The request is applied, then the answer is held for `Options::stall` (the client is
    /// expected to time out first) before it is sent normally.
    Stall,
    /// ErrorCode 100001 (live_config internal error, retry). Nothing is applied.
    InternalError,
    /// ErrorCode 60007 (REST call frequency over limit). Nothing is applied. 60007 is used rather
    /// than 60011 so that the real per-SDKAppID limiter's answer (60011) stays distinguishable:
    /// livehook's tests assert that it never provokes a 60011.
    RateLimited,
    /// The request is applied, then the answer (valid JSON) is cut in half and sent with HTTP 200.
    TruncatedBody,
}

impl FaultKind {
    pub const ALL: [FaultKind; 5] = [
        FaultKind::BadGateway,
        FaultKind::Stall,
        FaultKind::InternalError,
        FaultKind::RateLimited,
        FaultKind::TruncatedBody,
    ];

    /// Whether the request still takes effect when this fault hits it.
    pub fn applies_operation(self) -> bool {
        matches!(self, FaultKind::Stall | FaultKind::TruncatedBody)
    }
}

/// Decides the fault of each request: first from a script of forced faults (tests), then at
/// random.
pub(crate) struct FaultPicker {
    rng: StdRng,
    rate: f64,
    kinds: Vec<FaultKind>,
    script: VecDeque<Option<FaultKind>>,
}

impl FaultPicker {
    /// `rate` outside 0..=1 is clamped, and NaN means no faults; a `seed` makes the sequence
    /// reproducible.
    pub(crate) fn new(rate: f64, kinds: &[FaultKind], seed: Option<u64>) -> FaultPicker {
        let rng = match seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_os_rng(),
        };
        let rate = if rate.is_nan() {
            0.0
        } else {
            rate.clamp(0.0, 1.0)
        };
        FaultPicker {
            rng,
            rate,
            kinds: kinds.to_vec(),
            script: VecDeque::new(),
        }
    }

    pub(crate) fn script(&mut self, faults: impl IntoIterator<Item = Option<FaultKind>>) {
        self.script.extend(faults);
    }

    pub(crate) fn pick(&mut self) -> Option<FaultKind> {
        if let Some(scripted) = self.script.pop_front() {
            return scripted;
        }
        if self.kinds.is_empty() || self.rate <= 0.0 {
            return None;
        }
        // `random::<f64>()` is in [0, 1), so a rate of 1.0 always hits and 0.0 never does.
        if self.rng.random::<f64>() < self.rate {
            let index = self.rng.random_range(0..self.kinds.len());
            self.kinds.get(index).copied()
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_zero_never_and_rate_one_always() {
        let mut never = FaultPicker::new(0.0, &FaultKind::ALL, Some(1));
        assert!((0..1000).all(|_| never.pick().is_none()));
        let mut always = FaultPicker::new(1.0, &FaultKind::ALL, Some(1));
        assert!((0..1000).all(|_| always.pick().is_some()));
        let mut nan = FaultPicker::new(f64::NAN, &FaultKind::ALL, Some(1));
        assert!(nan.pick().is_none());
        let mut clamped = FaultPicker::new(7.0, &[FaultKind::Stall], Some(1));
        assert_eq!(clamped.pick(), Some(FaultKind::Stall));
    }

    #[test]
    fn every_kind_is_chosen_and_the_rate_is_respected() {
        let mut picker = FaultPicker::new(0.25, &FaultKind::ALL, Some(42));
        let picks: Vec<_> = (0..20_000).map(|_| picker.pick()).collect();
        let hits = picks.iter().filter(|p| p.is_some()).count();
        assert!(
            (4_500..5_500).contains(&hits),
            "{hits} faults in 20000 at 25%"
        );
        for kind in FaultKind::ALL {
            assert!(picks.contains(&Some(kind)), "{kind:?} never chosen");
        }
    }

    #[test]
    fn a_seed_makes_the_sequence_reproducible() {
        let run = || {
            let mut picker = FaultPicker::new(0.5, &FaultKind::ALL, Some(7));
            (0..100).map(|_| picker.pick()).collect::<Vec<_>>()
        };
        assert_eq!(run(), run());
    }

    #[test]
    fn only_the_listed_kinds_are_chosen() {
        let mut picker = FaultPicker::new(1.0, &[FaultKind::TruncatedBody], None);
        assert!((0..100).all(|_| picker.pick() == Some(FaultKind::TruncatedBody)));
        let mut none = FaultPicker::new(1.0, &[], None);
        assert!(none.pick().is_none());
    }

    #[test]
    fn scripted_faults_come_first_in_order() {
        let mut picker = FaultPicker::new(0.0, &FaultKind::ALL, Some(1));
        picker.script([Some(FaultKind::Stall), None, Some(FaultKind::BadGateway)]);
        assert_eq!(picker.pick(), Some(FaultKind::Stall));
        assert_eq!(picker.pick(), None);
        assert_eq!(picker.pick(), Some(FaultKind::BadGateway));
        assert_eq!(picker.pick(), None);
    }

    #[test]
    fn only_stall_and_truncation_apply_the_operation() {
        let applied: Vec<_> = FaultKind::ALL
            .into_iter()
            .filter(|k| k.applies_operation())
            .collect();
        assert_eq!(applied, [FaultKind::Stall, FaultKind::TruncatedBody]);
    }
}
