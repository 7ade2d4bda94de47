//! `Queue`: what the binding calls. It validates names, data, job options (over the
//! adapter's `defaultJobOptions`) and worker options (over its `worker` defaults), then
//! calls the backend. Values cross as JSON text.

use super::job::{JobOptions, NewJob, ScheduleSpec, State};
use super::{Outcome, QueueAdapter, WorkerOptions};
use crate::error::{NventError, Result};
use crate::options::{Opts, Zero, MAX_CONCURRENCY, MAX_COUNT};
use crate::store::facade::json_array;
use crate::value::{check_name, parse_as, Json, Limits};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

#[derive(Clone)]
pub struct Queue {
    backend: Arc<dyn QueueAdapter>,
    limits: Limits,
    job_defaults: Arc<Map<String, Value>>,
    worker_defaults: Arc<Map<String, Value>>,
    /// Job defaults of one job name on one queue (a worker's `defaultJobOptions`, set by the
    /// Nuxt module per function), over `job_defaults`.
    name_defaults: Arc<RwLock<NameDefaults>>,
}

/// Queue → job name → defaults.
type NameDefaults = HashMap<String, HashMap<String, Arc<Map<String, Value>>>>;

/// Events `on(queue, event, cb)` accepts (SPEC §5).
/// Separates the entries of the lists `enqueue_bulk` takes and returns.
pub const JOB_SEPARATOR: char = '\0';
const JOB_SEPARATOR_STR: &str = "\0";

pub const EVENTS: [&str; 9] = [
    "waiting",
    "active",
    "progress",
    "completed",
    "failed",
    "delayed",
    "paused",
    "resumed",
    "stalled",
];

impl Queue {
    /// `options` = the adapter's constructor options (`defaultJobOptions`, `worker`,
    /// `closeTimeout`, which the JS layer applies).
    ///
    /// # Errors
    /// `NVENT_INVALID_ARGUMENT` for a bad `worker` default or `closeTimeout`, so a bad
    /// setting fails where it was written rather than at every `registerWorker`.
    pub fn new(
        backend: Arc<dyn QueueAdapter>,
        options: &Map<String, Value>,
        limits: Limits,
    ) -> Result<Queue> {
        let object = |key: &str| match options.get(key) {
            Some(Value::Object(m)) => m.clone(),
            _ => Map::new(),
        };
        Opts::from_map("queue options", options.clone())
            .duration_ms("closeTimeout", Zero::Allowed)?;
        let queue = Queue {
            backend,
            limits,
            job_defaults: Arc::new(object("defaultJobOptions")),
            worker_defaults: Arc::new(object("worker")),
            name_defaults: Arc::new(RwLock::new(HashMap::new())),
        };
        queue.worker_options(None)?;
        Ok(queue)
    }

    fn queue_name(&self, queue: &str) -> Result<()> {
        check_name("queue name", queue, &self.limits)
    }

    /// The job defaults of `name` on `queue`: the adapter's, with a worker's
    /// `defaultJobOptions` for that name over them.
    fn defaults_of(&self, queue: &str, name: &str) -> Arc<Map<String, Value>> {
        let named = self.name_defaults.read().unwrap_or_else(|p| p.into_inner());
        match named.get(queue).and_then(|names| names.get(name)) {
            Some(d) => d.clone(),
            None => self.job_defaults.clone(),
        }
    }

    fn new_job(&self, queue: &str, name: &str, data: String, opts: Option<&str>) -> Result<NewJob> {
        check_name("job name", name, &self.limits)?;
        let data = Json::from_text(data, &self.limits)?;
        let opts = Opts::parse("job options", opts)?.into_map();
        let opts = JobOptions::parse(&self.defaults_of(queue, name), opts)?;
        if let Some(id) = &opts.job_id {
            check_name("jobId", id, &self.limits)?;
        }
        Ok(NewJob {
            name: name.to_string(),
            data,
            opts,
        })
    }

    /// # Errors
    /// `NVENT_INVALID_NAME`, `NVENT_INVALID_ARGUMENT`, value errors, `NVENT_CLOSED`.
    pub async fn enqueue(
        &self,
        queue: &str,
        name: &str,
        data: String,
        opts: Option<&str>,
    ) -> Result<String> {
        self.queue_name(queue)?;
        let job = self.new_job(queue, name, data, opts)?;
        self.backend.enqueue(queue, job).await
    }

