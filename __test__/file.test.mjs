// The file backends' promises beyond the conformance suite (SPEC §9, issue "File
// backends"): restarts, torn tails at every byte offset, corruption, the single-owner lock,
// hostile names, kill -9 with a ledger of acknowledged writes, active jobs after a crash,
// delayed and cron jobs across restarts, compaction. Real files, real child processes.
import { test, describe, after } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { spawn, spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { FileStoreAdapter, FileQueueAdapter, NventError } from '../index.mjs'
import { waitFor } from './helpers/wait.mjs'
import { recordEnds, toFormat1 } from './helpers/file-log.mjs'

const here = path.dirname(fileURLToPath(import.meta.url))
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'nvent-file-'))
process.on('exit', () => fs.rmSync(root, { recursive: true, force: true }))
let n = 0
const freshDir = () => path.join(root, `d${++n}`)

async function rejectsCode(p, code) {
  await assert.rejects(p, (e) => {
    assert.ok(e instanceof NventError, `not an NventError: ${e}`)
    assert.equal(e.code, code, e.message)
    return true
  })
}

function walFiles(dir) {
  return fs.readdirSync(dir).filter((f) => f.startsWith('wal-')).map((f) => path.join(dir, f))
}

/** Lists every path under `dir`, recursively (for before/after scans). */
function scan(dir) {
  const out = []
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name)
      out.push(path.relative(dir, p))
      if (e.isDirectory()) walk(p)
    }
  }
  walk(dir)
  return out.sort()
}

