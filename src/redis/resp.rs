//! Commands written once, from borrowed arguments, into what goes on the wire.
//!
//! A batch of store calls (`src/store/batch.rs`) can hold hundreds of commands. Built as
//! `redis::Cmd`s in a `redis::Pipeline`, every argument is copied into its command, then
//! the pipeline packs every command into one more buffer. A [`CommandWriter`] lets the
//! code that knows a command's arguments write them straight into the packed bytes
//! ([`Packed`]) when the event-loop connection takes raw bytes, and into a
//! `redis::Pipeline` (or a lone `redis::Cmd`) otherwise, from the same code.

use crate::error::{NventError, Result};

/// Receives commands: `begin` with the command's name and its total argument count (the
/// name included), then one `arg` per further argument.
pub trait CommandWriter {
    fn begin(&mut self, argc: usize, name: &str);
    fn arg(&mut self, a: &[u8]);
}

/// Commands as RESP arrays of bulk strings, ready to send.
#[derive(Default)]
pub struct Packed {
    bytes: Vec<u8>,
    count: usize,
    /// Arguments the command being written still owes; a count that does not add up
    /// would leave the connection reading replies out of step, so [`Packed::finish`]
    /// refuses it.
    owed: usize,
    miscounted: bool,
}

impl Packed {
    pub fn with_capacity(bytes: usize) -> Packed {
        Packed {
            bytes: Vec::with_capacity(bytes),
            ..Packed::default()
        }
    }

    fn header(&mut self, kind: u8, n: usize) {
        self.bytes.push(kind);
        self.bytes
            .extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
        self.bytes.extend_from_slice(b"\r\n");
    }

    /// The bytes and the number of commands in them.
    ///
    /// # Errors
    /// `NVENT_INTERNAL` when a command got more or fewer arguments than it announced.
    pub fn finish(self) -> Result<(Vec<u8>, usize)> {
        if self.miscounted || self.owed != 0 {
            return Err(NventError::internal(
                "a packed command's argument count does not add up",
            ));
        }
        Ok((self.bytes, self.count))
    }
}

impl CommandWriter for Packed {
    fn begin(&mut self, argc: usize, name: &str) {
        if self.owed != 0 || argc == 0 {
            self.miscounted = true;
        }
        self.count += 1;
        self.header(b'*', argc);
        self.owed = argc;
        self.arg(name.as_bytes());
    }

    fn arg(&mut self, a: &[u8]) {
        match self.owed.checked_sub(1) {
            Some(n) => self.owed = n,
            None => self.miscounted = true,
        }
        self.header(b'$', a.len());
        self.bytes.extend_from_slice(a);
        self.bytes.extend_from_slice(b"\r\n");
    }
}

impl CommandWriter for redis::Pipeline {
    fn begin(&mut self, _argc: usize, name: &str) {
        self.cmd(name);
    }

    fn arg(&mut self, a: &[u8]) {
        redis::Pipeline::arg(self, a);
    }
}

/// One command: `begin` once on a `redis::Cmd::new()`.
impl CommandWriter for redis::Cmd {
    fn begin(&mut self, _argc: usize, name: &str) {
        redis::Cmd::arg(self, name);
    }

    fn arg(&mut self, a: &[u8]) {
        redis::Cmd::arg(self, a);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(w: &mut dyn CommandWriter) {
        w.begin(3, "SET");
        w.arg(b"k");
        w.arg("v\r\n\u{e9}".as_bytes());
        w.begin(1, "PING");
        w.begin(4, "XADD");
        w.arg(b"s");
        w.arg(b"*");
        w.arg(b"");
    }

    #[test]
    fn packs_what_the_driver_packs() {
        let mut p = Packed::default();
        write(&mut p);
        let (bytes, count) = p.finish().unwrap();
        let mut pipe = redis::pipe();
        write(&mut pipe);
        assert_eq!(bytes, pipe.get_packed_pipeline());
        assert_eq!(count, 3);
    }

    #[test]
    fn a_miscounted_command_is_refused() {
        let mut p = Packed::default();
        p.begin(3, "SET");
        p.arg(b"k");
        assert!(p.finish().is_err(), "too few");
        let mut p = Packed::default();
        p.begin(2, "GET");
        p.arg(b"k");
        p.arg(b"x");
        assert!(p.finish().is_err(), "too many");
        let mut p = Packed::default();
        p.begin(3, "SET");
        p.arg(b"k");
        p.begin(1, "PING");
        p.arg(b"x");
        assert!(p.finish().is_err(), "short, then long");
    }
}
