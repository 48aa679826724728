//! Referrer classification: turn a referrer URL into the traffic source that a
//! dashboard shows — a well-known name for search engines, social networks and
//! other big sources, otherwise the referring host without `www.`.

/// How a known source is recognised from the referrer's host.
enum Rule {
    /// The host is this domain or one of its subdomains.
    Domain(&'static str),
    /// The host's registrable part is this brand under any public suffix of
    /// one or two short labels: `google` matches `google.de`, `google.co.uk`
    /// and `news.google.com`, but not `googleusercontent.com`.
    Brand(&'static str),
}

use Rule::{Brand, Domain};

/// Ordered: the first matching rule names the source, so specific hosts
/// (`mail.google.com`) come before their brand (`google`).
const SOURCES: &[(Rule, &str)] = &[
    (Domain("mail.google.com"), "Gmail"),
    (Domain("com.google.android.gm"), "Gmail"),
    (Domain("news.ycombinator.com"), "Hacker News"),
    (Domain("search.brave.com"), "Brave Search"),
    (Domain("com.google.android.googlequicksearchbox"), "Google"),
    (Brand("google"), "Google"),
    (Domain("bing.com"), "Bing"),
    (Domain("duckduckgo.com"), "DuckDuckGo"),
    (Domain("ddg.gg"), "DuckDuckGo"),
    (Brand("yahoo"), "Yahoo"),
    (Brand("yandex"), "Yandex"),
    (Domain("ya.ru"), "Yandex"),
    (Domain("baidu.com"), "Baidu"),
    (Domain("ecosia.org"), "Ecosia"),
    (Domain("startpage.com"), "Startpage"),
    (Domain("qwant.com"), "Qwant"),
    (Domain("naver.com"), "Naver"),
    (Domain("seznam.cz"), "Seznam"),
    (Domain("kagi.com"), "Kagi"),
    (Domain("perplexity.ai"), "Perplexity"),
    (Domain("chatgpt.com"), "ChatGPT"),
    (Domain("chat.openai.com"), "ChatGPT"),
    (Domain("facebook.com"), "Facebook"),
    (Domain("fb.com"), "Facebook"),
    (Domain("fb.me"), "Facebook"),
    (Domain("com.facebook.katana"), "Facebook"),
    (Domain("instagram.com"), "Instagram"),
    (Domain("twitter.com"), "Twitter"),
    (Domain("t.co"), "Twitter"),
    (Domain("x.com"), "Twitter"),
    (Domain("com.twitter.android"), "Twitter"),
    (Domain("linkedin.com"), "LinkedIn"),
    (Domain("lnkd.in"), "LinkedIn"),
    (Domain("com.linkedin.android"), "LinkedIn"),
    (Domain("reddit.com"), "Reddit"),
    (Domain("redd.it"), "Reddit"),
    (Domain("com.reddit.frontpage"), "Reddit"),
    (Domain("github.com"), "GitHub"),
    (Domain("youtube.com"), "YouTube"),
    (Domain("youtu.be"), "YouTube"),
    (Brand("pinterest"), "Pinterest"),
    (Domain("tiktok.com"), "TikTok"),
    (Domain("threads.net"), "Threads"),
    (Domain("threads.com"), "Threads"),
    (Domain("bsky.app"), "Bluesky"),
    (Domain("mastodon.social"), "Mastodon"),
    (Domain("t.me"), "Telegram"),
    (Domain("telegram.org"), "Telegram"),
    (Domain("org.telegram.messenger"), "Telegram"),
    (Domain("whatsapp.com"), "WhatsApp"),
    (Domain("wa.me"), "WhatsApp"),
    (Domain("discord.com"), "Discord"),
    (Domain("discordapp.com"), "Discord"),
    (Domain("slack.com"), "Slack"),
    (Domain("com.slack"), "Slack"),
    (Domain("stackoverflow.com"), "Stack Overflow"),
    (Domain("wikipedia.org"), "Wikipedia"),
    (Domain("medium.com"), "Medium"),
    (Domain("substack.com"), "Substack"),
    (Domain("producthunt.com"), "Product Hunt"),
    (Domain("dev.to"), "DEV"),
    (Domain("quora.com"), "Quora"),
    (Domain("lobste.rs"), "Lobsters"),
    (Domain("vk.com"), "VK"),
    (Domain("outlook.live.com"), "Outlook"),
    (Domain("outlook.office.com"), "Outlook"),
];

/// The lower-case host of a URL-ish referrer, without userinfo, port or
/// trailing dot. Accepts `scheme://host/...`, `//host/...` and bare
/// `host/...`; `None` when there is no host.
pub fn host_of(url: &str) -> Option<String> {
    let url = url.trim();
    let rest = match url.find("://") {
        Some(i) => &url[i + 3..],
        None => url.strip_prefix("//").unwrap_or(url),
    };
    let authority = rest.split(['/', '?', '#', '\\']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        host_port.split(':').next().unwrap_or("")
    };
    let host = host.trim_end_matches('.');
    if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    Some(host.to_lowercase())
}

fn strip_www(host: &str) -> &str {
    host.strip_prefix("www.").unwrap_or(host)
}

fn matches(rule: &Rule, host: &str) -> bool {
    match *rule {
        Domain(d) => {
            host == d || (host.len() > d.len() && host.ends_with(d) && host[..host.len() - d.len()].ends_with('.'))
        }
        Brand(b) => {
            let labels: Vec<&str> = host.split('.').collect();
            labels.iter().enumerate().any(|(i, l)| {
                let suffix = &labels[i + 1..];
                *l == b && (1..=2).contains(&suffix.len()) && suffix.iter().all(|s| (2..=3).contains(&s.len()))
            })
        }
    }
}

/// The traffic source of `referrer` for a site served at `site_host`.
///
/// A well-known name (`Google`, `Twitter`, `Hacker News`, …) when the
/// referrer's host belongs to one, else the host without `www.`; `None` when
/// there is no referrer, it has no host, or it is a self-referral (same host
/// as `site_host`, ignoring `www.`, case and port).
pub fn referrer_source(referrer: &str, site_host: Option<&str>) -> Option<String> {
    let host = host_of(referrer)?;
    let bare = strip_www(&host);
    if let Some(site) = site_host.and_then(host_of)
        && strip_www(&site) == bare
    {
        return None;
    }
    if let Some((_, name)) = SOURCES.iter().find(|(rule, _)| matches(rule, bare)) {
        return Some((*name).to_string());
    }
    Some(bare.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(r: &str, site: &str) -> Option<String> {
        referrer_source(r, Some(site))
    }

    #[test]
    fn search_engines_and_socials() {
        let cases = [
            ("https://www.google.com/search?q=x", "Google"),
            ("https://www.google.co.uk/", "Google"),
            ("https://google.de", "Google"),
            ("https://news.google.com/articles/1", "Google"),
            ("https://mail.google.com/mail/u/0", "Gmail"),
            ("https://www.bing.com/search?q=a", "Bing"),
            ("https://duckduckgo.com/", "DuckDuckGo"),
            ("https://search.yahoo.co.jp/", "Yahoo"),
            ("https://yandex.ru/search", "Yandex"),
            ("https://www.baidu.com/link?url=1", "Baidu"),
            ("https://www.ecosia.org/search", "Ecosia"),
            ("https://l.facebook.com/l.php?u=1", "Facebook"),
            ("https://t.co/abc", "Twitter"),
            ("https://x.com/someone", "Twitter"),
            ("https://www.linkedin.com/feed", "LinkedIn"),
            ("https://old.reddit.com/r/rust", "Reddit"),
            ("https://news.ycombinator.com/item?id=1", "Hacker News"),
            ("https://github.com/duckdb/duckdb", "GitHub"),
            ("https://m.youtube.com/watch?v=1", "YouTube"),
            ("https://l.instagram.com/?u=1", "Instagram"),
            ("android-app://com.google.android.googlequicksearchbox/", "Google"),
        ];
        for (r, want) in cases {
            assert_eq!(src(r, "example.com").as_deref(), Some(want), "{r}");
        }
    }

    #[test]
    fn other_hosts_lose_www() {
        assert_eq!(src("https://www.Blog.Example.org/post?x=1", "example.com").as_deref(), Some("blog.example.org"));
        assert_eq!(src("http://user:pw@foo.dev:8080/a", "example.com").as_deref(), Some("foo.dev"));
        assert_eq!(src("https://googleusercontent.com/x", "example.com").as_deref(), Some("googleusercontent.com"));
        assert_eq!(src("https://notgithub.com/", "example.com").as_deref(), Some("notgithub.com"));
        assert_eq!(src("https://bücher.de/", "example.com").as_deref(), Some("bücher.de"));
    }

    #[test]
    fn none_for_missing_and_self_referrals() {
        assert_eq!(src("", "example.com"), None);
        assert_eq!(src("   ", "example.com"), None);
        assert_eq!(src("https:///path", "example.com"), None);
        assert_eq!(src("https://example.com/page", "example.com"), None);
        assert_eq!(src("https://www.example.com/page", "example.com"), None);
        assert_eq!(src("https://EXAMPLE.com:443/", "www.example.com"), None);
        assert_eq!(referrer_source("https://example.com/", None).as_deref(), Some("example.com"));
    }

    #[test]
    fn host_of_variants() {
        assert_eq!(host_of("//cdn.example.com/x").as_deref(), Some("cdn.example.com"));
        assert_eq!(host_of("example.com/x").as_deref(), Some("example.com"));
        assert_eq!(host_of("http://[::1]:8080/").as_deref(), Some("::1"));
        assert_eq!(host_of("http://example.com./").as_deref(), Some("example.com"));
        assert_eq!(host_of("http://exa mple.com/"), None);
    }
}
