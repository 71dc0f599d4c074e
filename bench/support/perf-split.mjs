// Where the daemons' CPU went, from `perf` samples (issue #19): V8's own work (GC,
// optimizing compiler), the kernel (sockets, files, context switches), crypto, JS, split
// by main thread and helper threads. Unlike --cpu-prof it counts only time on a CPU, so
// a loaded machine does not inflate the functions that happened to be preempted.
//
//   node --import tsx bench/lan.ts … --node-args "--perf-basic-prof"      # JS names in /tmp/perf-<pid>.map
//   perf record -F 199 -g -p <hub>,<device>,… -o run.data                 # while the transfer runs
//   perf script -i run.data -F comm,pid,tid,ip,sym,dso | node bench/support/perf-split.mjs
//
// Not product code; the categories are regexps over symbol names, good to a few percent.
import { createInterface } from 'node:readline'

const kernelCategory = (stack) => {
  const all = stack.join(' ')
  if (/finish_task_switch|__schedule|__switch_to|pick_next/.test(stack[0])) return 'kernel: context switches'
  if (/tcp_|inet_|sock_|skb|ip_rcv|ip_finish|net_rx|loopback/.test(all)) return 'kernel: sockets'
  if (/ext4|jbd2|fsync|vfs_|do_sys_open|path_|filemap|rename|dput|d_alloc|lookup|do_filp_open/.test(all)) return 'kernel: files'
  if (/futex/.test(all)) return 'kernel: futex'
  if (/epoll/.test(all)) return 'kernel: epoll'
  if (/page_fault|exc_page|clear_page|alloc_pages|mmap|munmap|madvise|brk/.test(all)) return 'kernel: memory'
  return 'kernel: other'
}

const category = (stack) => {
  const [sym, dso] = stack[0]
  if (/kernel|kallsyms/.test(dso)) return kernelCategory(stack.map(s => s[0]))
  if (/v8::internal::(ConcurrentMarking|Marking|MarkCompact|Sweeper|Scavenger|Heap|MemoryChunk|BodyDescriptor|\w*Visitor|Evacuat|PagedSpace|NewSpace|LocalHeap|MinorMark|ArrayBufferSweeper|GlobalHandles)|HeapObject::SizeFromMap|MemoryChunkData|BasicMemoryChunk/.test(sym)) return 'V8 garbage collection'
  if (/v8::internal::(compiler|maglev|baseline|Compiler|Parser|Scanner|Deoptimizer|TranslatedState|OptimizingCompile|Zone)|turboshaft|GraphReducer/.test(sym)) return 'V8 compiler and deopt'
  if (/wasm-function/.test(sym)) return 'WebAssembly (pnet XSalsa20)'
  if (/ChaCha20|poly1305|Poly1305|EVP_|CRYPTO_|x25519|sha\d/i.test(sym)) return 'OpenSSL (Noise)'
  if (/blake3/.test(sym)) return 'BLAKE3'
  if (/memmove|memcpy|memset/.test(sym)) return 'libc memcpy/memset'
  if (/malloc|free|_int_|arena|tcache/.test(sym)) return 'libc malloc'
  if (/^Builtins_/.test(sym)) return 'V8 builtins (interpreter, ICs, calls)'
  if (/^JS:/.test(sym)) return 'optimized JS'
  if (/perf-\d+\.map$/.test(dso)) return 'JIT code, JS or WebAssembly (its perf map is gone)'
  if (/uv_|uv__/.test(sym)) return 'libuv'
  if (/v8::|node::/.test(sym)) return 'V8/Node runtime'
  return `other (${dso.replace(/.*\//, '')})`
}

const byCategory = new Map()
let total = 0
let head
let stack = []
const add = (k) => { byCategory.set(k, (byCategory.get(k) ?? 0) + 1) }
const flush = () => {
  if (head === undefined || stack.length === 0) return
  const c = category(stack)
  add(c)
  add(`  ${head.tid === head.pid ? 'main thread' : 'helper threads'}`)
  add(`${c} | ${head.tid === head.pid ? 'main' : 'helpers'}`)
  total++
}
const rl = createInterface({ input: process.stdin })
rl.on('line', line => {
  if (/^\S/.test(line)) {
    flush()
    const m = /^\S+\s+(\d+)\/(\d+)/.exec(line)
    head = m === null ? undefined : { pid: m[1], tid: m[2] }
    stack = []
    return
  }
  const m = /^\s+[0-9a-f]+\s+(.*)\s+\((.*)\)$/.exec(line)
  if (m !== null) stack.push([m[1].replace(/\+0x[0-9a-f]+$/, ''), m[2]])
})
rl.on('close', () => {
  flush()
  console.log(`${total} samples`)
  const rows = [...byCategory.entries()].sort((a, b) => b[1] - a[1])
  for (const [k, v] of rows) if (!k.includes(' | ')) console.log(`${(100 * v / total).toFixed(1).padStart(5)}%  ${k}`)
  console.log('by thread:')
  for (const [k, v] of rows.filter(([k]) => k.includes(' | ')).slice(0, 20)) console.log(`${(100 * v / total).toFixed(1).padStart(5)}%  ${k}`)
})
