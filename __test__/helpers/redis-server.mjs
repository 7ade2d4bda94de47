// Real redis-server processes for tests (STYLE: tests): each on a free loopback port in a
// temp dir, never the machine's 6379 server, killed when the test process ends. `cmd()`
// talks RESP over a plain socket, so tests can read keys with raw commands.
import { spawn, execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import net from 'node:net'

const live = new Set()
process.on('exit', () => {
  for (const s of live) s.kill()
})

export function haveRedis() {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

/** Sends one command; resolves with the parsed reply (errors resolve as `{ error }`). */
export function command(port, args, { password, username } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1')
    const wire = (a) => `*${a.length}\r\n` + a.map((x) => `$${Buffer.byteLength(String(x))}\r\n${x}\r\n`).join('')
    let buf = Buffer.alloc(0)
    const pending = []
    if (password) pending.push(username ? ['AUTH', username, password] : ['AUTH', password])
    pending.push(args)
    let skip = pending.length - 1
    sock.on('connect', () => sock.write(pending.map(wire).join('')))
    sock.on('error', reject)
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d])
      for (;;) {
        const r = parse(buf, 0)
        if (!r) return
        buf = buf.subarray(r.end)
        if (skip > 0) {
          skip--
          continue
        }
        sock.end()
        resolve(r.value)
        return
      }
    })
  })
}

function parse(buf, at) {
  const nl = buf.indexOf('\r\n', at)
  if (nl < 0) return null
  const kind = String.fromCharCode(buf[at])
  const line = buf.toString('utf8', at + 1, nl)
  const next = nl + 2
  if (kind === '+') return { value: line, end: next }
  if (kind === '-') return { value: { error: line }, end: next }
  if (kind === ':') return { value: Number(line), end: next }
  if (kind === '$') {
    const n = Number(line)
    if (n < 0) return { value: null, end: next }
    if (buf.length < next + n + 2) return null
    return { value: buf.toString('utf8', next, next + n), end: next + n + 2 }
  }
  if (kind === '*') {
    const n = Number(line)
    if (n < 0) return { value: null, end: next }
    const out = []
    let pos = next
    for (let i = 0; i < n; i++) {
      const r = parse(buf, pos)
      if (!r) return null
      out.push(r.value)
      pos = r.end
    }
    return { value: out, end: pos }
  }
  throw new Error(`unexpected RESP type ${kind}`)
}

/**
 * Starts a redis-server. `extra` adds arguments (ACL, TLS); `appendonly` keeps data
 * across `restart()`. Resolves once it answers PING.
 */
export async function startRedis({ extra = [], appendonly = false, pingPort } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'nvent-redis-'))
  const port = await freePort()
  const args = [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '',
    '--appendonly', appendonly ? 'yes' : 'no', '--daemonize', 'no', '--loglevel', 'warning',
    ...extra,
  ]
  let child
  const server = {
    port,
    dir,
    url: `redis://127.0.0.1:${port}`,
    connection: { host: '127.0.0.1', port },
    cmd: (...a) => command(port, a),
    async start() {
      child = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'inherit'] })
      // Unreferenced: a running server must not keep the test process alive.
      child.unref()
      live.add(child)
      child.on('exit', () => live.delete(child))
      const deadline = Date.now() + 10000
      for (;;) {
        try {
          const r = await command(pingPort ?? port, ['PING'])
          if (r === 'PONG' || (r && r.error && /NOAUTH/.test(r.error))) return
        } catch {}
        if (Date.now() > deadline) throw new Error(`redis-server on ${port} did not start`)
        await new Promise((r) => setTimeout(r, 20))
      }
    },
    async stop() {
      if (!child || child.exitCode !== null) return
      const done = new Promise((r) => child.once('exit', r))
      child.ref() // keep the loop alive until it has exited
      child.kill('SIGTERM')
      await done
    },
    /** SIGSTOP: the server keeps its sockets but answers nothing until `resume()`. */
    pause() {
      child.kill('SIGSTOP')
    },
    resume() {
      child.kill('SIGCONT')
    },
    async restart() {
      await server.stop()
      await server.start()
    },
    async close() {
      await server.stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
  await server.start()
  return server
}

export function haveOpenssl() {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/**
 * Starts a redis-server that also listens with TLS, on certificates made here by openssl
 * (a throwaway CA and a server certificate for 127.0.0.1). Resolves with the server, the
 * TLS port and the CA's PEM text; `server.close()` removes the certificates too.
 */
export async function startTlsRedis() {
  const dir = mkdtempSync(join(tmpdir(), 'nvent-tls-'))
  const f = (n) => join(dir, n)
  const ssl = (...a) => execFileSync('openssl', a, { stdio: 'ignore' })
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '1', '-subj', '/CN=nvent test CA')
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=localhost')
  const ext = f('ext.cnf')
  execFileSync('sh', ['-c', `printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > '${ext}'`])
  ssl('x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('server.crt'), '-days', '1', '-extfile', ext)
  const tlsPort = await freePort()
  const server = await startRedis({
    extra: ['--tls-port', String(tlsPort), '--tls-cert-file', f('server.crt'), '--tls-key-file', f('server.key'), '--tls-ca-cert-file', f('ca.crt'), '--tls-auth-clients', 'no'],
  })
  const close = server.close
  server.close = async () => {
    await close()
    rmSync(dir, { recursive: true, force: true })
  }
  return { server, tlsPort, ca: readFileSync(f('ca.crt'), 'utf8') }
}
