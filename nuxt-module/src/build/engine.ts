// The engine in every build, whatever installed it (SPEC §10, issue 15 item 5).
//
// Nitro's own tracer ships a dependency into `.output/server/node_modules` only when it can
// follow it: it misses files an entry point loads at runtime (the `.node` binary a loader
// picks by platform), and it skips a package whose real path is outside `node_modules` (npm's
// `file:` links without install-links, workspaces) — rollup then tries to bundle the addon
// and fails on the binary. So the engine is taken out of both: the server bundle imports it
// as an external, and after the build this module copies the installed package (the files
// its package.json ships, and the platform package it loads the binary from, if that is how
// it was installed) into `.output/server/node_modules/@nvent/engine`. In dev the import is
// the entry's absolute path, so it resolves under pnpm's strict layout too.
import { cp, mkdir, readdir, readFile, realpath, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'

export const ENGINE = '@nvent/engine'

/** Where the engine is installed, seen from this module (pnpm keeps it out of the app's reach). */
export async function engineDir(from: string): Promise<string> {
  const require = createRequire(from)
  return realpath(dirname(require.resolve(`${ENGINE}/package.json`)))
}

/** The rollup plugin that keeps the engine external: by name in a build, by path in dev. */
export function engineExternal(dev: boolean, dir: string) {
  return {
    name: 'nvent:engine-external',
    resolveId(id: string) {
      if (id !== ENGINE) return null
      return { id: dev ? pathToFileURL(join(dir, 'index.mjs')).href : ENGINE, external: true }
    },
  }
}

/** Copies the engine package (and its installed platform package) under `nodeModules`. */
export async function shipEngine(dir: string, nodeModules: string): Promise<string[]> {
  const shipped = [ENGINE]
  await copyPackage(dir, join(nodeModules, ENGINE))
  const manifest = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { optionalDependencies?: Record<string, string> }
  const require = createRequire(join(dir, 'package.json'))
  for (const name of Object.keys(manifest.optionalDependencies ?? {})) {
    let platformDir: string
    try {
      platformDir = await realpath(dirname(require.resolve(`${name}/package.json`)))
    }
    catch {
      continue // not installed: another platform's binary
    }
    await copyPackage(platformDir, join(nodeModules, name))
    shipped.push(name)
  }
  return shipped
}

// The files npm would publish: package.json and its `files` entries (`*.ext` patterns at the
// top level, other entries as files or folders). Without `files`, the whole folder minus
// node_modules.
async function copyPackage(from: string, to: string): Promise<void> {
  const manifest = JSON.parse(await readFile(join(from, 'package.json'), 'utf8')) as { files?: string[] }
  await rm(to, { recursive: true, force: true })
  await mkdir(to, { recursive: true })
  const top = await readdir(from)
  const patterns = manifest.files ?? top.filter(f => f !== 'node_modules')
  const names = new Set(['package.json'])
  for (const pattern of patterns) {
    const clean = pattern.replace(/^\.\//, '').replace(/\/$/, '')
    if (clean.startsWith('*.')) top.filter(f => f.endsWith(clean.slice(1))).forEach(f => names.add(f))
    else if (top.includes(clean)) names.add(clean)
  }
  for (const name of names) await cp(join(from, name), join(to, name), { recursive: true, dereference: true })
}
