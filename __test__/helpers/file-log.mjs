// The file backends' log framing as tests read it (docs/FILE-FORMAT.md): a 12-byte file
// header, then format-2 frames `sync: 4 bytes | len: u32 LE | crc32: u32 LE | payload`.
import assert from 'node:assert/strict'

export const FILE_HEADER = 12
export const FRAME_OVERHEAD = 12

/** Where each record of a log or snapshot ends. */
export function recordEnds(bytes) {
  assert.equal(bytes.readUInt32LE(8), 2, 'format version 2')
  const ends = []
  for (let at = FILE_HEADER; at < bytes.length; ) {
    at += FRAME_OVERHEAD + bytes.readUInt32LE(at + 4)
    ends.push(at)
  }
  return ends
}
