// Node 20 lacks Promise.withResolvers (Node 22 has it); a dependency shared by libp2p 1.x-3.x
// calls it at load time. Node 18 (Debian 12's own nodejs) also lacks the globals CustomEvent
// (libp2p's event emitters) and crypto (Web Crypto, used by ping and the key code). Load
// before anything else: node --import ./polyfill.mjs SCRIPT.
import { webcrypto } from 'node:crypto'

if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers () {
    let resolve, reject
    const promise = new this((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
}
if (typeof globalThis.CustomEvent !== 'function') {
  globalThis.CustomEvent = class CustomEvent extends Event {
    constructor (type, init) {
      super(type, init)
      this.detail = init?.detail ?? null
    }
  }
}
if (globalThis.crypto == null) {
  globalThis.crypto = webcrypto
}
