//! The sync status, once (`GET /api/status`) and as it changes
//! (`GET /api/events`, server-sent events: `status`, `changed`).

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream};
use tokio::sync::broadcast::error::RecvError;

use super::reply;
use crate::AppState;
use crate::live::PageEvent;

pub(crate) async fn status(State(state): State<AppState>) -> Response {
    reply(&state.live.status(&state.replica))
}

fn to_sse(event: &PageEvent) -> Event {
    match event {
        PageEvent::Status(s) => Event::default().event("status").json_data(s),
        PageEvent::Changed(ids) => Event::default().event("changed").json_data(ids),
    }
    .unwrap_or_else(|_| Event::default().event("status").data("{}"))
}

/// The current status first, then every event as it happens. A page that
/// falls behind gets a fresh status instead of the events it missed.
pub(crate) async fn events(State(state): State<AppState>) -> Response {
    let first = PageEvent::Status(state.live.status(&state.replica));
    let rx = state.live.subscribe();
    // Ends when the app stops, so that stopping does not wait for the page.
    let closed = Box::pin(state.live.closed());
    let stream: std::pin::Pin<Box<dyn Stream<Item = Result<Event, Infallible>> + Send>> =
        Box::pin(stream::unfold((Some(first), rx, state, closed), |(pending, mut rx, state, mut closed)| async move {
            if let Some(event) = pending {
                return Some((Ok(to_sse(&event)), (None, rx, state, closed)));
            }
            let event = tokio::select! {
                _ = &mut closed => return None,
                received = rx.recv() => match received {
                    Ok(event) => event,
                    Err(RecvError::Lagged(_)) => PageEvent::Status(state.live.status(&state.replica)),
                    Err(RecvError::Closed) => return None,
                },
            };
            Some((Ok(to_sse(&event)), (None, rx, state, closed)))
        }));
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response()
}
