//! The server's address: validated once, endpoints derived from it.

use reqwest::Url;

use crate::error::ClientError;

/// A validated server base URL (`http` or `https`, a host, no query).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    base: Url,
}

impl Endpoint {
    pub(crate) fn parse(url: &str) -> Result<Endpoint, ClientError> {
        let bad = |reason: &str| ClientError::InvalidUrl { url: url.to_owned(), reason: reason.to_owned() };
        let trimmed = url.trim();
        if trimmed.is_empty() {
            return Err(bad("the URL is empty; expected e.g. https://rapport.example.com"));
        }
        if !trimmed.contains("://") {
            return Err(bad("missing scheme; write http://HOST:PORT or https://HOST"));
        }
        let mut base = Url::parse(trimmed).map_err(|e| bad(&e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(bad("the scheme must be http or https, e.g. http://HOST:PORT"));
        }
        if base.host_str().is_none_or(str::is_empty) {
            return Err(bad("the URL has no host"));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(bad("the URL must not have a query (?…) or fragment (#…)"));
        }
        if !base.username().is_empty() || base.password().is_some() {
            return Err(bad("put credentials in the token, not in the URL"));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        Ok(Endpoint { base })
    }

    /// The base URL as given (normalized), for messages.
    pub(crate) fn base(&self) -> &str {
        self.base.as_str().trim_end_matches('/')
    }

    /// An HTTP endpoint under the base, e.g. `v1/sync`.
    pub(crate) fn http(&self, path: &str) -> Url {
        // Joining a relative path onto a base ending in '/' cannot fail.
        self.base.join(path).unwrap_or_else(|_| self.base.clone())
    }

    /// The WebSocket endpoint for `path` (`ws://` or `wss://`).
    pub(crate) fn websocket(&self, path: &str) -> Url {
        let mut url = self.http(path);
        let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
        // Switching between these special schemes is always allowed.
        url.set_scheme(scheme).ok();
        url
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_keep_a_path_prefix() {
        let e = Endpoint::parse("https://example.com/rapport").unwrap();
        assert_eq!(e.http("v1/sync").as_str(), "https://example.com/rapport/v1/sync");
        assert_eq!(e.websocket("v1/live").as_str(), "wss://example.com/rapport/v1/live");
        let e = Endpoint::parse("http://127.0.0.1:8080/").unwrap();
        assert_eq!(e.http("healthz").as_str(), "http://127.0.0.1:8080/healthz");
        assert_eq!(e.websocket("v1/live").as_str(), "ws://127.0.0.1:8080/v1/live");
        assert_eq!(e.base(), "http://127.0.0.1:8080");
    }

    #[test]
    fn unusable_urls_are_refused_with_a_reason() {
        for (url, reason) in [
            ("", "empty"),
            ("127.0.0.1:8080", "scheme"),
            ("localhost", "scheme"),
            ("ftp://example.com", "http or https"),
            ("http://example.com/?a=1", "query"),
            ("http://user:pw@example.com", "credentials"),
        ] {
            let err = Endpoint::parse(url).unwrap_err().to_string();
            assert!(err.contains(reason), "{url}: {err}");
        }
    }
}