describe('file store: restarts', () => {
  for (const durability of ['always', 'batch', 'none']) {
    test(`every tier reads back the same after close and reopen (${durability})`, async () => {
      const dataDir = freshDir()
      let s = new FileStoreAdapter({ dataDir, durability })
      await s.kv.set('num', 0)
      await s.kv.set('str', '123')
      await s.kv.set('obj', { b: 1, a: [1, 2.5, null], c: { d: false } })
      await s.kv.set('gone', 1)
      await s.kv.delete('gone')
      await s.kv.increment('counter', 2)
      await s.kv.increment('counter', 3)
      const rec = await s.stream.append('flow:1', { type: 'step.done', runId: 'r', data: { x: 1 } })
      await s.stream.append('flow:1', { type: 'step.done', runId: 'r' })
      await s.index.add('runs', 'a', 1.5, { status: 'ok', 'stats.n': 1 })
      await s.index.update('runs', 'a', { stats: { m: 2 } })
      await s.index.increment('runs', 'a', 'stats.n', 4)
      await s.index.add('runs', 'b', 2)
      await s.index.delete('runs', 'b')
      await s.save('docs', 'd1', { title: 'x' })
      await s.claim.once('lock', 'me', 60)
      const scoped = s.scope('tenant', 't1')
      await scoped.kv.set('k', 'scoped')
      await s.close()

      s = new FileStoreAdapter({ dataDir, durability })
      assert.equal(await s.kv.get('num'), 0)
      assert.equal(await s.kv.get('str'), '123')
      assert.deepEqual(await s.kv.get('obj'), { b: 1, a: [1, 2.5, null], c: { d: false } })
      assert.deepEqual(Object.keys(await s.kv.get('obj')), ['b', 'a', 'c'])
      assert.equal(await s.kv.get('gone'), null)
      assert.equal(await s.kv.get('counter'), 5)
      const events = await s.stream.read('flow:1')
      assert.equal(events.length, 2)
      assert.deepEqual(events[0], rec)
      const next = await s.stream.append('flow:1', { type: 'later' })
      assert.ok(next.id > events[1].id || next.ts >= events[1].ts, 'ids keep increasing after a restart')
      assert.deepEqual(await s.index.get('runs', 'a'), {
        id: 'a',
        score: 1.5,
        metadata: { status: 'ok', stats: { n: 5, m: 2 }, version: 2 },
      })
      assert.equal(await s.index.get('runs', 'b'), null)
      assert.deepEqual(await s.get('docs', 'd1'), { title: 'x' })
      assert.equal(await s.claim.once('lock', 'you', 60), false)
      assert.equal(await s.scope('tenant', 't1').kv.get('k'), 'scoped')
      await s.close()
    })
  }

  test('an expired key stays invisible after a restart (ttl stored as absolute expiry)', async () => {
    const dataDir = freshDir()
    let s = new FileStoreAdapter({ dataDir })
    await s.kv.set('short', 1, 0.05)
    await s.kv.set('long', 1, 3600)
    await waitFor(async () => (await s.kv.get('short')) === null, { what: 'expiry' })
    await s.close()
    s = new FileStoreAdapter({ dataDir })
    assert.equal(await s.kv.get('short'), null)
    assert.equal(await s.kv.exists('short'), false)
    assert.ok((await s.kv.ttl('long')) > 3500)
    await s.close()
  })

  // Issue 14 item 6: an update with 1,025 or more dot segments was accepted, and the data
  // dir then could not be opened again (NVENT_NESTING_TOO_DEEP, with salvage too). SPEC §2:
  // what a call accepts reopens and reads back.
  test('what index calls accept reopens and reads back; deeper paths are refused before they are logged', async () => {
    const dataDir = freshDir()
    const dots = (n) => Array.from({ length: n }, () => 'a').join('.')
    /** `leaf` under `times` dot keys of 128 segments each. */
    const keys = (times, leaf) => {
      let v = leaf
      for (let i = 0; i < times; i++) v = { [dots(128)]: v }
      return v
    }
    const expanded = (levels, leaf) => {
      let v = leaf
      for (let i = 0; i < levels; i++) v = { a: v }
      return v
    }
    let s = new FileStoreAdapter({ dataDir, limits: { maxDepth: 1024 } })
    await s.index.add('idx', 'e', 1, { keep: true })
    await s.index.add('idx', 'f', 2, {})
    await rejectsCode(s.index.update('idx', 'e', { [dots(1100)]: 1 }), 'NVENT_INVALID_NAME')
    await rejectsCode(s.index.updateWithRetry('idx', 'e', { [dots(1100)]: 1 }), 'NVENT_INVALID_NAME')
    await rejectsCode(s.index.increment('idx', 'e', dots(1100), 1), 'NVENT_INVALID_NAME')
    // Nine keys of 128 segments nest 1,152 levels, over the highest limit; eight nest 1,024.
    await rejectsCode(s.index.update('idx', 'e', keys(9, 1)), 'NVENT_NESTING_TOO_DEEP')
    assert.equal(await s.index.update('idx', 'e', keys(8, 1)), true)
    assert.equal(await s.index.increment('idx', 'f', dots(128), 2), 2)
    const want = [
      { id: 'f', score: 2, metadata: { ...expanded(128, 2), version: 1 } },
      { id: 'e', score: 1, metadata: { keep: true, ...expanded(1024, 1), version: 1 } },
    ]
    assert.deepEqual(await s.index.read('idx'), want)
    await s.close()
    for (const recovery of ['strict', 'salvage']) {
      // Reopened with the default limits: the log is read back whatever they are now.
      s = new FileStoreAdapter({ dataDir, recovery })
      assert.deepEqual(await s.index.read('idx'), want, recovery)
      assert.deepEqual((await s.recoveryReport()).skipped, [], recovery)
      await s.close()
    }
  })

  test('compaction writes a snapshot, drops the old generation, and keeps the data', async () => {
    const dataDir = freshDir()
    let s = new FileStoreAdapter({ dataDir, compactAfterBytes: 4096 })
    for (let i = 0; i < 400; i++) await s.kv.set(`k${i % 20}`, { i, pad: 'x'.repeat(50) })
    await s.close()
    const files = fs.readdirSync(dataDir)
    assert.ok(files.some((f) => f.endsWith('.snap')), `a snapshot exists: ${files}`)
    const gens = files.filter((f) => f.startsWith('wal-'))
    assert.equal(gens.length, 1, `one live log: ${files}`)
    s = new FileStoreAdapter({ dataDir })
    for (let i = 0; i < 20; i++) assert.equal((await s.kv.get(`k${i}`)).i, 380 + i)
    const report = await s.recoveryReport()
    assert.ok(report.generation > 0)
    assert.ok(report.logRecords < 400, `startup replays the snapshot, not history: ${JSON.stringify(report)}`)
    await s.close()
  })
})

