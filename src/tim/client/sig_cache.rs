//! The client's cache of UserSigs: one per SDKAppID, identifier and secret key, made afresh
//! well before it expires so that a sig never expires between being chosen and reaching Tencent.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tracing::debug;

use super::{Client, Secret, Target};
use crate::tim::usersig;

#[derive(Default)]
pub(super) struct SigCache(Mutex<HashMap<SigKey, CachedSig>>);

/// The cache key. The secret key is stored as its SHA-256, so the cache holds no extra copy of
/// the secret while still telling two keys for one app apart.
#[derive(Clone, PartialEq, Eq, Hash)]
struct SigKey {
    sdkappid: u64,
    identifier: String,
    key_digest: [u8; 32],
}

impl SigKey {
    fn of(target: &Target) -> SigKey {
        SigKey {
            sdkappid: target.sdkappid,
            identifier: target.identifier.clone(),
            key_digest: Sha256::digest(target.secret_key.expose().as_bytes()).into(),
        }
    }
}

struct CachedSig {
    sig: Secret,
    /// Unix second until which Tencent accepts the sig. Wall-clock time rather than `Instant`,
    /// because that is what Tencent checks, and because a monotonic clock stops while a laptop
    /// sleeps and would keep an expired sig alive.
    expires_at: u64,
}

impl SigCache {
    /// The cached UserSig for the target, made afresh when less than a third of its validity
    /// remains.
    fn get_or_make(&self, target: &Target, validity: Duration) -> Secret {
        let validity = validity.as_secs().max(1);
        let key = SigKey::of(target);
        let now = usersig::unix_now();
        let mut cache = self.lock();
        let reason = match cache.get(&key) {
            Some(cached) if cached.expires_at.saturating_sub(now) > validity / 3 => {
                return cached.sig.clone();
            }
            Some(_) => "the cached one has less than a third of its validity left",
            None => "none cached",
        };
        debug!(
            sdkappid = target.sdkappid,
            identifier = %target.identifier,
            validity_s = validity,
            reason,
            "making a UserSig"
        );
        let sig = Secret::new(usersig::generate_now(
            target.secret_key.expose(),
            target.sdkappid,
            &target.identifier,
            validity,
        ));
        cache.insert(
            key,
            CachedSig {
                sig: sig.clone(),
                // `generate_now` reads the clock after `now`, so the sig lives at least this long.
                expires_at: now.saturating_add(validity),
            },
        );
        sig
    }

    fn forget(&self, target: &Target) {
        self.lock().remove(&SigKey::of(target));
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<SigKey, CachedSig>> {
        // The cache holds no invariant a panicking thread could break halfway (an entry is
        // inserted whole or not at all), so a poisoned lock is safe to keep using.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Client {
    pub(super) fn usersig(&self, target: &Target) -> Secret {
        self.inner
            .sigs
            .get_or_make(target, self.inner.options.usersig_validity)
    }

    /// Drops the target's sig after Tencent refused it as expired, so the next attempt makes a
    /// new one.
    pub(super) fn forget_usersig(&self, target: &Target) {
        self.inner.sigs.forget(target);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tim::client::test_server::target;

    #[test]
    fn usersigs_are_cached_and_renewed_before_expiry() {
        let cache = SigCache::default();
        let validity = Duration::from_secs(300);
        let target = target("http://127.0.0.1:1".into());
        let first = cache.get_or_make(&target, validity);
        assert_eq!(cache.get_or_make(&target, validity), first);
        // Age the cached sig past two thirds of its validity: the next call must make a new one.
        cache
            .lock()
            .values_mut()
            .for_each(|c| c.expires_at = usersig::unix_now() + 60);
        let renewed = cache.get_or_make(&target, validity);
        let (fields, _) = usersig::decode(renewed.expose()).unwrap();
        assert!(fields.time + fields.expire >= usersig::unix_now() + 299);
        let cached = cache.lock().values().map(|c| c.expires_at).next();
        assert!(cached.unwrap() > usersig::unix_now() + 200);
        cache.forget(&target);
        assert!(cache.lock().is_empty());
    }
}
