//! The page and its scripts, built into the binary. They hold no data, so
//! they are served without the session cookie (the API they call needs it).
//!
//! `i18n.js` is the dashboard's (the language choice, plural forms and the
//! locale's formats, with the words both pages share); `words.js` adds the
//! app's own words to it.

use axum::Router;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::AppState;

const INDEX_HTML: &str = include_str!("../assets/index.html");
const APP_JS: &str = include_str!("../assets/app.js");
const APP_CSS: &str = include_str!("../assets/app.css");
const WORDS_JS: &str = include_str!("../assets/words.js");
const OFFICE_JS: &str = include_str!("../assets/office.js");
const IMPORT_JS: &str = include_str!("../assets/import.js");
const I18N_JS: &str = include_str!("../../server/src/web/assets/i18n.js");

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(CONTENT_TYPE, content_type), (CACHE_CONTROL, "no-cache")], body).into_response()
}

pub(crate) fn routes() -> Router<AppState> {
    const JS: &str = "text/javascript; charset=utf-8";
    Router::new()
        .route("/", get(|| async { asset("text/html; charset=utf-8", INDEX_HTML) }))
        .route("/assets/app.js", get(|| async { asset(JS, APP_JS) }))
        .route("/assets/words.js", get(|| async { asset(JS, WORDS_JS) }))
        .route("/assets/office.js", get(|| async { asset(JS, OFFICE_JS) }))
        .route("/assets/import.js", get(|| async { asset(JS, IMPORT_JS) }))
        .route("/assets/i18n.js", get(|| async { asset(JS, I18N_JS) }))
        .route("/assets/app.css", get(|| async { asset("text/css; charset=utf-8", APP_CSS) }))
}
