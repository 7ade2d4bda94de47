//! The `QueueAdapter` operations of [`MemoryQueueAdapter`].

use crate::error::{NventError, Result};
use crate::queue::cron::Pattern;
use crate::queue::job::{Job, NewJob, ScheduleSpec, State};
use crate::queue::{Batch, Counts, Outcome, QueueAdapter, WorkerOptions};
use crate::value::Json;
use async_trait::async_trait;
use serde_json::{json, Value};
// aHash: keys are caller-chosen (job ids, queue names), so the hasher must resist
// flooding; aHash does, at a fraction of SipHash's cost.
use ahash::AHashSet as HashSet;

use super::state::*;
use super::MemoryQueueAdapter;

#[async_trait]
impl QueueAdapter for MemoryQueueAdapter {
    async fn enqueue(&self, queue: &str, job: NewJob) -> Result<String> {
        self.run(|inner, now, fx| Ok(inner.add(queue, job, now, fx)))
            .await
    }

    async fn enqueue_bulk(&self, queue: &str, jobs: Vec<NewJob>) -> Result<Vec<String>> {
        self.run(|inner, now, fx| {
            Ok(jobs
                .into_iter()
                .map(|job| inner.add(queue, job, now, fx))
                .collect())
        })
        .await
    }

    async fn schedule(&self, queue: &str, mut job: NewJob, spec: ScheduleSpec) -> Result<String> {
        if !spec.repeats() {
            job.opts.delay = spec.delay.unwrap_or(0);
            return self.enqueue(queue, job).await;
        }
        let pattern = spec.pattern.as_deref().map(Pattern::parse).transpose()?;
        self.run(|inner, now, fx| {
            let first = match (&pattern, spec.every) {
                (Some(p), _) => p.next_after(now).ok_or_else(|| {
                    NventError::invalid_argument(format!(
                        "cron pattern '{}' never fires",
                        p.as_str()
                    ))
                })?,
                (None, Some(every)) => now + every,
                (None, None) => now,
            };
            let first = first.max(now + spec.delay.unwrap_or(0));
            inner.next_schedule += 1;
            let id = inner.next_schedule;
            inner.queue(queue);
            inner.schedules.insert(
                id,
                Schedule {
                    id,
                    queue: queue.to_string(),
                    job,
                    pattern,
                    every: spec.every,
                    limit: spec.limit,
                    fired: 0,
                    next: first,
                },
            );
            fx.timers_changed = true;
            fx.touch_schedule(id);
            Ok(format!("repeat:{id}"))
        })
        .await
    }

    async fn get_job(&self, queue: &str, id: &str) -> Result<Option<Json>> {
        self.with(|inner, _, _| {
            Ok(inner
                .queues
                .get(queue)
                .and_then(|q| q.jobs.get(id).map(|e| e.job.render(queue, q.paused))))
        })
    }

    async fn get_jobs(
        &self,
        queue: &str,
        states: Option<Vec<State>>,
        limit: Option<usize>,
        offset: usize,
    ) -> Result<Vec<Json>> {
        self.with(|inner, _, _| {
            let Some(q) = inner.queues.get(queue) else {
                return Ok(Vec::new());
            };
            let shown = |job: &Job| {
                if job.state == State::Waiting && q.paused {
                    State::Paused
                } else {
                    job.state
                }
            };
            let mut hits: Vec<&Job> = q
                .jobs
                .values()
                .map(|e| &e.job)
                .filter(|j| states.as_ref().is_none_or(|s| s.contains(&shown(j))))
                .collect();
            hits.sort_by_key(|j| std::cmp::Reverse(j.seq));
            Ok(hits
                .into_iter()
                .skip(offset)
                .take(limit.unwrap_or(usize::MAX))
                .map(|j| j.render(queue, q.paused))
                .collect())
        })
    }

    async fn get_job_counts(&self, queue: &str) -> Result<Counts> {
        self.with(|inner, _, _| {
            let Some(q) = inner.queues.get(queue) else {
                return Ok(Counts::default());
            };
            let waiting = q.waiting.len() as u64;
            Ok(Counts {
                waiting: if q.paused { 0 } else { waiting },
                paused: if q.paused { waiting } else { 0 },
                active: q.active.len() as u64,
                delayed: q.delayed.len() as u64,
                completed: q.completed.len() as u64,
                failed: q.failed.len() as u64,
            })
        })
    }

