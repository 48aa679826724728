//! Splitting a page URL into what the lake stores: host name, path (without
//! query or fragment, percent-decoded; with the hash route in hash mode) and
//! the `utm_*` campaign parameters; and reducing a referrer to scheme, host
//! and path (its query may carry personal data, so it is never stored).

use std::borrow::Cow;
use std::fmt;

use url::Url;

/// Stored path names and parameter values are cut to this many characters.
pub const MAX_FIELD: usize = 2000;

/// The parts of a page URL the lake keeps.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PageUrl {
    pub hostname: String,
    pub pathname: String,
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    pub utm_campaign: Option<String>,
    pub utm_content: Option<String>,
    pub utm_term: Option<String>,
}

/// Why a page URL was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlError(pub String);

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UrlError {}

fn cut(s: Cow<'_, str>) -> String {
    match s.char_indices().nth(MAX_FIELD) {
        Some((i, _)) => s[..i].to_string(),
        None => s.into_owned(),
    }
}

fn decode(s: &str) -> String {
    cut(percent_decode(s))
}

fn percent_decode(s: &str) -> Cow<'_, str> {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy()
}

/// Splits an absolute `http(s)` page URL. In hash mode the fragment is part
/// of the path (`/#/settings`), as single-page apps route with it.
pub fn split(page_url: &str, hash_mode: bool) -> Result<PageUrl, UrlError> {
    let url = Url::parse(page_url.trim()).map_err(|e| UrlError(format!("u (page URL) is not a valid URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(UrlError(format!("u (page URL) must be http or https, not {}", url.scheme())));
    }
    let hostname = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| UrlError("u (page URL) has no host".into()))?
        .trim_end_matches('.')
        .to_lowercase();
    let mut pathname = decode(url.path());
    if hash_mode && let Some(fragment) = url.fragment().filter(|f| !f.is_empty()) {
        pathname = cut(Cow::Owned(format!("{pathname}#{}", percent_decode(fragment))));
    }
    let mut page = PageUrl { hostname, pathname, ..PageUrl::default() };
    let mut source_fallback = None;
    for (key, value) in url.query_pairs() {
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        let slot = match key.as_ref() {
            "utm_source" => &mut page.utm_source,
            "utm_medium" => &mut page.utm_medium,
            "utm_campaign" => &mut page.utm_campaign,
            "utm_content" => &mut page.utm_content,
            "utm_term" => &mut page.utm_term,
            // Plausible's conventions: ?ref= and ?source= also name a source.
            "ref" | "source" => &mut source_fallback,
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some(cut(Cow::Borrowed(value)));
        }
    }
    if page.utm_source.is_none() {
        page.utm_source = source_fallback;
    }
    Ok(page)
}

/// A referrer as stored: `scheme://host/path`, without credentials, query
/// or fragment; `None` when it is not a URL with a host.
pub fn clean_referrer(referrer: &str) -> Option<String> {
    let url = Url::parse(referrer.trim()).ok()?;
    let host = url.host_str().filter(|h| !h.is_empty())?;
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    Some(cut(Cow::Owned(format!("{}://{}{}{}", url.scheme(), host.to_lowercase(), port, url.path()))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_path_and_campaign() {
        let p = split(
            "https://Example.com/blog/h%C3%A9llo?utm_source=news&utm_medium=email&utm_campaign=fall%20sale&x=1#top",
            false,
        )
        .unwrap();
        assert_eq!(p.hostname, "example.com");
        assert_eq!(p.pathname, "/blog/héllo");
        assert_eq!(p.utm_source.as_deref(), Some("news"));
        assert_eq!(p.utm_medium.as_deref(), Some("email"));
        assert_eq!(p.utm_campaign.as_deref(), Some("fall sale"));
        assert_eq!(p.utm_content, None);
    }

    #[test]
    fn hash_mode_keeps_the_route() {
        assert_eq!(split("https://a.com/#/settings/profile", true).unwrap().pathname, "/#/settings/profile");
        assert_eq!(split("https://a.com/#/settings/profile", false).unwrap().pathname, "/");
        assert_eq!(split("https://a.com/app", true).unwrap().pathname, "/app");
    }

    #[test]
    fn ref_and_source_fall_back_for_utm_source() {
        assert_eq!(split("https://a.com/?ref=producthunt", false).unwrap().utm_source.as_deref(), Some("producthunt"));
        assert_eq!(split("https://a.com/?ref=x&utm_source=y", false).unwrap().utm_source.as_deref(), Some("y"));
    }

    #[test]
    fn plus_is_literal_in_paths() {
        assert_eq!(split("https://a.com/c++", false).unwrap().pathname, "/c++");
    }

    #[test]
    fn rejects_bad_urls() {
        assert!(split("not a url", false).unwrap_err().0.contains("not a valid URL"));
        assert!(split("ftp://a.com/x", false).unwrap_err().0.contains("http or https"));
        assert!(split("file:///etc/passwd", false).is_err());
    }

    #[test]
    fn long_paths_are_cut() {
        let long = format!("https://a.com/{}", "é".repeat(5000));
        assert_eq!(split(&long, false).unwrap().pathname.chars().count(), MAX_FIELD);
    }

    #[test]
    fn referrers_lose_query_and_credentials() {
        assert_eq!(
            clean_referrer("https://user:pw@News.Example.com:8443/a/b?email=x@y.z#f").as_deref(),
            Some("https://news.example.com:8443/a/b")
        );
        assert_eq!(
            clean_referrer("android-app://com.google.android.gm/").as_deref(),
            Some("android-app://com.google.android.gm/")
        );
        assert_eq!(clean_referrer("garbage"), None);
    }
}
