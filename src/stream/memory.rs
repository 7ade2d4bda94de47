//! `MemoryStreamAdapter`: pub/sub inside one process (also the `file` stream, SPEC §8).
//!
//! Delivery is synchronous with `publish` as far as the core goes (callbacks queue the
//! message for JS under the adapter's lock, so every subscriber sees messages in publish
//! order). Groups pick members round-robin. Each topic retains its last
//! [`DEFAULT_RETAIN`] messages for `fromBeginning`; older ones are dropped.

use super::{StreamAdapter, SubscribeOptions};
use crate::callback::Callback;
use crate::error::{NventError, Result};
use crate::glob::Glob;
use crate::value::Json;
use async_trait::async_trait;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// Messages retained per topic for `fromBeginning` subscribers.
pub const DEFAULT_RETAIN: usize = 1000;

pub struct MemoryStreamAdapter {
    closed: AtomicBool,
    retain: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    next_id: u64,
    next_seq: u64,
    subs: Vec<Sub>,
    /// Round-robin cursor per `(topic pattern, group)`.
    cursors: HashMap<(String, String), usize>,
    retained: HashMap<String, VecDeque<(u64, Json, Option<String>)>>,
}

struct Sub {
    id: u64,
    topic: Glob,
    filter: Option<Glob>,
    group: Option<String>,
    handler: Arc<dyn Callback>,
}

impl Sub {
    fn wants(&self, topic: &str, kind: Option<&str>) -> bool {
        self.topic.is_match(topic)
            && self
                .filter
                .as_ref()
                .is_none_or(|f| kind.is_some_and(|k| f.is_match(k)))
    }
}

fn lock(m: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The `type` of an event text, read without a full parse of `data`.
fn event_type(event: &Json) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Head {
        #[serde(rename = "type")]
        kind: Option<String>,
    }
    crate::value::deserialize::<Head>(event.as_str())
        .ok()
        .and_then(|h| h.kind)
}

impl Default for MemoryStreamAdapter {
    fn default() -> Self {
        Self::new(DEFAULT_RETAIN)
    }
}

impl MemoryStreamAdapter {
    pub fn new(retain: usize) -> Self {
        MemoryStreamAdapter {
            closed: AtomicBool::new(false),
            retain,
            inner: Mutex::default(),
        }
    }

    fn open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(NventError::closed("the stream adapter"));
        }
        Ok(())
    }
}

#[async_trait]
impl StreamAdapter for MemoryStreamAdapter {
    async fn publish(&self, topic: &str, event: Json) -> Result<()> {
        self.open()?;
        let kind = event_type(&event);
        let mut inner = lock(&self.inner);
        let seq = inner.next_seq;
        inner.next_seq += 1;
        if self.retain > 0 {
            let kept = inner.retained.entry(topic.to_string()).or_default();
            if kept.len() == self.retain {
                kept.pop_front();
            }
            kept.push_back((seq, event.clone(), kind.clone()));
        }
        // Plain subscriptions each get the message; each group gets it once, at the member
        // its cursor points to.
        let mut group_members: Vec<((String, String), Vec<usize>)> = Vec::new();
        for (i, sub) in inner.subs.iter().enumerate() {
            if !sub.wants(topic, kind.as_deref()) {
                continue;
            }
            match &sub.group {
                None => sub.handler.call(&event),
                Some(g) => {
                    let key = (sub.topic.pattern().to_string(), g.clone());
                    match group_members.iter_mut().find(|(k, _)| *k == key) {
                        Some((_, members)) => members.push(i),
                        None => group_members.push((key, vec![i])),
                    }
                }
            }
        }
        for (key, members) in group_members {
            let cursor = inner.cursors.entry(key).or_insert(0);
            let pick = members[*cursor % members.len()];
            *cursor = cursor.wrapping_add(1);
            inner.subs[pick].handler.call(&event);
        }
        Ok(())
    }

