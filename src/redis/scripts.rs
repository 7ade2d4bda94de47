//! The Lua scripts, one file each under `scripts/` (`verbNoun-<numkeys>.lua`, with a header
//! of KEYS, ARGV and returns). The driver's [`redis::Script`] runs them by SHA (EVALSHA)
//! and loads them on `NOSCRIPT`, so a restarted or flushed server heals by itself.

use redis::Script;
use std::collections::HashSet;
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

/// The queue's scripts (`scripts/queue/`): each is the part of `_common.lua` (the 12 keys
/// every queue script takes and the transitions they share) that its body uses, followed by
/// the body (see [`with_common`]). `QUEUE_SCRIPTS` lists them by file, for tests.
macro_rules! queue_scripts {
    ($($name:ident = $file:literal;)*) => {
        $(
            pub static $name: LazyLock<Script> = LazyLock::new(|| {
                Script::new(&with_common(
                    include_str!("scripts/queue/_common.lua"),
                    include_str!(concat!("scripts/queue/", $file)),
                ))
            });
        )*
        pub static QUEUE_SCRIPTS: &[(&str, &LazyLock<Script>)] = &[$(($file, &$name)),*];
    };
}

queue_scripts! {
    Q_ADD_JOB = "addJob-12.lua";
    Q_ADD_JOBS = "addJobs-12.lua";
    Q_TAKE_JOBS = "takeJobs-12.lua";
    Q_FINISH_JOBS = "finishJobs-12.lua";
    Q_EXTEND_LEASES = "extendLeases-12.lua";
    Q_MOVE_STALLED = "moveStalled-12.lua";
    Q_PROMOTE_DELAYED = "promoteDelayed-12.lua";
    Q_SET_PAUSED = "setPaused-12.lua";
    Q_REMOVE_JOB = "removeJob-12.lua";
    Q_UPDATE_PROGRESS = "updateProgress-12.lua";
    Q_ADD_LOG = "addLog-12.lua";
    Q_READ_JOB = "readJob-12.lua";
    Q_COUNT_JOBS = "countJobs-12.lua";
    Q_LIST_JOBS = "listJobs-12.lua";
    Q_ADD_SCHEDULE = "addSchedule-12.lua";
    Q_FIRE_SCHEDULE = "fireSchedule-12.lua";
    Q_REMOVE_SCHEDULE = "removeSchedule-12.lua";
    Q_LISTEN_EVENTS = "listenEvents-12.lua";
    Q_RELEASE_JOBS = "releaseJobs-12.lua";
}

/// One top-level definition of `_common.lua`: a line at column 0 that starts with `local `
/// or `function `, the lines up to the next such line, and the comment lines right above it.
struct Definition<'a> {
    lines: Vec<&'a str>,
    defines: Vec<&'a str>,
}

/// `body` preceded by the definitions of `common` it reaches, directly or through other
/// definitions, in their original order.
///
/// A script run creates a closure for every function it defines before it does anything
/// else; on a server whose caches went cold while idle, that was a quarter of a single
/// add's script time (docs/REDIS.md). Every top-level statement of `_common.lua` is a
/// definition, so leaving out unreached ones changes nothing a script does. A name is
/// reached when it appears as an identifier outside comments and strings; a name that only
/// looks reached keeps a definition that is not needed, which is harmless.
pub(crate) fn with_common(common: &str, body: &str) -> String {
    let mut defs: Vec<Definition> = Vec::new();
    let mut above: Vec<&str> = Vec::new();
    for line in common.lines() {
        if let Some(names) = defined_names(line) {
            let mut lines = std::mem::take(&mut above);
            lines.push(line);
            defs.push(Definition {
                lines,
                defines: names,
            });
        } else if line.starts_with("--") || line.trim().is_empty() {
            above.push(line);
        } else if let Some(d) = defs.last_mut() {
            d.lines.append(&mut above);
            d.lines.push(line);
        }
    }
    let uses: Vec<HashSet<&str>> = defs
        .iter()
        .map(|d| d.lines.iter().flat_map(|l| identifiers(l)).collect())
        .collect();
    let mut wanted: HashSet<&str> = identifiers(body).collect();
    let mut kept = vec![false; defs.len()];
    let mut grew = true;
    while grew {
        grew = false;
        for (i, d) in defs.iter().enumerate() {
            if !kept[i] && d.defines.iter().any(|n| wanted.contains(n)) {
                kept[i] = true;
                wanted.extend(uses[i].iter().copied());
                grew = true;
            }
        }
    }
    let mut out = String::with_capacity(common.len() + body.len());
    for (d, _) in defs.iter().zip(&kept).filter(|(_, k)| **k) {
        for line in &d.lines {
            out.push_str(line);
            out.push('\n');
        }
    }
    out.push_str(body);
    out
}

