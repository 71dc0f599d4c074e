/**
 * A real nginx (Debian's package) serving a folder on a loopback port, started by a
 * test with its own config, pid and logs in a temp dir (STACK-NOTES "nginx"), and
 * stopped at teardown. `nginxBinary()` is undefined when nginx is not installed: the
 * test skips with that reason (scripts/test.sh installs it).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { access, constants, mkdir, writeFile } from 'node:fs/promises'
import { createServer, type AddressInfo } from 'node:net'
import { join } from 'node:path'
import { waitFor } from './poll.js'
import { tempDir } from './store-fixture.js'

const CANDIDATES = ['/usr/sbin/nginx', '/usr/bin/nginx']

export async function nginxBinary (): Promise<string | undefined> {
  for (const c of CANDIDATES) if (await access(c, constants.X_OK).then(() => true, () => false)) return c
  return undefined
}

/** A port free on 127.0.0.1 right now (nginx binds it a moment later). */
export async function freePort (): Promise<number> {
  const srv = createServer()
  await new Promise<void>(resolve => srv.listen(0, '127.0.0.1', resolve))
  const { port } = srv.address() as AddressInfo
  await new Promise<void>(resolve => srv.close(() => resolve()))
  return port
}

export interface Nginx {
  url: string
  /** requests nginx logged (one line each), read from its access log */
  accessLog: string
  /** the master process (its workers are its children): benchmarks read their CPU time */
  pid: number | undefined
  stop(): Promise<void>
}

type T = { teardown: (fn: () => Promise<void>) => void }

export async function startNginx (t: T, root: string, options: { workers?: number } = {}): Promise<Nginx> {
  const bin = await nginxBinary()
  if (bin === undefined) throw new Error('nginx is not installed')
  const dir = await tempDir(t, 'nginx-')
  await mkdir(join(dir, 'tmp'), { recursive: true })
  const port = await freePort()
  const accessLog = join(dir, 'access.log')
  // as root, workers would drop to `nobody`, who cannot read a 0700 temp dir
  const user = process.getuid?.() === 0 ? 'user root;' : ''
  const conf = `${user}
daemon off;
master_process on;
worker_processes ${options.workers ?? 1};
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 1024; }
http {
  access_log ${accessLog};
  client_body_temp_path ${join(dir, 'tmp')};
  proxy_temp_path ${join(dir, 'tmp')};
  fastcgi_temp_path ${join(dir, 'tmp')};
  uwsgi_temp_path ${join(dir, 'tmp')};
  scgi_temp_path ${join(dir, 'tmp')};
  sendfile on;
  keepalive_requests 100000;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:${port};
    root ${root};
    location / { try_files $uri =404; }
  }
}
`
  await writeFile(join(dir, 'nginx.conf'), conf)
  const child: ChildProcess = spawn(bin, ['-c', join(dir, 'nginx.conf'), '-p', dir], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
  let exited = false
  child.on('exit', () => { exited = true })
  const url = `http://127.0.0.1:${port}/`
  await waitFor(async () => {
    if (exited) throw new Error(`nginx exited: ${stderr}`)
    return await fetch(url + '.ready-probe').then(r => { void r.body?.cancel(); return true }, () => false)
  }, 10_000, 'nginx answering')
  const stop = async (): Promise<void> => {
    if (exited) return
    const gone = new Promise<void>(resolve => child.once('exit', () => resolve()))
    child.kill('SIGTERM')
    await gone
  }
  t.teardown(stop)
  return { url, accessLog, pid: child.pid, stop }
}
