// libp2p 3 calls Promise.withResolvers (Node 22+). On Node 20 every dial then fails
// with a bare ECONNRESET. ESM hoists imports, so this module must be loaded on its
// own before any libp2p module: bin/storemesh.js imports it first and the test
// runner loads it with `node --import`.
interface Resolvers<T> {
  promise: Promise<T>
  resolve: (value: T | PromiseLike<T>) => void
  reject: (reason?: unknown) => void
}

const P = Promise as unknown as { withResolvers?: <T>() => Resolvers<T> }

if (typeof P.withResolvers !== 'function') {
  P.withResolvers = function withResolvers<T> (): Resolvers<T> {
    let resolve!: Resolvers<T>['resolve']
    let reject!: Resolvers<T>['reject']
    const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
}

export {}
