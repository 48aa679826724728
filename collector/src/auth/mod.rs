//! Dashboard login: one owner password (Argon2id, OWASP's parameters), set
//! once by first-run setup or `MALLARD_ADMIN_PASSWORD`, kept as a salted
//! hash in the settings store (`auth`: `<data>/auth.json`, 0600, or the
//! shared catalog). Sessions are 256-bit random tokens; only their SHA-256
//! digests are kept, with an expiry (in memory, or the shared catalog so any
//! collector knows them). Failed logins lock out the client's IP, and all
//! clients when failures pile up from many addresses, for
//! `MALLARD_LOGIN_LOCKOUT` (counted per collector).

pub mod access;
pub mod audit;
pub mod grants;
pub mod keys;
pub mod secret;
pub mod shares;

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::{Algorithm, Argon2, Params, Version};
use mallard_core::time::now_micros;
use serde::{Deserialize, Serialize};

use crate::store::{Doc, Store};

/// OWASP's Argon2id recommendation: 19 MiB, 2 passes, 1 lane.
const MEMORY_KIB: u32 = 19 * 1024;
const PASSES: u32 = 2;
const LANES: u32 = 1;
/// Failed logins from one IP within the lockout period that lock it.
const PER_IP_FAILURES: u32 = 5;
/// Failed logins from all IPs within the lockout period that lock everyone.
const GLOBAL_FAILURES: usize = 50;
pub const MIN_PASSWORD: usize = 10;
const ALREADY_SET: &str = "a password is already set; log in instead";

#[derive(Serialize, Deserialize, Clone)]
struct PasswordHash {
    salt: String,
    hash: String,
    memory_kib: u32,
    passes: u32,
    lanes: u32,
}

fn argon2(password: &str, salt: &[u8], memory_kib: u32, passes: u32, lanes: u32) -> io::Result<[u8; 32]> {
    let params = Params::new(memory_kib, passes, lanes, Some(32)).map_err(|e| io::Error::other(e.to_string()))?;
    let mut out = [0u8; 32];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(password.as_bytes(), salt, &mut out)
        .map_err(|e| io::Error::other(e.to_string()))?;
    Ok(out)
}

impl PasswordHash {
    fn new(password: &str) -> io::Result<PasswordHash> {
        let salt = secret::random::<16>()?;
        let hash = argon2(password, &salt, MEMORY_KIB, PASSES, LANES)?;
        Ok(PasswordHash {
            salt: secret::to_hex(&salt),
            hash: secret::to_hex(&hash),
            memory_kib: MEMORY_KIB,
            passes: PASSES,
            lanes: LANES,
        })
    }

    fn verify(&self, password: &str) -> bool {
        let (Some(salt), Some(want)) = (secret::from_hex(&self.salt), secret::from_hex(&self.hash)) else {
            return false;
        };
        argon2(password, &salt, self.memory_kib, self.passes, self.lanes).is_ok_and(|got| secret::same(&got, &want))
    }
}

#[derive(Serialize, Deserialize, Default, Clone)]
struct AuthFile {
    password: Option<PasswordHash>,
}

/// Why a login failed.
#[derive(Debug)]
pub enum LoginError {
    /// Too many failures: try again after this long.
    Locked(Duration),
    Wrong,
    NoPassword,
    /// The session could not be stored (the shared store is unreachable).
    Store(io::Error),
}

#[derive(Default)]
struct Lockout {
    /// Per IP: failures in the current period, its start, locked until.
    ips: HashMap<IpAddr, (u32, Instant, Option<Instant>)>,
    /// Times of recent failures from anywhere.
    recent: Vec<Instant>,
    everyone_until: Option<Instant>,
}

pub struct Auth {
    password: Doc<AuthFile>,
    /// Session digest → expiry (unix microseconds).
    sessions: Doc<BTreeMap<String, i64>>,
    lockout: Mutex<Lockout>,
    session_ttl: Duration,
    lockout_for: Duration,
    /// While no password exists: the one-time token that first-run setup
    /// from another machine must present (printed in the start-up log).
    setup_token: Mutex<Option<String>>,
}

impl Auth {
    /// Opens the password and sessions in `store`; `initial`
    /// (MALLARD_ADMIN_PASSWORD) sets the password when none exists yet.
    pub fn open(
        store: &Store,
        initial: Option<&str>,
        session_ttl: Duration,
        lockout_for: Duration,
    ) -> io::Result<Auth> {
        let auth = Auth {
            password: store.open("auth")?,
            sessions: store.open_volatile("sessions")?,
            lockout: Mutex::new(Lockout::default()),
            session_ttl,
            lockout_for,
            setup_token: Mutex::new(None),
        };
        if let Some(password) = initial
            && !auth.has_password()
        {
            auth.setup(password).map_err(io::Error::other)?;
        }
        if !auth.has_password() {
            *auth.setup_token.lock().unwrap_or_else(|e| e.into_inner()) = Some(secret::token("setup_")?);
        }
        Ok(auth)
    }

