// The Redis conformance suite over the connection paths the default run does not take
// (STYLE: one suite, every path): the shared connection alone (NVENT_LOOP_IO=0) and TLS
// (which uses the shared connection too). The engine reads NVENT_LOOP_IO when an adapter is
// made, so each path runs conformance.test.mjs in a process of its own, selected through
// NVENT_CONFORMANCE (see helpers/backends.mjs). Both run at once.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { haveRedis, haveOpenssl } from './helpers/redis-server.mjs'

const SUITE = fileURLToPath(new URL('./conformance.test.mjs', import.meta.url))

function run(env) {
  return new Promise((resolve) => {
    // NODE_TEST_CONTEXT (set for files run by `node --test`) would make the inner run
    // report to this process's runner instead of printing its TAP report.
    const { NODE_TEST_CONTEXT, ...outer } = process.env
    const child = spawn(process.execPath, ['--test', '--test-reporter=tap', '--test-timeout=120000', SUITE], {
      env: { ...outer, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    child.on('exit', (code, signal) => resolve({ code, signal, out }))
  })
}

/** The failing tests' lines of a TAP report, for the assertion message. */
const failures = (out) => out.split('\n').filter((l) => /not ok|error:|expected|actual|^\s+[+-] /.test(l)).slice(0, 120).join('\n')

const paths = [
  { name: 'redis-noloop', env: { NVENT_CONFORMANCE: 'redis-noloop', NVENT_LOOP_IO: '0' }, skip: !haveRedis() && 'redis-server not installed' },
  { name: 'redis-tls', env: { NVENT_CONFORMANCE: 'redis-tls' }, skip: (!haveRedis() && 'redis-server not installed') || (!haveOpenssl() && 'openssl not installed') },
]
const runs = new Map()
for (const p of paths) if (!p.skip) runs.set(p.name, run(p.env))

for (const p of paths) {
  test(`the Redis conformance suite over ${p.name}`, { skip: p.skip, timeout: 900000 }, async () => {
    const { code, signal, out } = await runs.get(p.name)
    const pass = /^# pass (\d+)/m.exec(out)?.[1]
    assert.ok(Number(pass) > 100, `${p.name}: ran ${pass} tests\n${out.slice(-2000)}`)
    assert.equal(signal, null, `${p.name}: killed by ${signal}`)
    assert.equal(code, 0, `${p.name} failed:\n${failures(out)}`)
  })
}