describe('file store: recovery', () => {
  test('a log cut at every byte of its last records keeps every complete record and reports one torn tail', async () => {
    const dataDir = freshDir()
    const s = new FileStoreAdapter({ dataDir, durability: 'always' })
    for (let i = 0; i < 5; i++) await s.stream.append('s', { type: 't', data: { i } })
    await s.close()
    const [wal] = walFiles(dataDir)
    const full = fs.readFileSync(wal)
    const sizes = recordEnds(full)
    assert.equal(sizes.length, 5)
    const from = sizes[2]
    const copy = freshDir()
    let opened = 0
    for (let cut = from; cut <= full.length; cut++) {
      fs.rmSync(copy, { recursive: true, force: true })
      fs.mkdirSync(copy)
      fs.writeFileSync(path.join(copy, path.basename(wal)), full.subarray(0, cut))
      const r = new FileStoreAdapter({ dataDir: copy })
      const events = await r.stream.read('s')
      const complete = sizes.filter((e) => e <= cut).length
      assert.equal(events.length, complete, `cut at ${cut}`)
      assert.deepEqual(events.map((e) => e.data.i), [...Array(complete).keys()])
      const report = await r.recoveryReport()
      assert.equal(report.torn.length, sizes.includes(cut) ? 0 : 1, `cut at ${cut}`)
      // The torn bytes are gone: a new append lands after the last complete record.
      await r.stream.append('s', { type: 'after' })
      await r.close()
      const again = new FileStoreAdapter({ dataDir: copy })
      assert.equal((await again.stream.read('s')).length, complete + 1)
      assert.equal((await again.recoveryReport()).torn.length, 0)
      await again.close()
      opened++
    }
    assert.ok(opened > 100)
  })

  test('a flipped bit in a middle record is NVENT_CORRUPT with file and offset; salvage skips it', async () => {
    const dataDir = freshDir()
    const s = new FileStoreAdapter({ dataDir, durability: 'always' })
    for (let i = 0; i < 5; i++) await s.kv.set(`k${i}`, { i })
    await s.close()
    const [wal] = walFiles(dataDir)
    const bytes = fs.readFileSync(wal)
    const second = recordEnds(bytes)[0]
    bytes[second + 12 + 3] ^= 0x10
    fs.writeFileSync(wal, bytes)
    const strict = new FileStoreAdapter({ dataDir })
    await assert.rejects(strict.kv.get('k0'), (e) => {
      assert.equal(e.code, 'NVENT_CORRUPT')
      assert.ok(e.message.includes(path.basename(wal)), e.message)
      assert.ok(e.message.includes(`offset ${second}`), e.message)
      return true
    })
    const salvaged = new FileStoreAdapter({ dataDir, recovery: 'salvage' })
    assert.equal(await salvaged.kv.get('k1'), null)
    assert.deepEqual(await salvaged.kv.get('k4'), { i: 4 })
    assert.equal((await salvaged.recoveryReport()).skipped.length, 1)
    await salvaged.close()
  })
})

