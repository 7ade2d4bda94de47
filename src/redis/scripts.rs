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

script!(APPEND_EVENT, "appendEvent-1.lua");
script!(ADD_ENTRY, "addEntry-2.lua");
script!(UPDATE_ENTRY, "updateEntry-2.lua");
script!(INCREMENT_FIELD, "incrementField-2.lua");
script!(INCREMENT_VALUE, "incrementValue-1.lua");
script!(READ_PAGE, "readPage-1.lua");
script!(RELEASE_CLAIM, "releaseClaim-1.lua");
script!(EXTEND_CLAIM, "extendClaim-1.lua");
script!(DELETE_STRINGS, "deleteStrings-0.lua");
script!(PUBLISH_MESSAGE, "publishMessage-1.lua");
