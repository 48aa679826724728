//! Bot detection: which user agents are not people.
//!
//! A user agent is a bot when it is empty or missing, when uap-core classifies
//! its device as a `Spider`, or when it contains one of the markers below —
//! a list we maintain for what uap-core misses: headless and automated
//! browsers, uptime monitors, link-preview fetchers, SEO and AI crawlers, and
//! HTTP client libraries, which a person's browser never announces.

use std::sync::LazyLock;

use regex::Regex;

use crate::user_agent;

/// Lower-case markers; any occurrence marks a bot.
const MARKERS: &[&str] = &[
    // generic self-descriptions
    "bot",
    "crawl",
    "spider",
    "slurp",
    "scrape",
    "archiver",
    "fetcher",
    // headless and automated browsers
    "headless",
    "phantomjs",
    "puppeteer",
    "playwright",
    "selenium",
    "cypress",
    // audits and monitoring
    "lighthouse",
    "pagespeed",
    "gtmetrix",
    "pingdom",
    "uptime",
    "statuscake",
    "site24x7",
    "monitor",
    "datadog",
    "newrelic",
    "checkly",
    "nagios",
    "zabbix",
    "prometheus",
    "blackbox",
    "kube-probe",
    "healthcheck",
    "health-check",
    "elb-health",
    "googlehc",
    "check_http",
    "validator",
    // link preview fetchers
    "facebookexternalhit",
    "facebookcatalog",
    "embedly",
    "iframely",
    "whatsapp",
    "skypeuripreview",
    "preview",
    "vkshare",
    "w3c_",
    "outbrain",
    "quora link",
    // SEO, AI and research crawlers that do not say "bot"
    "mediapartners",
    "googleother",
    "google-inspectiontool",
    "google-read-aloud",
    "feedfetcher",
    "feedly",
    "ahrefs",
    "semrush",
    "mj12",
    "bytespider",
    "ccbot",
    "perplexity",
    "anthropic",
    "cohere-ai",
    "gptbot",
    "ia_archiver",
    "httrack",
    "zgrab",
    "masscan",
    "nmap",
    "censys",
    "expanse",
    "nuclei",
    "netcraft",
    "dataprovider",
    // HTTP client libraries and command-line tools
    "curl",
    "wget",
    "python-requests",
    "python-urllib",
    "python-httpx",
    "aiohttp",
    "httpx",
    "go-http-client",
    "java/",
    "okhttp",
    "axios",
    "node-fetch",
    "undici",
    "libwww-perl",
    "lwp-",
    "postmanruntime",
    "apache-httpclient",
    "httpclient",
    "scrapy",
    "httpie",
    "ruby",
    "faraday",
    "guzzlehttp",
    "winhttp",
    "libcurl",
    "reqwest",
    "http_request",
    "powershell",
    "insomnia",
    "dart:io",
    "cfnetwork/",
    "deno/",
    "bun/",
];

/// Phone brands whose names contain a marker but are people's devices.
const NOT_BOTS: &[&str] = &["cubot"];

static MARKER_RE: LazyLock<Regex> = LazyLock::new(|| {
    let alternation: Vec<String> = MARKERS.iter().map(|m| regex::escape(m)).collect();
    Regex::new(&format!("(?i){}", alternation.join("|"))).expect("bot markers compile")
});

/// True when `user_agent` contains one of our bot markers (not counting the
/// uap-core `Spider` classification; see [`is_bot`]).
pub fn has_bot_marker(user_agent: &str) -> bool {
    let mut rest = user_agent;
    while let Some(m) = MARKER_RE.find(rest) {
        if !is_exempt(user_agent, m.start() + (user_agent.len() - rest.len())) {
            return true;
        }
        rest = &rest[m.end()..];
    }
    false
}

/// Whether the marker found at byte `at` sits inside an exempt word.
fn is_exempt(user_agent: &str, at: usize) -> bool {
    let lower_window = |start: usize, len: usize| {
        user_agent.get(start..(start + len).min(user_agent.len())).map(str::to_ascii_lowercase)
    };
    NOT_BOTS.iter().any(|word| {
        // an exempt word that ends with the marker starts this many bytes earlier
        (0..word.len()).any(|back| at >= back && lower_window(at - back, word.len()).as_deref() == Some(*word))
    })
}

/// True when `user_agent` is not a person's browser: missing or empty,
/// classified as a `Spider` by uap-core, or carrying one of our markers.
///
/// Answered from the cached parse (which checks the markers too), so a
/// repeated user agent costs one cache lookup.
pub fn is_bot(user_agent: Option<&[u8]>) -> bool {
    match user_agent.map(<[u8]>::trim_ascii) {
        None | Some(b"") => true,
        Some(ua) => user_agent::with_parsed(ua, |p| p.is_bot),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn people_are_not_bots() {
        for ua in [
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
            "Mozilla/5.0 (Linux; Android 13; CUBOT X70) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/116.0.0.0 Mobile Safari/537.36",
            "Mozilla/5.0",
        ] {
            assert!(!is_bot(Some(ua.as_bytes())), "{ua}");
        }
    }

    #[test]
    fn bots_are_bots() {
        for ua in [
            "curl/8.4.0",
            "python-requests/2.31.0",
            "Go-http-client/1.1",
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36",
            "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
            "Mozilla/5.0 (compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
            "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
            "Mozilla/5.0 (Linux; Android 13; CUBOT X70) curl/8.0",
        ] {
            assert!(is_bot(Some(ua.as_bytes())), "{ua}");
        }
    }

    #[test]
    fn missing_or_empty_is_a_bot() {
        assert!(is_bot(None));
        assert!(is_bot(Some(b"")));
        assert!(is_bot(Some(b"   ")));
    }
}
