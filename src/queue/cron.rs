//! Cron patterns for repeating jobs: standard 5-field patterns and 6-field patterns with
//! seconds first, parsed by `croner`, evaluated in UTC.

use crate::error::{NventError, Result};
use chrono::{TimeZone, Utc};
use croner::parser::{CronParser, Seconds};
use croner::Cron;

pub struct Pattern {
    text: String,
    cron: Cron,
}

impl Pattern {
    /// # Errors
    /// `NVENT_INVALID_ARGUMENT` naming the pattern.
    pub fn parse(text: &str) -> Result<Pattern> {
        let fields = text.split_whitespace().count();
        if !(5..=6).contains(&fields) {
            return Err(invalid(text, "expected 5 fields, or 6 with seconds first"));
        }
        let cron = CronParser::builder()
            .seconds(Seconds::Optional)
            .build()
            .parse(text)
            .map_err(|e| invalid(text, &e.to_string()))?;
        Ok(Pattern {
            text: text.to_string(),
            cron,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first fire time strictly after `after_ms` (ms since the epoch).
    pub fn next_after(&self, after_ms: u64) -> Option<u64> {
        // Fire times are whole seconds; start from the second `after_ms` falls in.
        let start = Utc
            .timestamp_millis_opt((after_ms - after_ms % 1000) as i64)
            .single()?;
        self.cron
            .find_next_occurrence(&start, false)
            .ok()
            .map(|t| t.timestamp_millis().max(0) as u64)
    }
}

fn invalid(text: &str, why: &str) -> NventError {
    NventError::invalid_argument(format!("invalid cron pattern '{text}': {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_and_six_field_patterns() {
        let every_minute = Pattern::parse("* * * * *").unwrap();
        assert_eq!(every_minute.next_after(60_000), Some(120_000));
        assert_eq!(every_minute.next_after(60_500), Some(120_000));
        let every_2s = Pattern::parse("*/2 * * * * *").unwrap();
        assert_eq!(every_2s.next_after(1_000), Some(2_000));
        assert_eq!(every_2s.next_after(2_000), Some(4_000));
    }

    #[test]
    fn bad_patterns_name_themselves() {
        for bad in ["", "* * *", "61 * * * *", "nope * * * *", "* * * * * * * *"] {
            let e = Pattern::parse(bad).err().unwrap();
            assert_eq!(e.code(), "NVENT_INVALID_ARGUMENT");
            assert!(e.to_string().contains(&format!("'{bad}'")), "{e}");
        }
    }
}
