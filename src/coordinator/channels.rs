//! Every subject and topic the coordinator uses (SPEC §7), built here and nowhere else.

/// Where an ingress flow event of `run_id` is persisted.
pub fn flow_run_subject(prefix: &str, run_id: &str) -> String {
    format!("{prefix}:flow:run:{run_id}")
}

/// Where an ingress trigger event of trigger `name` is persisted.
pub fn trigger_subject(prefix: &str, name: &str) -> String {
    format!("{prefix}:trigger:event:{name}")
}

/// store-sync channel: every persisted event.
pub fn store_sync(subject: &str) -> String {
    format!("store-sync:append:{subject}")
}

/// flow-events channel: lifecycle events of one run.
pub fn flow_events(run_id: &str) -> String {
    format!("flow:event:{run_id}")
}

/// client-messages channel: every persisted flow event of one run, on the seed's topic...
pub fn client_flow(run_id: &str) -> String {
    format!("client:flow:{run_id}")
}

/// ...and on the reference adapter's topic.
pub fn client_flow_reference(prefix: &str, run_id: &str) -> String {
    format!("{prefix}:stream:flow:events:{run_id}")
}

/// client-messages channel: trigger events.
pub fn client_trigger(prefix: &str, name: &str) -> String {
    format!("{prefix}:stream:trigger:events:{name}")
}

/// client-messages channel: flow statistics.
pub fn client_stats(prefix: &str) -> String {
    format!("{prefix}:stream:flow:stats")
}

/// Lifecycle types that go to the flow-events channel.
pub fn is_lifecycle(kind: &str) -> bool {
    matches!(
        kind,
        "flow.start" | "flow.completed" | "flow.failed" | "flow.cancel" | "emit"
    ) || kind.starts_with("step.")
}