describe('file backends: ownership and names', () => {
  test('a second adapter of the same kind in this process gets NVENT_DATA_DIR_LOCKED at once', async () => {
    const dataDir = freshDir()
    const a = new FileStoreAdapter({ dataDir })
    await a.init()
    const b = new FileStoreAdapter({ dataDir })
    await rejectsCode(b.init(), 'NVENT_DATA_DIR_LOCKED')
    const q = new FileQueueAdapter({ dataDir })
    await q.init()
    const q2 = new FileQueueAdapter({ dataDir })
    await rejectsCode(q2.init(), 'NVENT_DATA_DIR_LOCKED')
    await a.close()
    await b.init()
    await b.close()
    await q.close()
    await q2.init()
    await q2.close()
  })

  // SPEC §9: one owner per adapter kind; the reference project's file config gives its
  // queue and store one dataDir. Before, the second of them got NVENT_DATA_DIR_LOCKED.
  test('a queue and a store share one dataDir: both work, restart, and read back their own data', async () => {
    const dataDir = freshDir()
    let store = new FileStoreAdapter({ dataDir, durability: 'always' })
    let queue = new FileQueueAdapter({ dataDir, durability: 'always' })
    await store.init()
    await queue.init()
    for (let i = 0; i < 50; i++) {
      await store.kv.set(`k${i}`, { i })
      await store.stream.append('s', { type: 't', i })
      await queue.enqueue('q', { name: 'job', data: { i } })
    }
    assert.equal((await queue.getJobCounts('q')).waiting, 50)
    await store.close()
    await queue.close()
    assert.ok(fs.statSync(path.join(dataDir, 'queue')).isDirectory(), 'the queue keeps its files in queue/')
    for (const f of fs.readdirSync(dataDir)) assert.match(f, /^(LOCK|queue|wal-\d+\.log|snapshot-\d+\.snap)$/, `store file ${f}`)
    for (const f of fs.readdirSync(path.join(dataDir, 'queue'))) assert.match(f, /^(LOCK|wal-\d+\.log|snapshot-\d+\.snap)$/, `queue file ${f}`)
    store = new FileStoreAdapter({ dataDir })
    queue = new FileQueueAdapter({ dataDir })
    assert.deepEqual(await store.kv.get('k49'), { i: 49 })
    assert.equal(await store.stream.count('s'), 50)
    assert.equal((await queue.getJobCounts('q')).waiting, 50)
    const done = []
    await queue.registerWorker('q', 'job', async (job) => { done.push(job.data.i) })
    await waitFor(() => done.length === 50, { timeoutMs: 60000, what: '50 jobs run after the restart' })
    await store.close()
    await queue.close()
  })

  test('a symlink planted as the queue\'s subdirectory is refused, and its target is not written', async () => {
    const parent = freshDir()
    const dataDir = path.join(parent, 'data')
    const target = path.join(parent, 'elsewhere')
    fs.mkdirSync(dataDir, { recursive: true })
    fs.mkdirSync(target)
    fs.symlinkSync(target, path.join(dataDir, 'queue'))
    const q = new FileQueueAdapter({ dataDir })
    await rejectsCode(q.init(), 'NVENT_IO')
    assert.deepEqual(fs.readdirSync(target), [])
  })

  test('a second process gets NVENT_DATA_DIR_LOCKED; after the owner closes, it opens', async () => {
    const dataDir = freshDir()
    const a = new FileStoreAdapter({ dataDir })
    await a.init()
    const child = () =>
      spawnSync(process.execPath, [path.join(here, 'fixtures/file-locker.mjs'), dataDir], { encoding: 'utf8' })
    assert.equal(child().stdout.trim(), 'NVENT_DATA_DIR_LOCKED')
    await a.close()
    assert.equal(child().stdout.trim(), 'opened')
  })

  test('hostile names stay inside records: the filesystem holds only the engine files', async () => {
    const parent = freshDir()
    const dataDir = path.join(parent, 'data')
    fs.mkdirSync(parent, { recursive: true })
    fs.writeFileSync(path.join(parent, 'outside.txt'), 'untouched')
    const before = scan(parent)
    const names = [
      '../../etc/passwd', '/etc/shadow', '..', '.', 'a/../../b', 'C:\\windows\\x', 'con', 'nul.txt',
      'x'.repeat(1024), '😀/../😀', 'a_b', 'a:b', 'a%2Fb', ' ', '\u202e', 'LOCK', 'wal-0.log', 'snapshot-9.snap',
    ]
    const s = new FileStoreAdapter({ dataDir })
    for (const name of names) {
      await s.kv.set(name, name)
      await s.stream.append(name, { type: 't', name })
      await s.index.add(name, name, 1)
      await s.save(name, name, { name })
    }
    await rejectsCode(s.kv.set('a\u0000b', 1), 'NVENT_INVALID_NAME')
    await rejectsCode(s.kv.set('y'.repeat(1025), 1), 'NVENT_INVALID_NAME')
    await s.close()
    const after = scan(parent)
    const added = after.filter((p) => !before.includes(p))
    for (const p of added) assert.match(p, /^data(\/(LOCK|wal-\d+\.log|snapshot-\d+\.snap))?$/, `unexpected file ${p}`)
    assert.equal(fs.readFileSync(path.join(parent, 'outside.txt'), 'utf8'), 'untouched')
    // Names come back exactly, `_` and `:` included (the reference turned `_` into `:`).
    const again = new FileStoreAdapter({ dataDir })
    for (const name of names) assert.equal(await again.kv.get(name), name)
    await again.close()
  })

  test('a symlink planted in the data dir is refused, and its target is not written', async () => {
    const parent = freshDir()
    const dataDir = path.join(parent, 'data')
    fs.mkdirSync(dataDir, { recursive: true })
    const target = path.join(parent, 'target.txt')
    fs.writeFileSync(target, 'precious')
    fs.symlinkSync(target, path.join(dataDir, 'wal-0.log'))
    const s = new FileStoreAdapter({ dataDir })
    await rejectsCode(s.kv.set('k', 1), 'NVENT_IO')
    assert.equal(fs.readFileSync(target, 'utf8'), 'precious')
  })
})