    async fn pause(&self, queue: &str) -> Result<()> {
        self.run(|inner, _, fx| {
            fx.touch_queue(queue);
            let q = inner.queue(queue);
            if !q.paused {
                q.paused = true;
                fx.event(q, queue, "paused", || json!({ "queueName": queue }));
            }
            Ok(())
        })
        .await
    }

    async fn resume(&self, queue: &str) -> Result<()> {
        self.run(|inner, _, fx| {
            fx.touch_queue(queue);
            let q = inner.queue(queue);
            let was_paused = q.paused;
            q.paused = false;
            if let Some(w) = &mut q.worker {
                w.running = true;
            }
            if was_paused {
                fx.event(q, queue, "resumed", || json!({ "queueName": queue }));
            }
            wake(q, queue, fx);
            Ok(())
        })
        .await
    }

    async fn is_paused(&self, queue: &str) -> Result<bool> {
        self.with(|inner, _, _| Ok(inner.queues.get(queue).is_some_and(|q| q.paused)))
    }

    async fn register_worker(
        &self,
        queue: &str,
        job_name: &str,
        opts: WorkerOptions,
    ) -> Result<()> {
        self.with(|inner, _, fx| {
            let q = inner.queue(queue);
            let w = q.worker.get_or_insert_with(|| Worker {
                names: HashSet::new(),
                concurrency: 1,
                running: false,
            });
            w.names.insert(job_name.to_string());
            w.concurrency = w.concurrency.max(opts.concurrency.max(1));
            if opts.autorun {
                w.running = true;
            }
            q.wake_sent = false;
            wake(q, queue, fx);
            Ok(())
        })
    }

    async fn start_processing(&self, queue: &str) -> Result<()> {
        self.with(|inner, _, fx| {
            let q = inner.queue(queue);
            if let Some(w) = &mut q.worker {
                w.running = true;
            }
            wake(q, queue, fx);
            Ok(())
        })
    }

    async fn take(&self, queue: &str, max: usize) -> Result<Batch> {
        self.run(|inner, now, fx| {
            let mut out = String::from("[");
            let mut count = 0;
            let mut unhandled: Vec<(String, String)> = Vec::new();
            inner.next_token += 1;
            let base_token = inner.next_token;
            if let Some(q) = inner.queues.get_mut(queue) {
                q.wake_sent = false;
                if q.runnable() {
                    let (concurrency, names) = match &q.worker {
                        Some(w) => (w.concurrency, w.names.clone()),
                        None => (0, HashSet::new()),
                    };
                    let room = concurrency.saturating_sub(q.active.len()).min(max);
                    while count < room {
                        let Some((_, id)) = q.waiting.pop_first() else { break };
                        let Some(entry) = q.jobs.get_mut(&id) else { continue };
                        let deadline = entry.job.opts.timeout.map(|t| now + t);
                        let job = &mut entry.job;
                        job.state = State::Active;
                        job.processed_on = Some(now);
                        job.attempts_made += 1;
                        job.token = base_token + count as u64;
                        fx.touch_job(queue, &id);
                        entry.slot = Slot::Active(deadline);
                        q.active.insert(id.clone());
                        if let Some(d) = deadline {
                            q.timeouts.insert((d, id.clone()));
                            fx.timers_changed = true;
                        }
                        let Some(entry) = q.jobs.get(&id) else { continue };
                        let job = &entry.job;
                        fx.event(q, queue, "active", || json!({ "jobId": id, "name": job.name, "attemptsMade": job.attempts_made - 1 }),
                        );
                        if !names.contains(&job.name) {
                            unhandled.push((id, job.name.clone()));
                            continue;
                        }
                        if count > 0 {
                            out.push(',');
                        }
                        job.render_claim(&mut out);
                        count += 1;
                    }
                }
            }
            inner.next_token += count as u64;
            for (id, name) in unhandled {
                let reason = format!("no handler is registered for job '{name}' on queue '{queue}'");
                inner.fail_attempt(queue, &id, reason, now, fx);
            }
            out.push(']');
            Ok(Batch {
                jobs: out,
                count,
                pending: inner.pending(),
            })
        }).await
    }

