// Shared by the e2e tests: engine check, polling, an SSE reader, and a child-process server.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const moduleRoot = fileURLToPath(new URL('../..', import.meta.url))
export const fixture = name => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url))
export const nuxi = join(moduleRoot, 'node_modules/.bin/nuxi')

const require = createRequire(import.meta.url)

/** Fails with what to do when the engine in node_modules has no built addon. */
export function requireBuiltEngine() {
  const entry = require.resolve('@nvent/engine')
  if (!existsSync(join(dirname(entry), 'native.js'))) {
    throw new Error('@nvent/engine has no built addon (native.js): run `npm run build:debug` at the repo root, then `node test/run.mjs` here (it refreshes the installed copy)')
  }
  return require('@nvent/engine')
}

/** Polls `fn` until it returns a truthy value. */
export async function waitFor(fn, { timeout = 15_000, interval = 50, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout
  let last
  while (Date.now() < deadline) {
    try {
      const value = await fn()
      if (value) return value
    }
    catch (error) {
      last = error
    }
    await new Promise(resolve => setTimeout(resolve, interval))
  }
  throw new Error(`timed out after ${timeout} ms waiting for ${what}${last ? `: ${last.message}` : ''}`)
}

/** Polls a job until it reaches a final state. */
export async function waitForJob(get, id, states = ['completed', 'failed']) {
  return waitFor(async () => {
    const { job } = await get(id)
    return job && states.includes(job.state) ? job : null
  }, { what: `job ${id} to reach ${states.join(' or ')}` })
}

/** Opens an SSE connection; `next(filter)` resolves with the next matching message. */
export async function openEventStream(href) {
  const controller = new AbortController()
  const res = await fetch(href, { signal: controller.signal, headers: { accept: 'text/event-stream' } })
  const messages = []
  const waiters = []
  const flush = () => {
    for (const w of [...waiters]) {
      const i = messages.findIndex(w.filter)
      if (i !== -1) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve(messages.splice(i, 1)[0])
      }
    }
  }
  if (res.ok) {
    ;(async () => {
      const decoder = new TextDecoder()
      let buffer = ''
      for await (const chunk of res.body) {
        buffer += decoder.decode(chunk, { stream: true })
        let end
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const block = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          const message = { event: 'message', data: '', raw: `${block}\n\n` }
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) message.event = line.slice(7)
            else if (line.startsWith('data: ')) message.data += line.slice(6)
          }
          messages.push(message)
          flush()
        }
      }
    })().catch(() => {})
  }
  return {
    res,
    next(filter = () => true, timeout = 10_000) {
      return new Promise((resolve, reject) => {
        const waiter = { filter, resolve }
        waiters.push(waiter)
        flush()
        setTimeout(() => reject(new Error('no matching SSE message within the time limit')), timeout).unref()
      })
    },
    close: () => controller.abort(),
  }
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
    server.on('error', reject)
  })
}

/**
 * `nuxi build` of an app in a child process (its logs would corrupt the test runner's
 * stdout protocol), returning the output dir. @nuxt/test-utils then serves that build.
 */
export async function buildApp(rootDir, { env } = {}) {
  await run(nuxi, ['build', rootDir], { cwd: rootDir, env: { ...process.env, NODE_ENV: 'production', ...env } })
  return join(rootDir, '.output')
}

/**
 * Runs a command to completion; resolves with its output (stdout and stderr interleaved, or
 * stdout alone with `stdoutOnly`, for output that is parsed); rejects with both on a
 * non-zero exit.
 */
export function run(command, args, { stdoutOnly = false, ...options } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options })
    let output = ''
    let stdout = ''
    child.stdout.on('data', (d) => { output += d; stdout += d })
    child.stderr.on('data', (d) => { output += d })
    child.on('error', reject)
    child.on('close', (code) => {
      if (code === 0) resolve(stdoutOnly ? stdout : output)
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code}\n${output.slice(-4000)}`))
    })
  })
}

/**
 * Starts a long-running server process in its own process group and waits until `url`
 * answers. `stop()` ends that group (the process and any workers it spawned).
 */
export async function startProcess(command, args, { url, env, cwd, timeout = 90_000 }) {
  const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  let output = ''
  child.stdout.on('data', (d) => { output += d })
  child.stderr.on('data', (d) => { output += d })
  const exited = new Promise(resolve => child.on('exit', resolve))
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    try {
      process.kill(-child.pid, 'SIGTERM')
    }
    catch {}
    const done = await Promise.race([exited.then(() => true), new Promise(resolve => setTimeout(resolve, 5000, false))])
    if (!done) {
      try {
        process.kill(-child.pid, 'SIGKILL')
      }
      catch {}
      await exited
    }
  }
  try {
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}`)
      const res = await fetch(url)
      return res.status < 500 && !(await res.text()).includes('__NUXT_LOADING__')
    }, { timeout, interval: 250, what: `${url} to answer` })
  }
  catch (error) {
    await stop()
    throw new Error(`${error.message}\n--- output of ${command} ${args.join(' ')} ---\n${output.slice(-4000)}`)
  }
  return { child, stop, output: () => output }
}
