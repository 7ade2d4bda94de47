// Worker functions: files under `server/<dir>/` of every layer. Each default-exports a
// handler and exports `config`; the Nitro plugin registers them on their queues. Here we only
// find the files and render `#nvent/functions`, which imports them into the server build.
import { readdir } from 'node:fs/promises'
import { basename, extname, isAbsolute, join, relative, resolve } from 'node:path'

export interface FunctionFile {
  /** Job name: the file name without its extension. */
  name: string
  /** Absolute path. */
  file: string
  /** Path relative to its functions folder; a higher layer's file with the same path wins. */
  key: string
}

const EXTENSIONS = new Set(['.ts', '.js', '.mjs', '.cjs', '.mts', '.cts'])

/** The functions folder of each layer, highest priority first. */
export function functionDirs(serverDirs: string[], dir: string): string[] {
  return [...new Set(serverDirs.map(server => (isAbsolute(dir) ? dir : resolve(server, dir))))]
}

/** Files of the given folders (highest priority first); missing folders are skipped. */
export async function scanFunctions(dirs: string[]): Promise<FunctionFile[]> {
  const byKey = new Map<string, FunctionFile>()
  for (const dir of dirs) {
    for (const file of await listFiles(dir)) {
      const key = relative(dir, file).split('\\').join('/').replace(/\.[^./]+$/, '')
      if (!byKey.has(key)) byKey.set(key, { name: basename(file, extname(file)), file, key })
    }
  }
  return [...byKey.values()].sort((a, b) => a.key.localeCompare(b.key))
}

/** Whether a path (e.g. from `builder:watch`) lies in one of the folders. */
export function isInFunctionDirs(path: string, dirs: string[]): boolean {
  return dirs.some((dir) => {
    const rel = relative(dir, path)
    return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel)
  })
}

/** The code of `#nvent/functions`. */
export function renderFunctionsModule(files: FunctionFile[]): string {
  const imports = files.map((f, i) => `import * as f${i} from ${JSON.stringify(f.file)}`)
  const entries = files.map((f, i) => `  { name: ${JSON.stringify(f.name)}, file: ${JSON.stringify(f.file)}, module: f${i} },`)
  return [...imports, 'export const functions = [', ...entries, ']', ''].join('\n')
}

async function listFiles(dir: string): Promise<string[]> {
  let entries
  try {
    entries = await readdir(dir, { withFileTypes: true })
  }
  catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw error
  }
  const out: string[] = []
  for (const entry of entries) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...await listFiles(path))
    else if (EXTENSIONS.has(extname(entry.name)) && !/\.d\.[cm]?ts$/.test(entry.name)) out.push(path)
  }
  return out
}
