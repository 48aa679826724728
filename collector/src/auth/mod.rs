//! Dashboard login: users (`users`), each with an Argon2id password hash
//! and a role per site. Today's single password (`auth.json` of earlier
//! versions, first-run setup or `MALLARD_ADMIN_PASSWORD`) is the first
//! owner, named `owner`; a login without a name is theirs. Sessions are
//! 256-bit random tokens; only their SHA-256 digests are kept, with the
//! user and an expiry (in memory, or the shared catalog so any collector
//! knows them). Failed logins lock out the client's IP, and all clients
//! when failures pile up from many addresses, for `MALLARD_LOGIN_LOCKOUT`
//! (counted per collector).

pub mod access;
pub mod audit;
pub mod grants;
pub mod invitations;
pub mod keys;
pub mod password;
pub mod secret;
pub mod shares;
pub mod users;

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use mallard_core::time::now_micros;
use serde::{Deserialize, Serialize};

use crate::auth::password::PasswordHash;
use crate::auth::users::{FIRST_OWNER, User, UserError, Users};
use crate::store::{Doc, Store};

pub use crate::auth::password::MIN_PASSWORD;

/// Failed logins from one IP within the lockout period that lock it.
const PER_IP_FAILURES: u32 = 5;
/// Failed logins from all IPs within the lockout period that lock everyone.
const GLOBAL_FAILURES: usize = 50;
const ALREADY_SET: &str = "a password is already set; log in instead";

/// The single password of versions before users: read once, to become the
/// first owner.
#[derive(Serialize, Deserialize, Default, Clone)]
struct AuthFile {
    password: Option<PasswordHash>,
}

#[derive(Serialize, Deserialize, Clone)]
struct Session {
    /// Unix microseconds.
    until: i64,
    user: String,
}