    async fn finish(&self, queue: &str, outcomes: Vec<Outcome>) -> Result<u64> {
        let now = (self.shared.clock)();
        let mut fx = Effects {
            journaling: self.shared.journal.is_some(),
            ..Effects::default()
        };
        let (pending, ack) = {
            let mut inner = lock(&self.shared.inner);
            if let Some(e) = self.shared.journal.as_ref().and_then(|j| j.failure()) {
                return Err(e);
            }
            // Results that arrive while closing are still recorded.
            for o in outcomes {
                let current = inner
                    .queues
                    .get(queue)
                    .and_then(|q| q.jobs.get(&o.id))
                    .is_some_and(|e| e.job.state == State::Active && e.job.token == o.token);
                if !current {
                    continue;
                }
                match o.result {
                    Ok(value) => inner.complete(queue, &o.id, value, now, &mut fx),
                    Err(reason) => inner.fail_attempt(queue, &o.id, reason, now, &mut fx),
                }
            }
            if let Some(q) = inner.queues.get_mut(queue) {
                q.wake_sent = false;
            }
            let ack = self.shared.log(&inner, &mut fx);
            (inner.pending(), ack)
        };
        self.shared.flush(fx);
        ack.wait().await?;
        self.shared.maybe_compact();
        Ok(pending)
    }

    async fn update_progress(
        &self,
        queue: &str,
        id: &str,
        token: u64,
        progress: Json,
    ) -> Result<()> {
        self.run(|inner, _, fx| {
            let q = inner
                .queues
                .get_mut(queue)
                .ok_or_else(|| NventError::LockLost {
                    job_id: id.to_string(),
                })?;
            let Some(entry) = q
                .jobs
                .get_mut(id)
                .filter(|e| e.job.token == token && e.job.state == State::Active)
            else {
                return Err(NventError::LockLost {
                    job_id: id.to_string(),
                });
            };
            entry.job.progress = Some(progress.clone());
            fx.touch_job(queue, id);
            if q.listening.contains("progress") {
                let p = progress.to_value().unwrap_or(Value::Null);
                fx.event(
                    q,
                    queue,
                    "progress",
                    || json!({ "jobId": id, "progress": p, "data": p }),
                );
            }
            Ok(())
        })
        .await
    }

    async fn log(&self, queue: &str, id: &str, token: u64, line: String) -> Result<()> {
        self.run(|inner, _, fx| {
            fx.touch_job(queue, id);
            let entry = inner
                .queues
                .get_mut(queue)
                .and_then(|q| q.jobs.get_mut(id))
                .filter(|e| e.job.token == token && e.job.state == State::Active)
                .ok_or_else(|| NventError::LockLost {
                    job_id: id.to_string(),
                })?;
            entry.job.logs.push(line);
            Ok(())
        })
        .await
    }

    async fn listen(&self, queue: &str, event: &str, on: bool) -> Result<()> {
        self.with(|inner, _, _| {
            let q = inner.queue(queue);
            if on {
                q.listening.insert(event.to_string());
            } else {
                q.listening.remove(event);
            }
            Ok(())
        })
    }

    async fn get_scheduled_jobs(&self, queue: &str) -> Result<Vec<Json>> {
        self.with(|inner, _, _| {
            Ok(inner
                .schedules
                .values()
                .filter(|s| s.queue == queue)
                .map(|s| {
                    Json::from_value(&json!({
                        "id": format!("repeat:{}", s.id),
                        "queueName": s.queue,
                        "name": s.job.name,
                        "pattern": s.pattern.as_ref().map(|p| p.as_str()),
                        "every": s.every,
                        "limit": s.limit,
                        "count": s.fired,
                        "next": s.next,
                    }))
                })
                .collect())
        })
    }

    async fn remove_scheduled_job(&self, id: &str) -> Result<bool> {
        let Some(n) = id
            .strip_prefix("repeat:")
            .and_then(|n| n.parse::<u64>().ok())
        else {
            return self.run(|_, _, _| Ok(false)).await;
        };
        self.run(|inner, _, fx| {
            fx.touch_schedule(n);
            Ok(inner.schedules.remove(&n).is_some())
        })
        .await
    }

    async fn remove_job(&self, queue: &str, id: &str) -> Result<bool> {
        self.run(|inner, _, fx| {
            let Some(q) = inner.queues.get_mut(queue) else {
                return Ok(false);
            };
            if !q.jobs.contains_key(id) {
                return Ok(false);
            }
            fx.touch_job(queue, id);
            q.unslot(id);
            q.jobs.remove(id);
            q.completed.retain(|j| j != id);
            q.failed.retain(|j| j != id);
            Ok(true)
        })
        .await
    }

    async fn close(&self) -> Result<()> {
        lock(&self.shared.inner).closed = true;
        self.shared.notify.notify_one();
        Ok(())
    }
}
