//! One concurrency limit per LLM endpoint, shared by everything in the process that talks to
//! it (`generate --narrator llm`, `generate_narrative` in SQL): additive increase while
//! requests succeed, halved on HTTP 429, and a pause for everyone until the server's
//! Retry-After has passed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// An adaptive concurrency limit (AIMD).
#[derive(Debug)]
pub struct AdaptiveLimit {
    max: usize,
    state: Mutex<State>,
    notify: Notify,
}

#[derive(Debug)]
struct State {
    /// The current limit, fractional so that additive increase can be 1/limit per success.
    limit: f64,
    in_flight: usize,
    /// No request starts before this instant (set by Retry-After).
    paused_until: Option<Instant>,
    /// When the limit was last halved: 429s from requests sent before then do not halve it again.
    last_decrease: Option<Instant>,
}

/// A slot held while one request is in flight; released on drop.
#[derive(Debug)]
pub struct Permit {
    limit: Arc<AdaptiveLimit>,
    /// When the request was allowed to start.
    pub started: Instant,
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Ok(mut s) = self.limit.state.lock() {
            s.in_flight = s.in_flight.saturating_sub(1);
        }
        self.limit.notify.notify_one();
    }
}

impl AdaptiveLimit {
    /// A limit starting at (and never above) `max` concurrent requests.
    pub fn new(max: usize) -> Arc<Self> {
        let max = max.max(1);
        Arc::new(AdaptiveLimit {
            max,
            state: Mutex::new(State { limit: max as f64, in_flight: 0, paused_until: None, last_decrease: None }),
            notify: Notify::new(),
        })
    }

    /// The process-wide limit for an endpoint (created with `max` on first use).
    pub fn shared(endpoint: &str, max: usize) -> Arc<Self> {
        static LIMITS: OnceLock<Mutex<HashMap<String, Arc<AdaptiveLimit>>>> = OnceLock::new();
        let map = LIMITS.get_or_init(|| Mutex::new(HashMap::new()));
        let mut map = match map.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        map.entry(endpoint.to_string()).or_insert_with(|| AdaptiveLimit::new(max)).clone()
    }

    /// The most concurrent requests this limit allows.
    pub fn max(&self) -> usize {
        self.max
    }

    /// The current limit (whole requests).
    pub fn current(&self) -> usize {
        self.state.lock().map(|s| s.limit.floor() as usize).unwrap_or(1).max(1)
    }

    /// Requests in flight now.
    pub fn in_flight(&self) -> usize {
        self.state.lock().map(|s| s.in_flight).unwrap_or(0)
    }

    /// Waits for a slot (and for any Retry-After pause to end).
    pub async fn acquire(self: &Arc<Self>) -> Permit {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            // Register before looking, so a release between the look and the wait is not lost.
            notified.as_mut().enable();
            let pause = {
                let mut s = match self.state.lock() {
                    Ok(s) => s,
                    Err(poisoned) => poisoned.into_inner(),
                };
                let now = Instant::now();
                match s.paused_until {
                    Some(until) if until > now => Some(until),
                    _ => {
                        s.paused_until = None;
                        if s.in_flight < (s.limit.floor() as usize).max(1) {
                            s.in_flight += 1;
                            let more = s.in_flight < (s.limit.floor() as usize).max(1);
                            drop(s);
                            if more {
                                // Pass the wake-up on: there is room for another waiter too.
                                self.notify.notify_one();
                            }
                            return Permit { limit: self.clone(), started: now };
                        }
                        None
                    }
                }
            };
            match pause {
                Some(until) => tokio::time::sleep_until(until).await,
                None => notified.await,
            }
        }
    }

    /// A request succeeded: the limit grows by 1/limit (one per round of requests).
    pub fn on_success(&self) {
        let grew = {
            let Ok(mut s) = self.state.lock() else { return };
            let before = s.limit.floor();
            s.limit = (s.limit + 1.0 / s.limit).min(self.max as f64);
            s.limit.floor() > before
        };
        if grew {
            self.notify.notify_one();
        }
    }

    /// The server answered 429 to a request that started at `started`: halve the limit (once
    /// per round: 429s of requests sent before the last decrease do not count again) and
    /// pause every request until `retry_after` has passed.
    pub fn on_rate_limited(&self, started: Instant, retry_after: Duration) {
        let Ok(mut s) = self.state.lock() else { return };
        let now = Instant::now();
        if s.last_decrease.is_none_or(|t| started >= t) {
            s.limit = (s.limit / 2.0).max(1.0);
            s.last_decrease = Some(now);
        }
        let until = now + retry_after;
        if s.paused_until.is_none_or(|t| t < until) {
            s.paused_until = Some(until);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn limits_concurrency_and_adapts() {
        let limit = AdaptiveLimit::new(4);
        let permits: Vec<Permit> = futures::future::join_all((0..4).map(|_| limit.acquire())).await;
        assert_eq!(limit.in_flight(), 4);
        // A fifth waits until one is released.
        let l = limit.clone();
        let fifth = tokio::spawn(async move { l.acquire().await });
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!fifth.is_finished());
        let started = permits[0].started;
        drop(permits);
        let fifth = fifth.await.expect("task");
        assert_eq!(limit.in_flight(), 1);
        // A 429 halves the limit once per round and pauses new requests.
        limit.on_rate_limited(started, Duration::from_millis(300));
        limit.on_rate_limited(started, Duration::from_millis(300));
        assert_eq!(limit.current(), 2);
        drop(fifth);
        let t0 = Instant::now();
        let p = limit.acquire().await;
        assert!(t0.elapsed() >= Duration::from_millis(290), "waited {:?}", t0.elapsed());
        // Successes grow it back, never above max.
        for _ in 0..100 {
            limit.on_success();
        }
        assert_eq!(limit.current(), 4);
        drop(p);
    }
}
