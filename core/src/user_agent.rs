//! User-agent parsing with uap-core's regexes (through the official
//! `ua-parser` crate), reduced to what web analytics shows: browser, OS, their
//! `major.minor` versions and a device class.
//!
//! Parsing one string costs tens of microseconds, but real traffic repeats a
//! few thousand distinct user agents, so results are cached per distinct
//! string in a bounded, sharded, process-wide cache.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, LazyLock, Mutex};

use crate::bot;

/// The device class of a user agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Device {
    Desktop,
    Mobile,
    Tablet,
    Bot,
}

impl Device {
    /// The name stored in the lake and returned by SQL.
    pub fn as_str(self) -> &'static str {
        match self {
            Device::Desktop => "desktop",
            Device::Mobile => "mobile",
            Device::Tablet => "tablet",
            Device::Bot => "bot",
        }
    }
}

/// What Mallard keeps of a user agent (the full string itself is never stored).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserAgent {
    /// uap-core browser family, e.g. `Chrome`, `Mobile Safari`; `None` when unknown.
    pub browser: Option<String>,
    /// `major.minor` (or `major` alone when that is all the string says).
    pub browser_version: Option<String>,
    /// uap-core OS family, e.g. `Windows`, `iOS`, `Mac OS X`.
    pub os: Option<String>,
    pub os_version: Option<String>,
    /// `None` when the device cannot be told.
    pub device: Option<Device>,
    /// uap-core says `Spider`, or a bot marker is present.
    pub is_bot: bool,
}

static EXTRACTOR: LazyLock<ua_parser::Extractor<'static>> = LazyLock::new(|| {
    let regexes: ua_parser::Regexes<'static> =
        serde_json::from_str(include_str!(concat!(env!("OUT_DIR"), "/uap_regexes.json")))
            .expect("embedded uap-core regexes deserialize");
    ua_parser::Extractor::try_from(regexes).expect("embedded uap-core regexes compile")
});

/// Forces the one-time compilation of the uap-core regexes (≈ 0.2 s), so a
/// server can pay it at start-up instead of on its first request.
pub fn warm_up() {
    LazyLock::force(&EXTRACTOR);
}

/// Parses `ua` without the cache.
pub fn parse_uncached(ua: &str) -> UserAgent {
    let (browser, os, device) = EXTRACTOR.extract(ua);
    let known = |family: &str| family != "Other" && !family.is_empty();
    let browser_family = browser.as_ref().map(|b| b.family.to_string()).filter(|f| known(f));
    let browser_version =
        browser.as_ref().filter(|_| browser_family.is_some()).and_then(|b| major_minor(b.major, b.minor));
    let os_family = os.as_ref().map(|o| o.os.to_string()).filter(|f| known(f));
    let os_version =
        os.as_ref().filter(|_| os_family.is_some()).and_then(|o| major_minor(o.major.as_deref(), o.minor.as_deref()));
    let device_family = device.as_ref().map(|d| d.device.as_ref()).unwrap_or("Other");
    let is_bot = device_family == "Spider" || bot::has_bot_marker(ua) || ua.trim().is_empty();
    let device = if is_bot { Some(Device::Bot) } else { classify_device(ua, os_family.as_deref(), device_family) };
    UserAgent { browser: browser_family, browser_version, os: os_family, os_version, device, is_bot }
}

fn major_minor(major: Option<&str>, minor: Option<&str>) -> Option<String> {
    let major = major.filter(|m| !m.is_empty())?;
    Some(match minor.filter(|m| !m.is_empty()) {
        Some(minor) => format!("{major}.{minor}"),
        None => major.to_string(),
    })
}

/// Tells desktop, mobile and tablet apart from the OS, uap-core's device
/// family and the conventional `Mobile`/`Tablet` tokens.
fn classify_device(ua: &str, os: Option<&str>, device_family: &str) -> Option<Device> {
    let has = |needle: &str| ua.contains(needle);
    let tablet_family =
        ["iPad", "Tablet", "Kindle", "Nexus 7", "Nexus 9", "Nexus 10"].iter().any(|t| device_family.contains(t));
    if tablet_family || has("Tablet") || has("iPad") || has("Silk/") || has("PlayBook") {
        return Some(Device::Tablet);
    }
    match os {
        Some("Android") if !has("Mobile") => Some(Device::Tablet),
        Some(
            "iOS"
            | "Android"
            | "Windows Phone"
            | "BlackBerry OS"
            | "BlackBerry Tablet OS"
            | "KaiOS"
            | "Symbian OS"
            | "Firefox OS"
            | "Tizen"
            | "HarmonyOS"
            | "Sailfish",
        ) => Some(Device::Mobile),
        _ if has("Mobi") || has("Opera Mini") || device_family == "iPhone" => Some(Device::Mobile),
        Some(
            "Windows" | "Mac OS X" | "Linux" | "Ubuntu" | "Chrome OS" | "Fedora" | "Debian" | "FreeBSD" | "OpenBSD"
            | "NetBSD" | "Red Hat" | "SUSE" | "Mint" | "Arch Linux" | "Gentoo" | "Solaris" | "Windows NT"
            | "Windows XP" | "Windows 7",
        ) => Some(Device::Desktop),
        _ => None,
    }
}

