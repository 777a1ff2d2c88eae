//! Fault injection: which requests get a damaged answer, and how.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::{HashMap, VecDeque};

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
    /// The request is applied, then the answer (valid JSON) is cut short by [`cut_short`] and
    /// sent with HTTP 200.
    TruncatedBody,
    /// The request is applied, then answered with this HTTP status (a 5xx or 408) and an HTML
    /// body instead of the envelope: a gateway that stopped waiting for a backend which carried
    /// the request out all the same. Scripted only, not among [`FaultKind::ALL`], so that seeded
    /// fault runs keep the sequences they had.
    StatusAfterApply(u16),
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
        matches!(
            self,
            FaultKind::Stall | FaultKind::TruncatedBody | FaultKind::StatusAfterApply(_)
        )
    }
}

/// A [`FaultKind::TruncatedBody`] answer: cut halfway through its `Response` when it has one
/// (so that a damaged `get_callback_token` answer carries part of the token, which is what a
/// leak test needs to catch a client that logs what it could not parse), else halfway through
/// the whole body. The cut lands on a character boundary, so the body stays UTF-8 but is no
/// longer JSON.
pub(crate) fn cut_short(mut body: Vec<u8>) -> Vec<u8> {
    const RESPONSE: &[u8] = b"\"Response\":";
    let start = body
        .windows(RESPONSE.len())
        .position(|w| w == RESPONSE)
        .map_or(0, |at| at + RESPONSE.len());
    let mut cut = start + (body.len() - start) / 2;
    while cut > 0 && (body[cut] & 0b1100_0000) == 0b1000_0000 {
        cut -= 1;
    }
    body.truncate(cut);
    body
}

/// Decides the fault of each request: first from a script of forced faults (tests), then at
/// random.
///
/// With a seed, each request's fault depends only on the seed, the request's key (its SDKAppID
/// and command) and how many requests with that key came before it, not on how requests of
/// different apps interleave. A concurrent client (livehook reads and applies many apps at
/// once, while each app's own calls go one after another) therefore meets the same faults on
/// the same calls in every run, which is what makes a seeded fault soak reproducible.
pub(crate) struct FaultPicker {
    rng: StdRng,
    seed: Option<u64>,
    seen: HashMap<String, u64>,
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
            seed,
            seen: HashMap::new(),
            rate,
            kinds: kinds.to_vec(),
            script: VecDeque::new(),
        }
    }

    pub(crate) fn script(&mut self, faults: impl IntoIterator<Item = Option<FaultKind>>) {
        self.script.extend(faults);
    }

    /// The fault for the next request with this key (e.g. `1400000001/set_callback`).
    pub(crate) fn pick(&mut self, key: &str) -> Option<FaultKind> {
        if let Some(scripted) = self.script.pop_front() {
            return scripted;
        }
        if self.kinds.is_empty() || self.rate <= 0.0 {
            return None;
        }
        let mut keyed;
        let rng = match self.seed {
            Some(seed) => {
                let n = self.seen.entry(key.to_owned()).or_default();
                *n += 1;
                keyed = StdRng::seed_from_u64(seed ^ fnv1a(key.as_bytes(), *n));
                &mut keyed
            }
            None => &mut self.rng,
        };
        // `random::<f64>()` is in [0, 1), so a rate of 1.0 always hits and 0.0 never does.
        if rng.random::<f64>() < self.rate {
            let index = rng.random_range(0..self.kinds.len());
            self.kinds.get(index).copied()
        } else {
            None
        }
    }
}

