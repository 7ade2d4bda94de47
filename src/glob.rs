//! Glob patterns: `kv.clear` patterns (`*`, `?`, `\` escapes — never a regex), topic
//! patterns (`*` only; a topic may contain `?` or `\` literally) and event-type filters.

use crate::error::{NventError, Result};
use wildcard::{Wildcard, WildcardBuilder};

/// A compiled pattern. Patterns without metasymbols compare as plain strings. Full globs
/// match characters (`?` is one character, however many bytes); topic patterns match
/// bytes (only `*`, which spans anything).
pub struct Glob {
    pattern: String,
    matcher: Option<Matcher>,
}

enum Matcher {
    Chars(Wildcard<'static, char>),
    Bytes(Wildcard<'static, u8>),
}

impl Glob {
    /// A full glob: `*` any run, `?` one byte, `\` escapes the next character.
    ///
    /// # Errors
    /// `NVENT_INVALID_ARGUMENT` for a malformed pattern (a trailing `\`).
    pub fn new(pattern: &str) -> Result<Glob> {
        let matcher = WildcardBuilder::from_owned(pattern.chars().collect())
            .build()
            .map_err(|e| {
                NventError::invalid_argument(format!("invalid glob pattern '{pattern}': {e}"))
            })?;
        let literal = !pattern.contains(['*', '?', '\\']);
        Ok(Glob {
            pattern: pattern.to_string(),
            matcher: (!literal).then_some(Matcher::Chars(matcher)),
        })
    }

    /// A topic pattern: only `*` is special.
    pub fn topic(pattern: &str) -> Glob {
        let matcher = if pattern.contains('*') {
            WildcardBuilder::from_owned(pattern.as_bytes().to_vec())
                .without_one_metasymbol()
                .without_escape()
                .build()
                .ok()
                .map(Matcher::Bytes)
        } else {
            None
        };
        Glob {
            pattern: pattern.to_string(),
            matcher,
        }
    }

    pub fn is_match(&self, s: &str) -> bool {
        match &self.matcher {
            Some(Matcher::Chars(m)) => m.is_match(&s.chars().collect::<Vec<char>>()),
            Some(Matcher::Bytes(m)) => m.is_match(s.as_bytes()),
            None => self.pattern == s,
        }
    }

    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// True when the pattern has no metasymbol (it names exactly one string).
    pub fn is_literal(&self) -> bool {
        self.matcher.is_none()
    }
}

/// Escapes `s` so that it matches itself literally inside a full glob.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_globs_match_runs_single_chars_and_escapes() {
        let g = Glob::new("user:*:n?me").unwrap();
        assert!(g.is_match("user:42:name"));
        assert!(g.is_match("user::nime"));
        assert!(!g.is_match("user:42:nme"));
        let lit = Glob::new(r"a\*b").unwrap();
        assert!(lit.is_match("a*b"));
        assert!(!lit.is_match("axb"));
        // Regex metacharacters are plain characters.
        let dots = Glob::new("a.b[1]").unwrap();
        assert!(dots.is_literal());
        assert!(dots.is_match("a.b[1]"));
        assert!(!dots.is_match("axb1"));
        assert!(Glob::new("bad\\").is_err());
        assert!(Glob::new("k:?").unwrap().is_match("k:😀"));
    }

    #[test]
    fn topic_patterns_only_know_the_star() {
        let t = Glob::topic("flow:event:*");
        assert!(t.is_match("flow:event:run-1"));
        assert!(!t.is_match("flow:other:run-1"));
        let q = Glob::topic("what?");
        assert!(q.is_match("what?"));
        assert!(!q.is_match("whatx"));
    }

    #[test]
    fn escaped_text_matches_itself() {
        let raw = r"we*ird?\name";
        let g = Glob::new(&format!("{}*", escape(raw))).unwrap();
        assert!(g.is_match(&format!("{raw}:tail")));
        assert!(!g.is_match("weXird?\\name"));
    }
}