describe('file backends: crashes', () => {
  test('kill -9 of a writer in always mode loses no acknowledged write (5 kills)', async () => {
    const dataDir = freshDir()
    const acked = new Set()
    let next = 0
    for (let round = 0; round < 5; round++) {
      const child = spawn(process.execPath, [path.join(here, 'fixtures/file-writer.mjs'), dataDir, String(next)], {
        stdio: ['ignore', 'pipe', 'inherit'],
      })
      let buf = ''
      let ready = false
      let count = 0
      child.stdout.on('data', (d) => {
        buf += d
        let i
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i)
          buf = buf.slice(i + 1)
          if (line === 'ready') ready = true
          else {
            acked.add(Number(line))
            count++
          }
        }
      })
      const exited = new Promise((r) => child.on('exit', r))
      await waitFor(() => ready && count >= 200 + round * 37, { timeoutMs: 30000, what: 'acknowledged writes' })
      child.kill('SIGKILL')
      await exited
      next += 1_000_000
    }
    const s = new FileStoreAdapter({ dataDir })
    let lost = 0
    for (const id of acked) if ((await s.kv.get(`k${id}`)) === null) lost++
    await s.close()
    assert.ok(acked.size >= 1000, `ledger holds ${acked.size} acknowledged writes`)
    assert.equal(lost, 0, `${lost} of ${acked.size} acknowledged writes lost`)
  })

  test('a job that was active when its process was killed runs again after restart', async () => {
    const dataDir = freshDir()
    const child = spawn(process.execPath, [path.join(here, 'fixtures/file-job.mjs'), dataDir], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    const exited = new Promise((r) => child.on('exit', r))
    await waitFor(() => out.includes('active the-job 0'), { timeoutMs: 30000, what: 'the job to start' })
    child.kill('SIGKILL')
    await exited
    const q = new FileQueueAdapter({ dataDir })
    assert.equal((await q.getJob('crash', 'the-job')).state, 'waiting')
    const seen = []
    await q.registerWorker('crash', 'work', async (job) => {
      seen.push(job)
      return 'done'
    })
    await waitFor(async () => (await q.getJob('crash', 'the-job'))?.state === 'completed', { what: 'the rerun' })
    assert.equal(seen.length, 1)
    assert.deepEqual(seen[0].data, { payload: 42 })
    assert.equal(seen[0].attemptsMade, 1, 'the killed attempt counts as started')
    // jobId idempotency survives the restart.
    assert.equal(await q.enqueue('crash', { name: 'work', data: {}, opts: { jobId: 'the-job' } }), 'the-job')
    assert.equal((await q.getJobCounts('crash')).completed, 1)
    await q.close()
  })
})

