// Damage to the file backends' logs (SPEC §9, issue 14 item 5): only an incomplete record at
// the very end is a torn tail; a damaged record that intact ones follow is NVENT_CORRUPT
// (salvage: skipped, reported, the records after it kept). Every byte of a real log written
// by the adapters is flipped in turn; no flip may lose a record without saying so.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { FileStoreAdapter, FileQueueAdapter, NventError } from '../index.mjs'
import { recordEnds } from './helpers/file-log.mjs'

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'nvent-file-damage-'))
process.on('exit', () => fs.rmSync(root, { recursive: true, force: true }))
let n = 0
const freshDir = () => path.join(root, `d${++n}`)

function isCorrupt(e) {
  assert.ok(e instanceof NventError, `not an NventError: ${e}`)
  assert.equal(e.code, 'NVENT_CORRUPT', e.message)
  return true
}

/**
 * Flips every byte of `log` in turn (copied into a fresh dir as `name`) and opens it with
 * `open(dir, recovery)`, which returns `{ present: [indexes of the records found], report,
 * close }` or throws. Strict: NVENT_CORRUPT, or every record but the last with a torn tail
 * reported. Salvage: NVENT_CORRUPT only for a damaged file header, else every record but
 * the damaged one, reported once.
 */
async function flipEveryByte(log, name, count, open) {
  const ends = recordEnds(log)
  assert.equal(ends.length, count, 'one record per write')
  const all = [...Array(count).keys()]
  let corrupt = 0
  let salvaged = 0
  for (let i = 0; i < log.length; i++) {
    const damaged = ends.findIndex((e) => i < e)
    const bytes = Buffer.from(log)
    bytes[i] ^= 0x01
    for (const recovery of ['strict', 'salvage']) {
      const at = `byte ${i} (record ${i < 12 ? 'header' : damaged}), ${recovery}`
      const dir = freshDir()
      fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true })
      fs.writeFileSync(path.join(dir, name), bytes)
      let r
      try {
        r = await open(dir, recovery)
      } catch (e) {
        isCorrupt(e)
        assert.ok(recovery === 'strict' || i < 12, `salvage refused ${at}: ${e.message}`)
        corrupt++
        continue
      } finally {
        if (!r) fs.rmSync(dir, { recursive: true, force: true })
      }
      try {
        assert.ok(i >= 12, `a damaged file header was accepted: ${at}`)
        assert.deepEqual(r.present, all.filter((k) => k !== damaged), at)
        assert.equal(r.report.torn.length + r.report.skipped.length, 1, `${at}: ${JSON.stringify(r.report)}`)
        if (recovery === 'strict' || r.report.torn.length === 1) {
          assert.equal(r.report.torn.length, 1, at)
          assert.equal(damaged, count - 1, `a torn tail before the last record: ${at}`)
        }
        salvaged++
      } finally {
        await r.close()
        fs.rmSync(dir, { recursive: true, force: true })
      }
    }
  }
  // Most strict opens refuse; every salvage open but the header's succeeds.
  assert.ok(corrupt > log.length / 2, `${corrupt} refusals`)
  assert.ok(salvaged >= log.length - 12, `${salvaged} opens`)
}

test('store: every flipped byte of a log is NVENT_CORRUPT or loses only the damaged record, reported', async () => {
  const dataDir = freshDir()
  const s = new FileStoreAdapter({ dataDir, durability: 'always' })
  const count = 5
  for (let i = 0; i < count; i++) await s.kv.set(`k${i}`, { i })
  await s.close()
  const log = fs.readFileSync(path.join(dataDir, 'wal-0.log'))
  await flipEveryByte(log, 'wal-0.log', count, async (dir, recovery) => {
    const store = new FileStoreAdapter({ dataDir: dir, recovery })
    try {
      await store.init()
      const present = []
      for (let i = 0; i < count; i++) {
        const v = await store.kv.get(`k${i}`)
        if (v !== null) {
          assert.deepEqual(v, { i })
          present.push(i)
        }
      }
      return { present, report: await store.recoveryReport(), close: () => store.close() }
    } catch (e) {
      await store.close().catch(() => {})
      throw e
    }
  })
})

test('queue: every flipped byte of a log is NVENT_CORRUPT or loses only the damaged job, reported', async () => {
  const dataDir = freshDir()
  const q = new FileQueueAdapter({ dataDir, durability: 'always' })
  const count = 4
  const ids = []
  for (let i = 0; i < count; i++) ids.push(await q.enqueue('q', { name: 'j', data: { i } }))
  await q.close()
  // The queue keeps its files in its own subdirectory (a store may share the dataDir).
  const log = fs.readFileSync(path.join(dataDir, 'queue', 'wal-0.log'))
  await flipEveryByte(log, 'queue/wal-0.log', count, async (dir, recovery) => {
    const queue = new FileQueueAdapter({ dataDir: dir, recovery })
    try {
      await queue.init()
      const present = []
      for (let i = 0; i < count; i++) {
        const job = await queue.getJob('q', ids[i])
        if (job) {
          assert.deepEqual(job.data, { i })
          present.push(i)
        }
      }
      return { present, report: await queue.recoveryReport(), close: () => queue.close() }
    } catch (e) {
      await queue.close().catch(() => {})
      throw e
    }
  })
})

test('store: a flipped length bit in record 100 of 200 is NVENT_CORRUPT; salvage keeps the other 199', async () => {
  const dataDir = freshDir()
  const s = new FileStoreAdapter({ dataDir, durability: 'none' })
  // One at a time: record k of the log is then event k.
  for (let i = 0; i < 200; i++) await s.stream.append('s', { type: 't', data: { i } })
  await s.close()
  const wal = path.join(dataDir, 'wal-0.log')
  const bytes = fs.readFileSync(wal)
  const ends = recordEnds(bytes)
  assert.equal(ends.length, 200)
  // The high byte of record 100's length: a length past the end of the file, which the
  // first format took for a torn tail (and dropped the 100 records after it).
  bytes[ends[99] + 4 + 3] ^= 0x10
  fs.writeFileSync(wal, bytes)
  const strict = new FileStoreAdapter({ dataDir })
  await assert.rejects(strict.stream.read('s'), (e) => {
    isCorrupt(e)
    assert.ok(e.message.includes(`wal-0.log at offset ${ends[99]}`), e.message)
    return true
  })
  await strict.close().catch(() => {})
  const salvaged = new FileStoreAdapter({ dataDir, recovery: 'salvage' })
  const events = await salvaged.stream.read('s')
  assert.deepEqual(
    events.map((e) => e.data.i),
    [...Array(200).keys()].filter((i) => i !== 100),
  )
  const report = await salvaged.recoveryReport()
  assert.equal(report.skipped.length, 1)
  assert.equal(report.skipped[0].offset, ends[99])
  assert.equal(report.torn.length, 0)
  await salvaged.close()
})
