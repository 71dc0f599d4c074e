/** Runs read-modify-write steps on one boot environment one at a time. */
export class Serial {
  private tail: Promise<unknown> = Promise.resolve()

  async run<T> (fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn)
    // a failed step must not poison the ones after it
    this.tail = next.catch(() => {})
    return await next
  }
}