/// The names a top-level line of `_common.lua` defines (`local a, b = …`, `local function
/// f(…)`, `function f(…)` for a local declared above), or `None` for any other line.
fn defined_names(line: &str) -> Option<Vec<&str>> {
    let rest = line
        .strip_prefix("local function ")
        .or_else(|| line.strip_prefix("function "));
    if let Some(rest) = rest {
        return Some(identifiers(rest).take(1).collect());
    }
    let rest = line.strip_prefix("local ")?;
    let names = rest.split('=').next().unwrap_or_default();
    Some(identifiers(names).collect())
}

/// The identifiers of Lua source, outside comments and string literals (the scripts use
/// no long brackets, `[[…]]`).
fn identifiers(src: &str) -> impl Iterator<Item = &str> {
    let bytes = src.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < bytes.len() {
            let c = bytes[i];
            if c == b'-' && bytes.get(i + 1) == Some(&b'-') {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            } else if c == b'\'' || c == b'"' {
                i += 1;
                while i < bytes.len() && bytes[i] != c {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            } else if c.is_ascii_alphabetic() || c == b'_' {
                let start = i;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                return src.get(start..i);
            } else if c.is_ascii_digit() {
                // A number, hex ones included: no identifier starts inside it.
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'.') {
                    i += 1;
                }
            } else {
                i += 1;
            }
        }
        None
    })
}

#[cfg(test)]
mod tests {
    use super::with_common;

    const COMMON: &str = "\
-- header
local K_A, K_B = KEYS[1], KEYS[2]
local function unused() return K_B end
-- helper's comment
local function helper(x)
  -- mentions unused() in a comment
  return K_A .. x .. 'unused'
end
local later, other = nil, nil
local function user() return later() end
function later() return helper('y') end
local function viaString() return 'user' end
";

    #[test]
    fn keeps_what_the_body_reaches_in_order() {
        let out = with_common(COMMON, "return user()\n");
        assert_eq!(
            out,
            "\
-- header
local K_A, K_B = KEYS[1], KEYS[2]
-- helper's comment
local function helper(x)
  -- mentions unused() in a comment
  return K_A .. x .. 'unused'
end
local later, other = nil, nil
local function user() return later() end
function later() return helper('y') end
return user()
"
        );
    }

    #[test]
    fn a_body_that_reaches_nothing_gets_nothing() {
        assert_eq!(with_common(COMMON, "return 1\n"), "return 1\n");
    }

    /// On the real scripts: whatever a trimmed script names that `_common.lua` defines, it
    /// defines too (a definition cut apart or dropped would fail on the server with an
    /// undefined global).
    #[test]
    fn every_queue_script_defines_what_it_uses() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/redis/scripts/queue");
        let common = std::fs::read_to_string(dir.join("_common.lua")).expect("_common.lua");
        let defined_in = |text: &str| -> std::collections::HashSet<String> {
            text.lines()
                .filter_map(super::defined_names)
                .flatten()
                .map(str::to_string)
                .collect()
        };
        let shared = defined_in(&common);
        for (file, _) in super::QUEUE_SCRIPTS {
            let body = std::fs::read_to_string(dir.join(file)).expect("script file");
            let out = with_common(&common, &body);
            assert!(out.ends_with(&body), "{file}");
            let defined = defined_in(&out);
            for name in super::identifiers(&out) {
                assert!(
                    !shared.contains(name) || defined.contains(name),
                    "{file} uses {name} without its definition"
                );
            }
        }
    }
}