    /// The one-time setup token, while no password exists.
    pub fn setup_token(&self) -> Option<String> {
        if self.has_password() {
            return None;
        }
        self.setup_token.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Whether `given` is the setup token (in constant time).
    pub fn is_setup_token(&self, given: &str) -> bool {
        self.setup_token().is_some_and(|t| secret::same(t.as_bytes(), given.as_bytes()))
    }

    pub fn has_password(&self) -> bool {
        self.password.read(|f| f.password.is_some())
    }

    /// First-run setup: only while no password exists.
    pub fn setup(&self, password: &str) -> Result<(), String> {
        if password.chars().count() < MIN_PASSWORD {
            return Err(format!("the password needs at least {MIN_PASSWORD} characters"));
        }
        if self.has_password() {
            return Err(ALREADY_SET.into());
        }
        let hash = PasswordHash::new(password).map_err(|e| format!("cannot hash the password: {e}"))?;
        // Set only if still unset: another collector may have won meanwhile.
        let set = self
            .password
            .update(|f| f.password.is_none() && f.password.replace(hash).is_none())
            .map_err(|e| format!("cannot save the password hash: {e}"))?;
        if !set {
            return Err(ALREADY_SET.into());
        }
        // Used once: with a password set, setup is closed for good.
        self.setup_token.lock().unwrap_or_else(|e| e.into_inner()).take();
        Ok(())
    }

    /// Checks the password from `ip`; a new session token on success.
    pub fn login(&self, ip: IpAddr, password: &str) -> Result<String, LoginError> {
        let now = Instant::now();
        if let Some(wait) = self.locked(ip, now) {
            return Err(LoginError::Locked(wait));
        }
        let hash = self.password.read(|f| f.password.clone()).ok_or(LoginError::NoPassword)?;
        if !hash.verify(password) {
            self.failed(ip, now);
            return Err(LoginError::Wrong);
        }
        self.lockout.lock().unwrap_or_else(|e| e.into_inner()).ips.remove(&ip);
        let token = secret::token("").map_err(|_| LoginError::Wrong)?;
        let (now, ttl) = (now_micros(), i64::try_from(self.session_ttl.as_micros()).unwrap_or(i64::MAX / 2));
        let digest = secret::digest(&token);
        self.sessions
            .update(|sessions| {
                sessions.retain(|_, until| *until > now);
                sessions.insert(digest, now.saturating_add(ttl));
            })
            .map_err(LoginError::Store)?;
        Ok(token)
    }

    fn locked(&self, ip: IpAddr, now: Instant) -> Option<Duration> {
        let lockout = self.lockout.lock().unwrap_or_else(|e| e.into_inner());
        let ip_until = lockout.ips.get(&ip).and_then(|(_, _, until)| *until);
        [ip_until, lockout.everyone_until].into_iter().flatten().filter(|u| *u > now).max().map(|u| u - now)
    }

    fn failed(&self, ip: IpAddr, now: Instant) {
        let period = self.lockout_for;
        let mut lockout = self.lockout.lock().unwrap_or_else(|e| e.into_inner());
        let entry = lockout.ips.entry(ip).or_insert((0, now, None));
        if now - entry.1 > period {
            *entry = (0, now, None);
        }
        entry.0 += 1;
        if entry.0 >= PER_IP_FAILURES {
            *entry = (0, now, Some(now + period));
        }
        lockout.recent.retain(|t| now - *t <= period);
        lockout.recent.push(now);
        if lockout.recent.len() >= GLOBAL_FAILURES {
            lockout.everyone_until = Some(now + period);
            lockout.recent.clear();
        }
    }

    /// Whether `token` is a live session.
    pub fn session(&self, token: &str) -> bool {
        let digest = secret::digest(token);
        let now = now_micros();
        // The map lookup compares digests of random tokens: equal-prefix
        // timing reveals nothing about a token itself.
        self.sessions.find(|sessions| sessions.get(&digest).filter(|until| **until > now).copied()).is_some()
    }

    pub fn logout(&self, token: &str) -> io::Result<()> {
        let digest = secret::digest(token);
        self.sessions.update(|sessions| {
            sessions.remove(&digest);
        })
    }

    pub fn session_ttl(&self) -> Duration {
        self.session_ttl
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(tag: &str, lockout: Duration) -> Auth {
        let dir = std::env::temp_dir().join(format!("mallard-auth-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Auth::open(&Store::local(&dir), None, Duration::from_secs(60), lockout).unwrap()
    }

    #[test]
    fn setup_login_and_lockout() {
        // Each verification costs tens of ms (Argon2 by design): a window
        // long enough that five of them fit on a busy machine.
        let a = auth("ip", Duration::from_secs(3));
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(matches!(a.login(ip, "whatever-long"), Err(LoginError::NoPassword)));
        assert!(a.setup("short").is_err());
        a.setup("a long enough secret").unwrap();
        assert!(a.setup("another long secret").is_err(), "setup works once");
        let token = a.login(ip, "a long enough secret").unwrap();
        assert!(a.session(&token) && !a.session("nope"));
        for _ in 0..PER_IP_FAILURES {
            assert!(matches!(a.login(ip, "wrong password!"), Err(LoginError::Wrong)));
        }
        assert!(matches!(a.login(ip, "a long enough secret"), Err(LoginError::Locked(_))), "even the right one");
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        assert!(a.login(other, "a long enough secret").is_ok(), "other IPs are not locked");
        std::thread::sleep(Duration::from_millis(3100));
        assert!(a.login(ip, "a long enough secret").is_ok(), "the lock expires");
        a.logout(&token).unwrap();
        assert!(!a.session(&token));
    }

    #[test]
    fn failures_from_many_addresses_lock_everyone() {
        let a = auth("global", Duration::from_secs(600));
        a.setup("a long enough secret").unwrap();
        // A distributed guesser: a few tries from each of many addresses.
        for i in 0..GLOBAL_FAILURES {
            let ip: IpAddr = format!("198.51.100.{}", i / 2).parse().unwrap();
            assert!(matches!(a.login(ip, "guess guess guess"), Err(LoginError::Wrong)));
        }
        let fresh: IpAddr = "203.0.113.9".parse().unwrap();
        assert!(matches!(a.login(fresh, "a long enough secret"), Err(LoginError::Locked(_))));
    }
}
