/** At most `limit` tasks at once; the rest wait in arrival order (abortable while waiting). */
import { StoremeshError } from '../interface/errors.js'

export class Semaphore {
  #active = 0
  readonly #waiting: Array<() => void> = []

  constructor (private readonly limit: number) {
    if (!(Number.isSafeInteger(limit) && limit >= 1)) throw new StoremeshError('E_INVALID_ARGUMENT', `concurrency must be a positive integer, got ${limit}`)
  }

  async run<T> (fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.#active >= this.limit) {
      await new Promise<void>((resolve, reject) => {
        const go = (): void => { signal?.removeEventListener('abort', onAbort); resolve() }
        const onAbort = (): void => {
          const i = this.#waiting.indexOf(go)
          if (i >= 0) this.#waiting.splice(i, 1)
          reject(new StoremeshError('E_ABORTED', 'aborted while waiting for an origin slot'))
        }
        this.#waiting.push(go)
        signal?.addEventListener('abort', onAbort, { once: true })
      })
    }
    this.#active++
    try {
      return await fn()
    } finally {
      this.#active--
      this.#waiting.shift()?.()
    }
  }
}