/// Why a password change failed.
#[derive(Debug)]
pub enum PasswordError {
    Wrong,
    Weak(String),
    User(UserError),
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
    pub users: Users,
    /// Session digest → its user and expiry.
    sessions: Doc<BTreeMap<String, Session>>,
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
            users: Users::open(store)?,
            sessions: store.open_volatile("user_sessions")?,
            lockout: Mutex::new(Lockout::default()),
            session_ttl,
            lockout_for,
            setup_token: Mutex::new(None),
        };
        let legacy: Doc<AuthFile> = store.open("auth")?;
        if let Some(hash) = legacy.read(|f| f.password.clone())
            && auth.users.create_first_owner(hash)?
        {
            crate::log::info("the dashboard password is now the first owner's, user \"owner\"", &[]);
        }
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
        !self.users.is_empty()
    }

    /// First-run setup: only while no password exists.
    pub fn setup(&self, password: &str) -> Result<(), String> {
        password::check_new(password)?;
        if self.has_password() {
            return Err(ALREADY_SET.into());
        }
        let hash = PasswordHash::new(password).map_err(|e| format!("cannot hash the password: {e}"))?;
        // Set only if still unset: another collector may have won meanwhile.
        let set = self.users.create_first_owner(hash).map_err(|e| format!("cannot save the password hash: {e}"))?;
        if !set {
            return Err(ALREADY_SET.into());
        }
        // Used once: with a password set, setup is closed for good.
        self.setup_token.lock().unwrap_or_else(|e| e.into_inner()).take();
        Ok(())
    }

    /// Checks user `name`'s password (the first owner's without a name)
    /// from `ip`; a new session token and the user on success.
    pub fn login(&self, ip: IpAddr, name: Option<&str>, password: &str) -> Result<(String, User), LoginError> {
        let now = Instant::now();
        if let Some(wait) = self.locked(ip, now) {
            return Err(LoginError::Locked(wait));
        }
        if !self.has_password() {
            return Err(LoginError::NoPassword);
        }
        let name = users::check_name(name.unwrap_or(FIRST_OWNER)).unwrap_or_default();
        let user = match self.users.by_name(&name) {
            Some(user) if user.verify(password) => user,
            unknown => {
                if unknown.is_none() {
                    // As slow as a real check: timing tells no names apart.
                    let _ = self.users.any().map(|u| u.verify(password));
                }
                self.failed(ip, now);
                return Err(LoginError::Wrong);
            }
        };
        self.lockout.lock().unwrap_or_else(|e| e.into_inner()).ips.remove(&ip);
        let token = self.start_session(&user.id).map_err(LoginError::Store)?;
        Ok((token, user.public()))
    }

    /// A new session of user `id`: its token.
    pub fn start_session(&self, id: &str) -> io::Result<String> {
        let token = secret::token("")?;
        let (now, ttl) = (now_micros(), i64::try_from(self.session_ttl.as_micros()).unwrap_or(i64::MAX / 2));
        let session = Session { until: now.saturating_add(ttl), user: id.to_string() };
        let digest = secret::digest(&token);
        self.sessions.update(|sessions| {
            sessions.retain(|_, s| s.until > now);
            sessions.insert(digest, session);
        })?;
        Ok(token)
    }

    /// Changes user `id`'s password, given the current one, and ends their
    /// other sessions (`token`'s stays).
    pub fn change_password(&self, id: &str, token: &str, current: &str, new: &str) -> Result<(), PasswordError> {
        let user = self.users.get(id).ok_or(PasswordError::User(UserError::NotFound))?;
        if !user.verify(current) {
            return Err(PasswordError::Wrong);
        }
        password::check_new(new).map_err(PasswordError::Weak)?;
        let hash = PasswordHash::new(new).map_err(|e| PasswordError::User(UserError::Store(e)))?;
        self.users.set_password(id, hash).map_err(PasswordError::User)?;
        let keep = secret::digest(token);
        self.end_sessions(id, Some(&keep)).map_err(|e| PasswordError::User(UserError::Store(e)))
    }

    /// Ends user `id`'s sessions but `keep` (a digest).
    pub fn end_sessions(&self, id: &str, keep: Option<&str>) -> io::Result<()> {
        self.sessions.update(|sessions| sessions.retain(|digest, s| s.user != id || Some(digest.as_str()) == keep))
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

    /// The user of `token`'s live session, with their roles as they are now.
    pub fn session(&self, token: &str) -> Option<User> {
        let digest = secret::digest(token);
        let now = now_micros();
        // The map lookup compares digests of random tokens: equal-prefix
        // timing reveals nothing about a token itself.
        let id =
            self.sessions.find(|sessions| sessions.get(&digest).filter(|s| s.until > now).map(|s| s.user.clone()))?;
        self.users.get(&id).map(|u| u.public())
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
        assert!(matches!(a.login(ip, None, "whatever-long"), Err(LoginError::NoPassword)));
        assert!(a.setup("short").is_err());
        a.setup("a long enough secret").unwrap();
        assert!(a.setup("another long secret").is_err(), "setup works once");
        let (token, owner) = a.login(ip, None, "a long enough secret").unwrap();
        assert!(a.session(&token).is_some_and(|u| u.id == owner.id) && a.session("nope").is_none());
        assert!(a.login(ip, Some("owner"), "a long enough secret").is_ok(), "the first owner's name is owner");
        for _ in 0..PER_IP_FAILURES {
            assert!(matches!(a.login(ip, None, "wrong password!"), Err(LoginError::Wrong)));
        }
        assert!(matches!(a.login(ip, None, "a long enough secret"), Err(LoginError::Locked(_))), "even the right one");
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        assert!(a.login(other, None, "a long enough secret").is_ok(), "other IPs are not locked");
        std::thread::sleep(Duration::from_millis(3100));
        assert!(a.login(ip, None, "a long enough secret").is_ok(), "the lock expires");
        a.logout(&token).unwrap();
        assert!(a.session(&token).is_none());
    }

    #[test]
    fn users_log_in_by_name_and_change_their_password() {
        let a = auth("users", Duration::from_secs(600));
        a.setup("a long enough secret").unwrap();
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let hash = PasswordHash::new("viewer's own secret").unwrap();
        let ana = a.users.add("ana", hash, "a.com", users::Role::Viewer).unwrap();
        assert!(matches!(a.login(ip, Some("ana"), "a long enough secret"), Err(LoginError::Wrong)));
        assert!(matches!(a.login(ip, Some("bob"), "viewer's own secret"), Err(LoginError::Wrong)));
        let (first, _) = a.login(ip, Some("ANA"), "viewer's own secret").unwrap();
        let (second, user) = a.login(ip, Some("ana"), "viewer's own secret").unwrap();
        assert_eq!(user.id, ana.id);
        assert!(matches!(
            a.change_password(&ana.id, &second, "wrong one!!", "brand new secret"),
            Err(PasswordError::Wrong)
        ));
        assert!(matches!(
            a.change_password(&ana.id, &second, "viewer's own secret", "short"),
            Err(PasswordError::Weak(_))
        ));
        a.change_password(&ana.id, &second, "viewer's own secret", "brand new secret").unwrap();
        assert!(a.session(&first).is_none(), "other sessions end with a new password");
        assert!(a.session(&second).is_some(), "the one that changed it stays");
        assert!(a.login(ip, Some("ana"), "brand new secret").is_ok());
        a.users.remove(&ana.id).unwrap();
        assert!(a.session(&second).is_none(), "a removed user's session opens nothing");
    }

    #[test]
    fn failures_from_many_addresses_lock_everyone() {
        let a = auth("global", Duration::from_secs(600));
        a.setup("a long enough secret").unwrap();
        // A distributed guesser: a few tries from each of many addresses.
        for i in 0..GLOBAL_FAILURES {
            let ip: IpAddr = format!("198.51.100.{}", i / 2).parse().unwrap();
            assert!(matches!(a.login(ip, None, "guess guess guess"), Err(LoginError::Wrong)));
        }
        let fresh: IpAddr = "203.0.113.9".parse().unwrap();
        assert!(matches!(a.login(fresh, None, "a long enough secret"), Err(LoginError::Locked(_))));
    }
}
