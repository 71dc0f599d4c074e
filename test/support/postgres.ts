/**
 * A throw-away PostgreSQL server for one test file (STACK-NOTES.md "PostgreSQL"):
 * initdb into a temp dir owned by `postgres`, pg_ctl start on a unix socket in that dir
 * (listen_addresses empty: nothing on the network), dropped at the end. Absent
 * binaries (the README's test command installs Debian's `postgresql`) or no root to
 * switch to `postgres`: startPostgres() answers the reason to skip.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chown, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)
export const PG_BIN = '/usr/lib/postgresql/15/bin'
/** only names the socket file (`.s.PGSQL.<port>`) inside our own dir */
const PG_PORT = 5432
const PG_USER = 'storemesh'

export interface TestPostgres {
  /** `postgres://storemesh@/<db>?host=<dir>&port=…` */
  url(database?: string): string
  createDatabase(name: string): Promise<string>
  /** pg_ctl stop (the server goes away: clients see connection errors) */
  stopServer(): Promise<void>
  startServer(): Promise<void>
  /** stop and remove everything */
  close(): Promise<void>
}

async function asPostgres (args: string[]): Promise<string> {
  const { stdout } = await run('runuser', ['-u', 'postgres', '--', ...args], { timeout: 60_000 })
  return stdout
}

/** Why a real server cannot run here, or undefined when it can. */
export function postgresSkipReason (): string | undefined {
  if (!existsSync(join(PG_BIN, 'initdb')) || !existsSync(join(PG_BIN, 'pg_ctl'))) return `no PostgreSQL server binaries in ${PG_BIN} (apt-get install postgresql)`
  if (process.getuid?.() !== 0) return 'not root: cannot run initdb as the postgres user'
  return undefined
}

/** `serverOptions`: more `postgres` flags (a bench's `-c shared_preload_libraries=pg_stat_statements`) */
export async function startPostgres (options: { serverOptions?: string } = {}): Promise<TestPostgres> {
  const dir = await mkdtemp(join(tmpdir(), 'storemesh-pg-'))
  const { stdout } = await run('id', ['-u', 'postgres'])
  const { stdout: gid } = await run('id', ['-g', 'postgres'])
  await chown(dir, Number(stdout.trim()), Number(gid.trim()))
  const data = join(dir, 'data')
  const ctl = async (what: 'start' | 'stop'): Promise<void> => {
    const args = [join(PG_BIN, 'pg_ctl'), '-D', data, '-w', '-l', join(dir, 'log')]
    if (what === 'start') args.push('-o', `-k ${dir} -p ${PG_PORT} -c listen_addresses=''${options.serverOptions !== undefined ? ` ${options.serverOptions}` : ''}`, 'start')
    else args.push('-m', 'fast', 'stop')
    await asPostgres(args)
  }
  try {
    await asPostgres([join(PG_BIN, 'initdb'), '-D', data, '-A', 'trust', '-U', PG_USER])
    await ctl('start')
  } catch (err) {
    await rm(dir, { recursive: true, force: true })
    throw err
  }
  let up = true
  const url = (database = 'postgres'): string => `postgres://${PG_USER}@/${database}?host=${encodeURIComponent(dir)}&port=${PG_PORT}`
  return {
    url,
    async createDatabase (name) {
      const pg = (await import('pg')).default
      const c = new pg.Client({ connectionString: url() })
      await c.connect()
      try {
        await c.query(`CREATE DATABASE "${name.replace(/"/g, '')}"`)
      } finally {
        await c.end()
      }
      return url(name)
    },
    async stopServer () { await ctl('stop'); up = false },
    async startServer () { await ctl('start'); up = true },
    async close () {
      if (up) await ctl('stop').catch(() => {})
      await rm(dir, { recursive: true, force: true })
    }
  }
}