const SHARDS: usize = 16;
/// Per shard; a full shard is cleared, which bounds memory at
/// `SHARDS * SHARD_CAPACITY` parsed entries even under adversarial input.
const SHARD_CAPACITY: usize = 4096;

struct Cache {
    hasher: RandomState,
    shards: [Mutex<HashMap<Box<str>, Arc<UserAgent>>>; SHARDS],
}

static CACHE: LazyLock<Cache> =
    LazyLock::new(|| Cache { hasher: RandomState::new(), shards: std::array::from_fn(|_| Mutex::new(HashMap::new())) });

/// Entries in each thread's private front cache.
const LOCAL_CAPACITY: usize = 16384;

thread_local! {
    /// Each thread's own copies of the user agents it saw recently. A hit
    /// touches no shared memory at all: sharing even an `Arc` refcount across
    /// threads made a hot user agent's lookups contend on one cache line.
    static LOCAL: std::cell::RefCell<HashMap<Box<[u8]>, UserAgent>> =
        std::cell::RefCell::new(HashMap::new());
}

/// Calls `f` with the parse of `ua`, from the calling thread's front cache
/// when it can (no allocation, no atomics), else from the shared cache.
///
/// Takes bytes so callers holding text from DuckDB or HTTP skip a UTF-8
/// check on cache hits; invalid UTF-8 is parsed lossily on a miss.
pub fn with_parsed<R>(ua: &[u8], f: impl FnOnce(&UserAgent) -> R) -> R {
    LOCAL.with(|l| {
        if let Some(hit) = l.borrow().get(ua) {
            return f(hit);
        }
        let parsed = (*parse_shared(&String::from_utf8_lossy(ua))).clone();
        let result = f(&parsed);
        let mut local = l.borrow_mut();
        if local.len() >= LOCAL_CAPACITY {
            local.clear();
        }
        local.insert(ua.into(), parsed);
        result
    })
}

/// Parses `ua`, cached per distinct string.
pub fn parse(ua: &str) -> Arc<UserAgent> {
    parse_shared(ua)
}

fn parse_shared(ua: &str) -> Arc<UserAgent> {
    let cache = &*CACHE;
    let shard = &cache.shards[(cache.hasher.hash_one(ua) as usize) % SHARDS];
    if let Some(hit) = lock(shard).get(ua) {
        return Arc::clone(hit);
    }
    // Parse outside the lock: other threads keep hitting the shard meanwhile.
    let parsed = Arc::new(parse_uncached(ua));
    let mut map = lock(shard);
    if map.len() >= SHARD_CAPACITY {
        map.clear();
    }
    map.insert(ua.into(), Arc::clone(&parsed));
    parsed
}

/// A poisoned shard only means another thread panicked mid-insert; the map
/// itself is still a valid cache, so keep using it.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(ua: &str) -> UserAgent {
        parse_uncached(ua)
    }

    #[test]
    fn iphone_safari() {
        let ua = p(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
        );
        assert_eq!(ua.browser.as_deref(), Some("Mobile Safari"));
        assert_eq!(ua.browser_version.as_deref(), Some("17.1"));
        assert_eq!(ua.os.as_deref(), Some("iOS"));
        assert_eq!(ua.os_version.as_deref(), Some("17.1"));
        assert_eq!(ua.device, Some(Device::Mobile));
        assert!(!ua.is_bot);
    }

    #[test]
    fn desktop_chrome_on_windows() {
        let ua = p(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.109 Safari/537.36",
        );
        assert_eq!(ua.browser.as_deref(), Some("Chrome"));
        assert_eq!(ua.browser_version.as_deref(), Some("120.0"));
        assert_eq!(ua.os.as_deref(), Some("Windows"));
        assert_eq!(ua.device, Some(Device::Desktop));
    }

    #[test]
    fn ipad_and_android_tablet() {
        let ipad = p(
            "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
        );
        assert_eq!(ipad.device, Some(Device::Tablet));
        let tab = p(
            "Mozilla/5.0 (Linux; Android 12; SM-X200) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36",
        );
        assert_eq!(tab.device, Some(Device::Tablet));
    }

    #[test]
    fn android_phone() {
        let ua = p(
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
        );
        assert_eq!(ua.browser.as_deref(), Some("Chrome Mobile"));
        assert_eq!(ua.os.as_deref(), Some("Android"));
        assert_eq!(ua.os_version.as_deref(), Some("14"));
        assert_eq!(ua.device, Some(Device::Mobile));
    }

    #[test]
    fn bots_and_unknowns() {
        assert_eq!(p("curl/8.4.0").device, Some(Device::Bot));
        assert_eq!(p("Googlebot/2.1 (+http://www.google.com/bot.html)").device, Some(Device::Bot));
        let junk = p("\u{1F986} quack");
        assert_eq!(junk.browser, None);
        assert_eq!(junk.os, None);
        assert_eq!(junk.device, None);
    }

    #[test]
    fn cache_returns_the_same_answer() {
        let s = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0";
        assert_eq!(*parse(s), p(s));
        assert!(Arc::ptr_eq(&parse(s), &parse(s)));
    }
}
