// The file backends' log framing as tests read it (docs/FILE-FORMAT.md): a 12-byte file
// header, then format-2 frames `sync: 4 bytes | len: u32 LE | crc32: u32 LE | payload`.
import assert from 'node:assert/strict'
import zlib from 'node:zlib'

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

/**
 * The same file framed as the releases before format 2 wrote it (format 1: the header with
 * version 1, then `len: u32 LE | crc32 of the payload: u32 LE | payload` per record).
 */
export function toFormat1(bytes) {
  const parts = [Buffer.from(bytes.subarray(0, FILE_HEADER))]
  parts[0].writeUInt32LE(1, 8)
  let start = FILE_HEADER
  for (const end of recordEnds(bytes)) {
    const payload = bytes.subarray(start + FRAME_OVERHEAD, end)
    const frame = Buffer.alloc(8)
    frame.writeUInt32LE(payload.length, 0)
    frame.writeUInt32LE(zlib.crc32(payload), 4)
    parts.push(frame, payload)
    start = end
  }
  return Buffer.concat(parts)
}