    /// `count` jobs as three lists joined by NUL (`JOB_SEPARATOR`): names, data (JSON
    /// text) and options (JSON text, empty for none). NUL cannot occur in a valid name
    /// nor raw in JSON text, so one string per list crosses the boundary instead of one
    /// per job. Every job is checked before any is added. Returns the ids, in order,
    /// joined the same way.
    ///
    /// # Errors
    /// `NVENT_INVALID_ARGUMENT` when a list does not hold `count` entries; the errors of
    /// `enqueue` for the first bad job.
    pub async fn enqueue_bulk(
        &self,
        queue: &str,
        count: usize,
        names: &str,
        datas: &str,
        opts: &str,
    ) -> Result<String> {
        self.queue_name(queue)?;
        let mut parsed = Vec::with_capacity(count);
        if count > 0 {
            let mismatch = || {
                NventError::invalid_argument(
                    "enqueueBulk: names, data and options differ in length",
                )
            };
            let mut names = names.split(JOB_SEPARATOR);
            let mut datas = datas.split(JOB_SEPARATOR);
            let mut opts = opts.split(JOB_SEPARATOR);
            for _ in 0..count {
                let (Some(name), Some(data), Some(o)) = (names.next(), datas.next(), opts.next())
                else {
                    return Err(mismatch());
                };
                let o = (!o.is_empty()).then_some(o);
                parsed.push(self.new_job(queue, name, data.to_string(), o)?);
            }
            if names.next().is_some() || datas.next().is_some() || opts.next().is_some() {
                return Err(mismatch());
            }
        }
        let ids = self.backend.enqueue_bulk(queue, parsed).await?;
        Ok(ids.join(JOB_SEPARATOR_STR))
    }

    pub async fn schedule(
        &self,
        queue: &str,
        name: &str,
        data: String,
        opts: Option<&str>,
        spec: Option<&str>,
    ) -> Result<String> {
        self.queue_name(queue)?;
        let job = self.new_job(queue, name, data, opts)?;
        let spec = ScheduleSpec::parse(spec)?;
        if let Some(p) = &spec.pattern {
            super::cron::Pattern::parse(p)?;
        }
        self.backend.schedule(queue, job, spec).await
    }

    pub async fn get_job(&self, queue: &str, id: &str) -> Result<Option<String>> {
        self.queue_name(queue)?;
        check_name("job id", id, &self.limits)?;
        Ok(self
            .backend
            .get_job(queue, id)
            .await?
            .map(|j| j.as_str().to_string()))
    }

    /// `opts` = `{ state?: string | string[], limit?, offset? }`.
    pub async fn get_jobs(&self, queue: &str, opts: Option<&str>) -> Result<String> {
        self.queue_name(queue)?;
        let o = Opts::parse("getJobs options", opts)?;
        let states = match o.strings("state")?.or(o.strings("states")?) {
            None => None,
            Some(list) => Some(
                list.iter()
                    .map(|s| State::parse(s))
                    .collect::<Result<Vec<_>>>()?,
            ),
        };
        let limit = o.count("limit", 0, MAX_COUNT)?.map(|l| l as usize);
        let offset = o.count("offset", 0, MAX_COUNT)?.unwrap_or(0) as usize;
        let jobs = self.backend.get_jobs(queue, states, limit, offset).await?;
        Ok(json_array(jobs.iter().map(Json::as_str)))
    }

    pub async fn get_job_counts(&self, queue: &str) -> Result<String> {
        self.queue_name(queue)?;
        let counts = self.backend.get_job_counts(queue).await?;
        serde_json::to_string(&counts).map_err(|e| NventError::internal(e.to_string()))
    }

    pub async fn pause(&self, queue: &str) -> Result<()> {
        self.queue_name(queue)?;
        self.backend.pause(queue).await
    }

    pub async fn resume(&self, queue: &str) -> Result<()> {
        self.queue_name(queue)?;
        self.backend.resume(queue).await
    }

    pub async fn is_paused(&self, queue: &str) -> Result<bool> {
        self.queue_name(queue)?;
        self.backend.is_paused(queue).await
    }

    /// Parses worker options over the adapter's `worker` defaults; unknown keys are
    /// ignored.
    pub fn worker_options(&self, opts: Option<&str>) -> Result<WorkerOptions> {
        let mut merged = (*self.worker_defaults).clone();
        merged.extend(Opts::parse("worker options", opts)?.into_map());
        let o = Opts::from_map("worker options", merged);
        let d = WorkerOptions::default();
        let concurrency = o
            .count("concurrency", 1, MAX_CONCURRENCY)?
            .map_or(d.concurrency, |n| n as usize);
        // Lease settings are positive: a zero lock expires at once, a zero interval turns the
        // stall check into a busy loop against the backend.
        Ok(WorkerOptions {
            concurrency,
            autorun: o.bool("autorun")?.unwrap_or(d.autorun),
            lock_duration_ms: o
                .duration_ms("lockDuration", Zero::Refused)?
                .unwrap_or(d.lock_duration_ms),
            stalled_interval_ms: o
                .duration_ms("stalledInterval", Zero::Refused)?
                .unwrap_or(d.stalled_interval_ms),
            max_stalled_count: o
                .count("maxStalledCount", 0, MAX_COUNT)?
                .map_or(d.max_stalled_count, |n| n as u32),
        })
    }