    async fn subscribe(
        &self,
        topic: &str,
        handler: Arc<dyn Callback>,
        opts: SubscribeOptions,
    ) -> Result<u64> {
        self.open()?;
        let filter = opts.filter.as_deref().map(Glob::new).transpose()?;
        let sub = Sub {
            id: 0,
            topic: Glob::topic(topic),
            filter,
            group: opts.group,
            handler,
        };
        let mut inner = lock(&self.inner);
        inner.next_id += 1;
        let id = inner.next_id;
        if opts.from_beginning {
            let mut history: Vec<&(u64, Json, Option<String>)> = inner
                .retained
                .iter()
                .filter(|(t, _)| sub.topic.is_match(t))
                .flat_map(|(_, msgs)| msgs.iter())
                .filter(|(_, _, kind)| {
                    sub.filter
                        .as_ref()
                        .is_none_or(|f| kind.as_deref().is_some_and(|k| f.is_match(k)))
                })
                .collect();
            history.sort_by_key(|(seq, _, _)| *seq);
            for (_, event, _) in history {
                sub.handler.call(event);
            }
        }
        inner.subs.push(Sub { id, ..sub });
        Ok(id)
    }

    async fn unsubscribe(&self, id: u64) -> Result<bool> {
        let mut inner = lock(&self.inner);
        let before = inner.subs.len();
        inner.subs.retain(|s| s.id != id);
        Ok(inner.subs.len() != before)
    }

    async fn list_topics(&self) -> Result<Vec<String>> {
        self.open()?;
        let inner = lock(&self.inner);
        let mut topics: Vec<String> = Vec::new();
        for s in &inner.subs {
            if !topics.iter().any(|t| t == s.topic.pattern()) {
                topics.push(s.topic.pattern().to_string());
            }
        }
        Ok(topics)
    }

    async fn subscription_count(&self, topic: &str) -> Result<u64> {
        self.open()?;
        let inner = lock(&self.inner);
        Ok(inner
            .subs
            .iter()
            .filter(|s| s.topic.pattern() == topic)
            .count() as u64)
    }

    async fn shutdown(&self) -> Result<()> {
        self.closed.store(true, Ordering::Release);
        let mut inner = lock(&self.inner);
        inner.subs.clear();
        inner.retained.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::callback::FnCallback;
    use crate::stream::prepare_event;
    use serde_json::json;

    fn recorder() -> (Arc<dyn Callback>, Arc<Mutex<Vec<String>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        (
            Arc::new(FnCallback(move |j: &Json| {
                s.lock()
                    .unwrap()
                    .push(j.to_value().unwrap()["type"].as_str().unwrap().to_string())
            })),
            seen,
        )
    }

    #[tokio::test]
    async fn wildcards_filters_groups_and_replay() {
        let s = MemoryStreamAdapter::default();
        let (all, seen_all) = recorder();
        let (g1, seen_g1) = recorder();
        let (g2, seen_g2) = recorder();
        s.subscribe(
            "flow:*",
            all,
            SubscribeOptions {
                filter: Some("step.*".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let grp = SubscribeOptions {
            group: Some("w".into()),
            ..Default::default()
        };
        s.subscribe("flow:a", g1, grp.clone()).await.unwrap();
        s.subscribe("flow:a", g2, grp).await.unwrap();
        for t in ["step.a", "flow.x", "step.b", "step.c"] {
            s.publish("flow:a", prepare_event(json!({ "type": t })).unwrap())
                .await
                .unwrap();
        }
        assert_eq!(*seen_all.lock().unwrap(), ["step.a", "step.b", "step.c"]);
        assert_eq!(
            seen_g1.lock().unwrap().len() + seen_g2.lock().unwrap().len(),
            4
        );
        assert_eq!(seen_g1.lock().unwrap().len(), 2);
        let (late, seen_late) = recorder();
        s.subscribe(
            "flow:*",
            late,
            SubscribeOptions {
                from_beginning: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(
            *seen_late.lock().unwrap(),
            ["step.a", "flow.x", "step.b", "step.c"]
        );
        assert_eq!(s.list_topics().await.unwrap(), ["flow:*", "flow:a"]);
        assert_eq!(s.subscription_count("flow:a").await.unwrap(), 2);
    }
}
