//! Queue changes as the file backend logs them: each says what a job, a schedule or a
//! queue's settings *are* after the change, so replay is deterministic. postcard-encoded;
//! new variants go at the end only.

use super::job::{Job, JobOptions, NewJob, State};
use crate::error::{NventError, Result};
use crate::value::Json;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    pub queue: String,
    pub id: String,
    pub name: String,
    pub data: String,
    /// The job's options as shown in `job.opts` (JSON text).
    pub opts: String,
    pub state: u8,
    pub timestamp: u64,
    pub processed_on: Option<u64>,
    pub finished_on: Option<u64>,
    pub attempts_made: u32,
    pub returnvalue: Option<String>,
    pub failed_reason: Option<String>,
    pub progress: Option<String>,
    pub logs: Vec<String>,
    pub seq: u64,
    /// When a delayed job is due (ms since the epoch).
    pub due: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleRecord {
    pub id: u64,
    pub queue: String,
    pub name: String,
    pub data: String,
    pub opts: String,
    pub pattern: Option<String>,
    pub every: Option<u64>,
    pub limit: Option<u32>,
    pub fired: u32,
    pub next: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum QueueChange {
    JobPut(Box<JobRecord>),
    JobDel {
        queue: String,
        id: String,
    },
    QueueMeta {
        queue: String,
        paused: bool,
        next_id: u64,
    },
    SchedulePut(Box<ScheduleRecord>),
    ScheduleDel {
        id: u64,
    },
    /// The counters that keep ids unique across restarts.
    Counters {
        next_seq: u64,
        next_schedule: u64,
    },
    Batch(Vec<QueueChange>),
}

pub fn state_code(s: State) -> u8 {
    match s {
        State::Waiting | State::Paused => 0,
        State::Active => 1,
        State::Completed => 2,
        State::Failed => 3,
        State::Delayed => 4,
    }
}

pub fn state_of(code: u8) -> State {
    match code {
        1 => State::Active,
        2 => State::Completed,
        3 => State::Failed,
        4 => State::Delayed,
        _ => State::Waiting,
    }
}

fn opts_of(text: &str) -> Result<JobOptions> {
    let raw = match crate::value::parse_value(text, &crate::value::Limits::default())? {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    JobOptions::parse(&Map::new(), raw)
}

/// Marks a deleted job or schedule during a replay.
const DELETED: u8 = u8::MAX;

impl JobRecord {
    /// A tombstone used while replaying: the job was deleted.
    pub fn deleted() -> JobRecord {
        JobRecord {
            queue: String::new(),
            id: String::new(),
            name: String::new(),
            data: String::new(),
            opts: String::new(),
            state: DELETED,
            timestamp: 0,
            processed_on: None,
            finished_on: None,
            attempts_made: 0,
            returnvalue: None,
            failed_reason: None,
            progress: None,
            logs: Vec::new(),
            seq: 0,
            due: None,
        }
    }

    pub fn is_deleted(&self) -> bool {
        self.state == DELETED
    }

    pub fn of(queue: &str, job: &Job, due: Option<u64>) -> JobRecord {
        JobRecord {
            queue: queue.to_string(),
            id: job.id.clone(),
            name: job.name.clone(),
            data: job.data.as_str().to_string(),
            opts: Value::Object(job.opts.raw.clone()).to_string(),
            state: state_code(job.state),
            timestamp: job.timestamp,
            processed_on: job.processed_on,
            finished_on: job.finished_on,
            attempts_made: job.attempts_made,
            returnvalue: job.returnvalue.as_ref().map(|j| j.as_str().to_string()),
            failed_reason: job.failed_reason.clone(),
            progress: job.progress.as_ref().map(|j| j.as_str().to_string()),
            logs: job.logs.clone(),
            seq: job.seq,
            due,
        }
    }

    /// # Errors
    /// `NVENT_CORRUPT` when the stored options no longer parse.
    pub fn into_job(self) -> Result<Job> {
        Ok(Job {
            opts: opts_of(&self.opts).map_err(corrupt)?,
            id: self.id,
            name: self.name,
            data: Json::trusted(self.data),
            state: state_of(self.state),
            timestamp: self.timestamp,
            processed_on: self.processed_on,
            finished_on: self.finished_on,
            attempts_made: self.attempts_made,
            returnvalue: self.returnvalue.map(Json::trusted),
            failed_reason: self.failed_reason,
            progress: self.progress.map(Json::trusted),
            logs: self.logs,
            token: 0,
            seq: self.seq,
        })
    }
}

impl ScheduleRecord {
    /// A tombstone used while replaying: the schedule was removed.
    pub fn deleted() -> ScheduleRecord {
        ScheduleRecord {
            id: 0,
            queue: String::new(),
            name: String::new(),
            data: String::new(),
            opts: String::new(),
            pattern: None,
            every: None,
            limit: None,
            fired: u32::MAX,
            next: 0,
        }
    }

    pub fn is_deleted(&self) -> bool {
        self.fired == u32::MAX && self.queue.is_empty()
    }

    /// # Errors
    /// `NVENT_CORRUPT` when the stored options no longer parse.
    pub fn template(&self) -> Result<NewJob> {
        Ok(NewJob {
            name: self.name.clone(),
            data: Json::trusted(self.data.clone()),
            opts: opts_of(&self.opts).map_err(corrupt)?,
        })
    }
}

fn corrupt(e: NventError) -> NventError {
    NventError::Corrupt {
        message: format!("a stored job does not parse: {e}"),
    }
}

impl QueueChange {
    pub fn encode(&self) -> Vec<u8> {
        // Serializing owned strings and numbers into a Vec cannot fail.
        postcard::to_stdvec(self).unwrap_or_default()
    }

    /// # Errors
    /// `NVENT_CORRUPT` for bytes that are not a queue change.
    pub fn decode(bytes: &[u8]) -> Result<QueueChange> {
        postcard::from_bytes(bytes).map_err(|e| NventError::Corrupt {
            message: format!("a queue record does not decode: {e}"),
        })
    }
}