describe('file store: write errors', () => {
  // A real full disk: a 256 KiB tmpfs (needs root to mount; CI runs as root).
  const mountPoint = path.join(root, 'tiny')
  fs.mkdirSync(mountPoint, { recursive: true })
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mountPoint]).status === 0
  after(() => {
    if (mounted) spawnSync('umount', ['-l', mountPoint])
  })

  test('a failed write rejects with NVENT_IO, every later call too, and acknowledged data survives', { skip: !mounted && 'cannot mount a tmpfs (not root)' }, async () => {
    const dataDir = path.join(mountPoint, 'data')
    const s = new FileStoreAdapter({ dataDir, durability: 'always' })
    const acked = []
    let failure
    for (let i = 0; i < 1000 && !failure; i++) {
      try {
        await s.kv.set(`k${i}`, 'v'.repeat(1024))
        acked.push(i)
      } catch (e) {
        failure = e
      }
    }
    assert.ok(failure, 'the disk filled up')
    assert.equal(failure.code, 'NVENT_IO', failure.message)
    assert.ok(acked.length > 10)
    // No silent retry, and memory is never read back without disk: every call is refused.
    await rejectsCode(s.kv.get('k0'), 'NVENT_IO')
    await rejectsCode(s.kv.set('after', 1), 'NVENT_IO')
    await s.close().catch(() => {})
    // Free some room, reopen: every acknowledged write is there, the failed one is not.
    const reopened = new FileStoreAdapter({ dataDir })
    for (const i of acked) assert.equal(await reopened.kv.get(`k${i}`), 'v'.repeat(1024), `k${i}`)
    assert.equal(await reopened.kv.get('after'), null)
    await reopened.close()
  })
})

