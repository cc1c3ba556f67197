//! The headers a security review expects on every answer: the dashboard's
//! pages run only their own script and style (no inline script, nothing from
//! another origin), cannot be framed, are not content-sniffed, and send no
//! referrer. API answers get the same (a JSON body has nothing to run).

use axum::http::HeaderValue;
use axum::http::header::{
    CONTENT_SECURITY_POLICY, HeaderName, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::response::Response;

/// The Content-Security-Policy: only this origin's script, style, images and
/// connections; no plugins, no `<base>`, forms only to this origin, and no
/// framing.
pub const CONTENT_SECURITY_POLICY_VALUE: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Every header this module adds, with its value.
pub const SECURITY_HEADERS: [(HeaderName, &str); 4] = [
    (CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY_VALUE),
    (X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (REFERRER_POLICY, "no-referrer"),
    // For browsers older than `frame-ancestors`.
    (X_FRAME_OPTIONS, "DENY"),
];

/// Adds [`SECURITY_HEADERS`] to a response (unless a handler set its own).
pub(crate) async fn add(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    response
}