    /// Takes `defaultJobOptions` of a worker's options (JSON text): later jobs of that name
    /// on that queue get them under their own options (over the adapter's defaults).
    ///
    /// # Errors
    /// `NVENT_INVALID_ARGUMENT` when they are not an object of valid job options.
    pub fn set_job_defaults(&self, queue: &str, name: &str, opts: Option<&str>) -> Result<()> {
        let o = Opts::parse("worker options", opts)?;
        let given = match o.raw("defaultJobOptions") {
            None | Some(Value::Null) => return Ok(()),
            Some(Value::Object(m)) => m.clone(),
            Some(_) => {
                return Err(NventError::invalid_argument(
                    "worker options.defaultJobOptions must be an object of job options",
                ))
            }
        };
        let mut merged = (*self.job_defaults).clone();
        merged.extend(given);
        merged.remove("jobId");
        JobOptions::parse(&Map::new(), merged.clone())?;
        self.name_defaults
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .entry(queue.to_string())
            .or_default()
            .insert(name.to_string(), Arc::new(merged));
        Ok(())
    }

    pub async fn register_worker(
        &self,
        queue: &str,
        name: &str,
        opts: WorkerOptions,
    ) -> Result<()> {
        self.queue_name(queue)?;
        check_name("job name", name, &self.limits)?;
        self.backend.register_worker(queue, name, opts).await
    }

    pub async fn start_processing(&self, queue: &str) -> Result<()> {
        self.queue_name(queue)?;
        self.backend.start_processing(queue).await
    }

    /// JSON text `{ "pending": n, "jobs": [...] }`, the jobs flat, six values each (see
    /// `Job::render_claim`).
    pub async fn take(&self, queue: &str, max: usize) -> Result<String> {
        let batch = self.backend.take(queue, max).await?;
        Ok(format!(
            "{{\"pending\":{},\"jobs\":{}}}",
            batch.pending, batch.jobs
        ))
    }

    /// `results` is JSON text of `[[id, token, ok, valueOrReason], ...]`: `ok` 1 with the
    /// handler's return value, 0 with the failure message.
    pub async fn finish(&self, queue: &str, results: &str) -> Result<u64> {
        // Typed, with each value kept as its text: no value tree is built and written
        // back per job.
        type Item = (String, u64, u8, Box<RawValue>);
        let items: Vec<Item> = parse_as(results, &self.limits)?;
        let mut outcomes = Vec::with_capacity(items.len());
        for (id, token, ok, value) in items {
            let text = value.get();
            let result = if ok == 1 {
                Ok(Json::trusted(text.to_string()))
            } else {
                // A failure's reason is a string (anything else is kept as its JSON).
                Err(serde_json::from_str::<String>(text).unwrap_or_else(|_| text.to_string()))
            };
            outcomes.push(Outcome { id, token, result });
        }
        self.backend.finish(queue, outcomes).await
    }

    pub async fn update_progress(
        &self,
        queue: &str,
        id: &str,
        token: u64,
        progress: String,
    ) -> Result<()> {
        let progress = Json::from_text(progress, &self.limits)?;
        self.backend
            .update_progress(queue, id, token, progress)
            .await
    }

    pub async fn log(&self, queue: &str, id: &str, token: u64, line: String) -> Result<()> {
        self.backend.log(queue, id, token, line).await
    }

    pub async fn listen(&self, queue: &str, event: &str, on: bool) -> Result<()> {
        self.queue_name(queue)?;
        if !EVENTS.contains(&event) {
            return Err(NventError::invalid_argument(format!(
                "unknown queue event '{event}'; use one of {}",
                EVENTS.join(", ")
            )));
        }
        self.backend.listen(queue, event, on).await
    }

    pub async fn get_scheduled_jobs(&self, queue: &str) -> Result<String> {
        self.queue_name(queue)?;
        let list = self.backend.get_scheduled_jobs(queue).await?;
        Ok(json_array(list.iter().map(Json::as_str)))
    }

    pub async fn remove_scheduled_job(&self, id: &str) -> Result<bool> {
        check_name("schedule id", id, &self.limits)?;
        self.backend.remove_scheduled_job(id).await
    }

    pub async fn remove_job(&self, queue: &str, id: &str) -> Result<bool> {
        self.queue_name(queue)?;
        check_name("job id", id, &self.limits)?;
        self.backend.remove_job(queue, id).await
    }

    pub async fn close(&self) -> Result<()> {
        self.backend.close().await
    }

    pub async fn init(&self) -> Result<()> {
        self.backend.init().await
    }

    pub async fn recovery_report(&self) -> Result<Option<String>> {
        self.backend.recovery_report().await
    }
}
