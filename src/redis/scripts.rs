//! The Lua scripts, one file each under `scripts/` (`verbNoun-<numkeys>.lua`, with a header
//! of KEYS, ARGV and returns). The driver's [`redis::Script`] runs them by SHA (EVALSHA)
//! and loads them on `NOSCRIPT`, so a restarted or flushed server heals by itself.

use redis::Script;
use std::sync::LazyLock;

macro_rules! script {
    ($name:ident, $file:literal) => {
        pub static $name: LazyLock<Script> =
            LazyLock::new(|| Script::new(include_str!(concat!("scripts/", $file))));
    };
}

script!(ADD_ENTRY, "addEntry-2.lua");
script!(UPDATE_ENTRY, "updateEntry-2.lua");
script!(INCREMENT_FIELD, "incrementField-2.lua");
script!(INCREMENT_VALUE, "incrementValue-1.lua");
script!(READ_PAGE, "readPage-1.lua");
script!(RELEASE_CLAIM, "releaseClaim-1.lua");
script!(EXTEND_CLAIM, "extendClaim-1.lua");
script!(DELETE_STRINGS, "deleteStrings-0.lua");
script!(PUBLISH_MESSAGE, "publishMessage-1.lua");

/// The queue's scripts (`scripts/queue/`): each is `_common.lua` (the 12 keys every queue
/// script takes and the transitions they share) followed by the script's own body.
macro_rules! queue_script {
    ($name:ident, $file:literal) => {
        pub static $name: LazyLock<Script> = LazyLock::new(|| {
            Script::new(concat!(
                include_str!("scripts/queue/_common.lua"),
                include_str!(concat!("scripts/queue/", $file))
            ))
        });
    };
}

queue_script!(Q_ADD_JOBS, "addJobs-12.lua");
queue_script!(Q_TAKE_JOBS, "takeJobs-12.lua");
queue_script!(Q_FINISH_JOBS, "finishJobs-12.lua");
queue_script!(Q_EXTEND_LEASES, "extendLeases-12.lua");
queue_script!(Q_MOVE_STALLED, "moveStalled-12.lua");
queue_script!(Q_PROMOTE_DELAYED, "promoteDelayed-12.lua");
queue_script!(Q_SET_PAUSED, "setPaused-12.lua");
queue_script!(Q_REMOVE_JOB, "removeJob-12.lua");
queue_script!(Q_UPDATE_PROGRESS, "updateProgress-12.lua");
queue_script!(Q_ADD_LOG, "addLog-12.lua");
queue_script!(Q_READ_JOB, "readJob-12.lua");
queue_script!(Q_COUNT_JOBS, "countJobs-12.lua");
queue_script!(Q_LIST_JOBS, "listJobs-12.lua");
queue_script!(Q_ADD_SCHEDULE, "addSchedule-12.lua");
queue_script!(Q_FIRE_SCHEDULE, "fireSchedule-12.lua");
queue_script!(Q_REMOVE_SCHEDULE, "removeSchedule-12.lua");
queue_script!(Q_LISTEN_EVENTS, "listenEvents-12.lua");
queue_script!(Q_RELEASE_JOBS, "releaseJobs-12.lua");
