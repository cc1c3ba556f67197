//! The one retry policy of every caller (`rapport sync`, `rapport watch`,
//! the mobile bindings): which failures are retried, and after how long.
//!
//! Rate limits (429), an unavailable server (503), a full server disk (507)
//! and network failures are retried. The wait is the server's `Retry-After`
//! when it sends one, else a capped exponential backoff with jitter (from
//! `backon`), so that many devices coming back at once spread out. A wait
//! longer than the policy's cap ends the retries: the caller gets the error
//! (with its plain message) instead of hanging. Each [`Backoff`] starts over
//! from the shortest wait; callers start a new one after every success.
//! See `docs/adr/0008-retries-and-faults.md`.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};

use crate::error::ClientError;

/// How a caller retries transient failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The first wait (before jitter).
    pub min_delay: Duration,
    /// The longest wait: backoff stops growing here, and a `Retry-After`
    /// beyond it ends the retries.
    pub max_delay: Duration,
    /// Retries after the first attempt; `None`: no limit (a live connection).
    pub max_retries: Option<usize>,
}

impl Default for RetryPolicy {
    /// One sync or exchange: a few quick retries, then the error is reported
    /// (`rapport sync`, the mobile `sync`; the app or user syncs again later).
    fn default() -> Self {
        RetryPolicy { min_delay: Duration::from_millis(250), max_delay: Duration::from_secs(30), max_retries: Some(3) }
    }
}

impl RetryPolicy {
    /// No retries: every failure is returned at once.
    pub const fn never() -> RetryPolicy {
        RetryPolicy { min_delay: Duration::ZERO, max_delay: Duration::ZERO, max_retries: Some(0) }
    }

    /// A connection that stays open (`rapport watch`): retries without end,
    /// waiting up to a minute between attempts.
    pub const fn persistent() -> RetryPolicy {
        RetryPolicy { min_delay: Duration::from_secs(1), max_delay: Duration::from_secs(60), max_retries: None }
    }

    /// A new sequence of waits, starting from the shortest.
    pub fn start(&self) -> Backoff {
        Backoff { policy: *self, delays: self.delays() }
    }

    fn delays(&self) -> ExponentialBackoff {
        let builder = ExponentialBuilder::default()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_factor(2.0)
            .with_jitter();
        match self.max_retries {
            Some(n) => builder.with_max_times(n),
            None => builder.without_max_times(),
        }
        .build()
    }
}

/// The waits of one sequence of retries under a [`RetryPolicy`].
#[derive(Debug)]
pub struct Backoff {
    policy: RetryPolicy,
    delays: ExponentialBackoff,
}

impl Backoff {
    /// How long to wait before retrying after `error`, or `None` to give up
    /// and return it: it is not retryable, the retries are used up, or the
    /// server asked for a longer wait than the policy's cap.
    pub fn next_delay(&mut self, error: &ClientError) -> Option<Duration> {
        if !error.is_retryable() {
            return None;
        }
        self.next_wait(error.retry_after())
    }

    /// The next wait of the sequence, or the server's `retry_after` if longer;
    /// `None` when the retries are used up or `retry_after` is over the cap.
    pub fn next_wait(&mut self, retry_after: Option<Duration>) -> Option<Duration> {
        let backoff = self.delays.next()?.min(self.policy.max_delay);
        match retry_after {
            Some(asked) if asked > self.policy.max_delay => None,
            Some(asked) => Some(asked.max(backoff)),
            None => Some(backoff),
        }
    }

    /// Starts over from the shortest wait (after a success).
    pub fn reset(&mut self) {
        self.delays = self.policy.delays();
    }
}

/// Runs `attempt` until it succeeds or [`Backoff::next_delay`] gives up,
/// sleeping in between. `on_retry` is told each error and the wait.
pub(crate) async fn retrying<T, F, Fut>(
    policy: &RetryPolicy,
    mut attempt: F,
    mut on_retry: impl FnMut(&ClientError, Duration),
) -> Result<T, ClientError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ClientError>>,
{
    let mut backoff = policy.start();
    loop {
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(e) => match backoff.next_delay(&e) {
                Some(wait) => {
                    on_retry(&e, wait);
                    tokio::time::sleep(wait).await;
                }
                None => return Err(e),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limited(retry_after: Option<Duration>) -> ClientError {
        ClientError::RateLimited { url: "http://x".into(), retry_after }
    }

    #[test]
    fn waits_grow_are_capped_and_end_after_the_retries() {
        let policy = RetryPolicy {
            min_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(400),
            max_retries: Some(5),
        };
        let mut backoff = policy.start();
        let waits: Vec<Duration> = std::iter::from_fn(|| backoff.next_delay(&limited(None))).collect();
        assert_eq!(waits.len(), 5);
        assert!(waits[0] >= Duration::from_millis(100) && waits[0] <= Duration::from_millis(200), "{waits:?}");
        assert!(waits.iter().all(|w| *w <= Duration::from_millis(400)), "{waits:?}");
        backoff.reset();
        assert!(backoff.next_delay(&limited(None)).expect("a retry") <= Duration::from_millis(200));
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_cap() {
        let mut backoff = RetryPolicy::default().start();
        let wait = backoff.next_delay(&limited(Some(Duration::from_secs(2)))).expect("a retry");
        assert!(wait >= Duration::from_secs(2), "{wait:?}");
        assert_eq!(backoff.next_delay(&limited(Some(Duration::from_secs(31)))), None);
    }

    #[test]
    fn only_transient_failures_are_retried() {
        let mut backoff = RetryPolicy::persistent().start();
        let refused = ClientError::Unauthorized { url: "http://x".into(), message: "revoked".into() };
        assert_eq!(backoff.next_delay(&refused), None);
        let full = ClientError::StorageFull { url: "http://x".into(), unsent: 2, retry_after: None };
        assert!(backoff.next_delay(&full).is_some());
        assert_eq!(RetryPolicy::never().start().next_delay(&limited(None)), None);
    }
}
