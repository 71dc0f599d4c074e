/**
 * Promise-chain locks. `Mutex` serialises index updates that read-modify-write bundle
 * state; `KeyedMutex` serialises work on one chunk hash (parallel puts of the same
 * chunk, eviction against a put) while different hashes proceed in parallel.
 */

export class Mutex {
  private tail: Promise<void> = Promise.resolve()
  private held = 0

  get locked (): boolean {
    return this.held > 0
  }

  async run<T> (fn: () => Promise<T>): Promise<T> {
    const prev = this.tail
    let release!: () => void
    this.tail = new Promise<void>(resolve => { release = resolve })
    this.held++
    try {
      await prev
      return await fn()
    } finally {
      this.held--
      release()
    }
  }
}

export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>()

  isLocked (key: string): boolean {
    return this.tails.has(key)
  }

  get size (): number {
    return this.tails.size
  }

  async run<T> (key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve()
    let release!: () => void
    const mine = new Promise<void>(resolve => { release = resolve })
    const tail = prev.then(async () => await mine)
    this.tails.set(key, tail)
    try {
      await prev
      return await fn()
    } finally {
      release()
      // Only the last waiter removes the key, so isLocked() stays true while anyone queues.
      if (this.tails.get(key) === tail) this.tails.delete(key)
    }
  }
}