describe('file queue: restarts', () => {
  test('delayed jobs keep their id and fire once after a restart', async () => {
    const dataDir = freshDir()
    let q = new FileQueueAdapter({ dataDir })
    const id = await q.enqueue('d', { name: 'j', data: { x: 1 }, opts: { delay: 300 } })
    assert.equal((await q.getJob('d', id)).state, 'delayed')
    await q.close()
    q = new FileQueueAdapter({ dataDir })
    const runs = []
    await q.registerWorker('d', 'j', async (job) => runs.push(job.id))
    await waitFor(() => runs.length === 1, { what: 'the delayed job' })
    assert.deepEqual(runs, [id])
    await new Promise((r) => setTimeout(r, 200))
    assert.equal(runs.length, 1)
    await q.close()
  })

  test('a cron schedule survives a restart, keeps its id and count, and honours its limit', async () => {
    const dataDir = freshDir()
    let q = new FileQueueAdapter({ dataDir })
    const sid = await q.schedule('c', { name: 'tick', data: {} }, { repeat: { pattern: '* * * * * *', limit: 3 } })
    const first = []
    await q.registerWorker('c', 'tick', async (job) => first.push(job.id))
    await waitFor(() => first.length >= 1, { timeoutMs: 5000, what: 'the first fire' })
    await q.close()
    q = new FileQueueAdapter({ dataDir })
    const listed = await q.getScheduledJobs('c')
    const fired = first.length
    if (fired < 3) {
      assert.equal(listed.length, 1)
      assert.equal(listed[0].id, sid)
    }
    const later = []
    await q.registerWorker('c', 'tick', async (job) => later.push(job.id))
    await waitFor(async () => (await q.getJobCounts('c')).completed >= 3, { timeoutMs: 8000, what: '3 fires in all' })
    await new Promise((r) => setTimeout(r, 1300))
    assert.equal((await q.getJobCounts('c')).completed, 3, 'the limit holds across the restart')
    assert.deepEqual(await q.getScheduledJobs('c'), [])
    await q.close()
  })

  // An earlier release kept the queue's files at the top of its dataDir, in format 1; the
  // move into queue/ made such a dir open empty (jobs and schedules gone, silently).
  test('a queue dir of an earlier release (files at the top, format 1) is adopted: jobs, delayed job and schedule are back, and a store can then share the dir', async () => {
    const dataDir = freshDir()
    let q = new FileQueueAdapter({ dataDir })
    const waiting = []
    for (let i = 0; i < 5; i++) waiting.push(await q.enqueue('old', { name: 'j', data: { i } }))
    const delayed = await q.enqueue('old', { name: 'j', data: { later: true }, opts: { delay: 3600000 } })
    const sid = await q.schedule('old', { name: 'nightly', data: {} }, { cron: '0 3 * * *' })
    await q.close()
    // The old layout: the same records, format 1, at the top; no queue/.
    const queueDir = path.join(dataDir, 'queue')
    const moved = []
    for (const f of fs.readdirSync(queueDir)) {
      if (!/^(wal-\d+\.log|snapshot-\d+\.snap)$/.test(f)) continue
      fs.writeFileSync(path.join(dataDir, f), toFormat1(fs.readFileSync(path.join(queueDir, f))))
      moved.push(f)
    }
    assert.ok(moved.length > 0)
    fs.rmSync(queueDir, { recursive: true })
    fs.writeFileSync(path.join(dataDir, 'LOCK'), '')

    // A store refuses to read them as its own.
    const early = new FileStoreAdapter({ dataDir })
    await rejectsCode(early.init(), 'NVENT_INVALID_ARGUMENT')

    q = new FileQueueAdapter({ dataDir })
    const counts = await q.getJobCounts('old')
    assert.equal(counts.waiting, 5)
    assert.equal(counts.delayed, 1)
    for (const id of waiting) assert.equal((await q.getJob('old', id)).state, 'waiting')
    assert.equal((await q.getJob('old', delayed)).state, 'delayed')
    const schedules = await q.getScheduledJobs('old')
    assert.equal(schedules.length, 1)
    assert.equal(schedules[0].id, sid)
    assert.deepEqual((await q.recoveryReport()).adopted, moved.sort())
    for (const f of moved) assert.ok(fs.existsSync(path.join(queueDir, f)), `${f} now in queue/`)

    const store = new FileStoreAdapter({ dataDir })
    await store.kv.set('k', { shared: true })
    await store.close()
    await q.close()
    const again = new FileStoreAdapter({ dataDir })
    assert.deepEqual(await again.kv.get('k'), { shared: true })
    await again.close()
    q = new FileQueueAdapter({ dataDir })
    assert.equal((await q.getJobCounts('old')).waiting, 5)
    assert.deepEqual((await q.recoveryReport()).adopted, [])
    await q.close()
  })

  test('paused state, waiting jobs and finished jobs survive a restart', async () => {
    const dataDir = freshDir()
    let q = new FileQueueAdapter({ dataDir })
    await q.pause('p')
    const a = await q.enqueue('p', { name: 'j', data: 1 })
    const b = await q.enqueue('p', { name: 'j', data: 2, opts: { priority: 1 } })
    await q.close()
    q = new FileQueueAdapter({ dataDir })
    assert.equal(await q.isPaused('p'), true)
    assert.equal((await q.getJobCounts('p')).paused, 2)
    const order = []
    await q.registerWorker('p', 'j', async (job) => order.push(job.id))
    await q.resume('p')
    await waitFor(() => order.length === 2, { what: 'both jobs' })
    assert.deepEqual(order, [b, a], 'priority order is kept')
    const c = await q.enqueue('p', { name: 'j', data: 3 })
    assert.notEqual(c, a)
    assert.notEqual(c, b)
    await q.close()
  })
})