/// FNV-1a over the key and the request's ordinal: stable across runs and platforms (unlike
/// `std`'s randomly keyed hasher), which is all a seed derivation needs.
fn fnv1a(key: &[u8], n: u64) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in key.iter().chain(&n.to_le_bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_zero_never_and_rate_one_always() {
        let mut never = FaultPicker::new(0.0, &FaultKind::ALL, Some(1));
        assert!((0..1000).all(|_| never.pick("k").is_none()));
        let mut always = FaultPicker::new(1.0, &FaultKind::ALL, Some(1));
        assert!((0..1000).all(|_| always.pick("k").is_some()));
        let mut nan = FaultPicker::new(f64::NAN, &FaultKind::ALL, Some(1));
        assert!(nan.pick("k").is_none());
        let mut clamped = FaultPicker::new(7.0, &[FaultKind::Stall], Some(1));
        assert_eq!(clamped.pick("k"), Some(FaultKind::Stall));
    }

    #[test]
    fn every_kind_is_chosen_and_the_rate_is_respected() {
        let mut picker = FaultPicker::new(0.25, &FaultKind::ALL, Some(42));
        let picks: Vec<_> = (0..20_000).map(|_| picker.pick("k")).collect();
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
            (0..100).map(|_| picker.pick("k")).collect::<Vec<_>>()
        };
        let first = run();
        assert_eq!(first, run());
        // A picker that never injected a fault would pass the comparison above trivially.
        let faults = first.iter().filter(|p| p.is_some()).count();
        assert!((25..=75).contains(&faults), "{faults} faults in 100 at 50%");
    }

    #[test]
    fn with_a_seed_each_key_has_its_own_sequence_whatever_the_interleaving() {
        let keys = ["1/get_callback", "2/get_callback", "1/set_callback"];
        let alone = |key: &str| {
            let mut picker = FaultPicker::new(0.5, &FaultKind::ALL, Some(11));
            (0..150).map(|_| picker.pick(key)).collect::<Vec<_>>()
        };
        let mut mixed = FaultPicker::new(0.5, &FaultKind::ALL, Some(11));
        let mut got: HashMap<&str, Vec<_>> = HashMap::new();
        for round in 0..150 {
            // An irregular interleaving of the three keys.
            let key = keys[(round * 7 + round / 5) % 3];
            got.entry(key).or_default().push(mixed.pick(key));
        }
        for key in keys {
            let seq = &got[key];
            assert_eq!(seq, &alone(key)[..seq.len()], "{key}");
        }
        assert_ne!(alone(keys[0]), alone(keys[1]), "keys differ");
    }

    #[test]
    fn only_the_listed_kinds_are_chosen() {
        let mut picker = FaultPicker::new(1.0, &[FaultKind::TruncatedBody], None);
        assert!((0..100).all(|_| picker.pick("k") == Some(FaultKind::TruncatedBody)));
        let mut none = FaultPicker::new(1.0, &[], None);
        assert!(none.pick("k").is_none());
    }

    #[test]
    fn a_cut_short_answer_breaks_inside_the_response() {
        let whole = br#"{"ErrorCode":0,"ErrorInfo":"","ActionStatus":"OK","RequestId":"Id-1","Response":{"Token":"token-0123456789abcdef","IsTokenEnable":true}}"#;
        let cut = String::from_utf8(cut_short(whole.to_vec())).unwrap();
        assert!(
            cut.contains(r#""Response":{"Token":"token-01234567"#),
            "{cut}"
        );
        assert!(serde_json::from_str::<serde_json::Value>(&cut).is_err());
        let no_response = br#"{"ErrorCode":100001,"ErrorInfo":"internal error"}"#;
        assert_eq!(cut_short(no_response.to_vec()).len(), no_response.len() / 2);
        let multibyte = "{\"ErrorInfo\":\"ééééééééé\"}".as_bytes().to_vec();
        assert!(String::from_utf8(cut_short(multibyte)).is_ok());
    }

    #[test]
    fn scripted_faults_come_first_in_order() {
        let mut picker = FaultPicker::new(0.0, &FaultKind::ALL, Some(1));
        picker.script([Some(FaultKind::Stall), None, Some(FaultKind::BadGateway)]);
        assert_eq!(picker.pick("k"), Some(FaultKind::Stall));
        assert_eq!(picker.pick("k"), None);
        assert_eq!(picker.pick("k"), Some(FaultKind::BadGateway));
        assert_eq!(picker.pick("k"), None);
    }
}
