/**
 * Gates about the bundle, its manifest and the wave: is this the right, trusted, fresh
 * content for this device, and is the device in the wave. Failures that no waiting
 * can cure (bad signature, expired, stale, older than installed, wrong target) ask for
 * `refuse`; content still arriving or an order that may lift asks for `defer`; the
 * version already running asks for `idle`.
 */
import semver from 'semver'
import { DAY_MS, DEFAULT_FACTS_RECHECK_MS, DEFAULT_ORDERS_RECHECK_MS, MAX_CLOCK_SKEW_MS, WAVE_BUCKETS } from './constants.js'
import { fail, humanMs, iso, pass, type GateContext, type GateOutcome } from './gate.js'
import { admittedBuckets, waveBucket } from './wave.js'

function shortId (id: string): string {
  return id.length > 15 ? id.slice(0, 15) + '…' : id
}

export function bundleComplete ({ facts, nowMs }: GateContext): GateOutcome {
  const b = facts.bundle
  if (b.complete) return pass('bundle.complete', b.totalChunks !== undefined ? `all ${b.totalChunks} chunks present` : 'all chunks present', 'defer')
  const missing = b.missingChunks !== undefined
    ? `${b.missingChunks}${b.totalChunks !== undefined ? ` of ${b.totalChunks}` : ''} chunks missing`
    : 'chunks missing'
  return fail('bundle.complete', missing, 'defer', nowMs + DEFAULT_FACTS_RECHECK_MS)
}

export function bundleVerified ({ facts, nowMs }: GateContext): GateOutcome {
  if (facts.bundle.verified) return pass('bundle.verified', 'every chunk verified against its BLAKE3 hash', 'defer')
  return fail('bundle.verified', facts.bundle.complete ? 'chunks present but not all verified yet' : 'not verified (bundle incomplete)',
    'defer', nowMs + DEFAULT_FACTS_RECHECK_MS)
}

export function manifestSignature ({ facts }: GateContext): GateOutcome {
  const s = facts.manifestSignature
  return s.ok ? pass('manifest.signature', s.detail, 'refuse') : fail('manifest.signature', s.detail, 'refuse')
}

export function manifestExpiry ({ manifest, nowMs }: GateContext): GateOutcome {
  const expiresMs = Date.parse(manifest.expires)
  if (Number.isNaN(expiresMs)) return fail('manifest.expiry', `unreadable expiry ${JSON.stringify(manifest.expires)}`, 'refuse')
  // Expired at the instant itself, as verifyManifest() in src/bundle/ decides.
  if (expiresMs <= nowMs) return fail('manifest.expiry', `expired ${iso(expiresMs)} (${humanMs(nowMs - expiresMs)} ago)`, 'refuse')
  return pass('manifest.expiry', `valid until ${iso(expiresMs)}`, 'refuse', expiresMs)
}

export function manifestSignedWithin ({ policy, manifest, nowMs }: GateContext): GateOutcome {
  const days = policy.spec.guardrails.signedWithinDays
  const createdMs = Date.parse(manifest.created)
  if (Number.isNaN(createdMs)) return fail('manifest.signed-within', `unreadable creation time ${JSON.stringify(manifest.created)}`, 'refuse')
  if (createdMs > nowMs + MAX_CLOCK_SKEW_MS) {
    // A clock behind the signer's: wait until the creation time is plausible.
    return fail('manifest.signed-within', `created ${iso(createdMs)}, in the future (clock skew?)`, 'defer', createdMs - MAX_CLOCK_SKEW_MS)
  }
  if (days === undefined) return pass('manifest.signed-within', `created ${iso(createdMs)}; no age limit`, 'refuse')
  const limitMs = createdMs + days * DAY_MS
  // Exactly `days` old still passes; a millisecond more does not.
  if (nowMs > limitMs) return fail('manifest.signed-within', `created ${iso(createdMs)}, ${humanMs(nowMs - createdMs)} ago > ${days} d`, 'refuse')
  return pass('manifest.signed-within', `created ${iso(createdMs)}, within ${days} d`, 'refuse', limitMs + 1)
}

export function manifestHold ({ facts, manifest, bundleId, nowMs }: GateContext): GateOutcome {
  if (facts.install.phase === 'rolled-back' && facts.install.version !== undefined && facts.install.version === manifest.version) {
    return fail('manifest.hold', `${manifest.version} rolled back on this device; a newer version is needed`, 'refuse')
  }
  // A hold names a bundle id, a version, both, or neither (then it freezes the device).
  const holds = facts.holds.filter(h =>
    (h.bundleId === undefined || h.bundleId === bundleId) &&
    (h.version === undefined || h.version === manifest.version) &&
    (h.untilMs === undefined || h.untilMs > nowMs))
  if (holds.length === 0) return pass('manifest.hold', 'no hold', 'defer')
  // Held until the last timed hold ends; one hold with no end holds until lifted.
  const untimed = holds.some(h => h.untilMs === undefined)
  const untilMs = untimed ? undefined : Math.max(...holds.map(h => h.untilMs as number))
  const detail = `held: ${holds.map(h => h.reason).join('; ')}${untilMs !== undefined ? ` until ${iso(untilMs)}` : ' until lifted'}`
  return fail('manifest.hold', detail, 'defer', untilMs)
}

export function versionMonotonic ({ facts, manifest, runsThis, nowMs }: GateContext): GateOutcome {
  const installed = facts.installedVersion
  if (runsThis) return fail('version.monotonic', `already running ${manifest.version}`, 'idle')
  if (installed === undefined) return pass('version.monotonic', `${manifest.version}; nothing installed yet`, 'refuse')
  if (semver.valid(installed) === null) {
    return fail('version.monotonic', `installed version ${JSON.stringify(installed)} is not semver`, 'defer', nowMs + DEFAULT_FACTS_RECHECK_MS)
  }
  const c = semver.compare(manifest.version, installed)
  if (c > 0) return pass('version.monotonic', `${installed} -> ${manifest.version}`, 'refuse')
  if (c === 0) return fail('version.monotonic', `already running ${installed}`, 'idle')
  return fail('version.monotonic', `${manifest.version} is older than installed ${installed} (no downgrades)`, 'refuse')
}

export function targetMatch ({ policy, manifest, bundleId, facts }: GateContext): GateOutcome {
  const t = policy.spec.targets
  const wrong: string[] = []
  if (policy.spec.bundle.id !== bundleId) wrong.push(`policy is for bundle ${shortId(policy.spec.bundle.id)}, manifest is ${shortId(bundleId)}`)
  if (policy.spec.bundle.version !== manifest.version) wrong.push(`policy is for version ${policy.spec.bundle.version}, manifest is ${manifest.version}`)
  if (manifest.deviceClass !== facts.deviceClass) wrong.push(`bundle is for class ${manifest.deviceClass}, device is ${facts.deviceClass}`)
  if (t.deviceClass !== undefined && t.deviceClass !== facts.deviceClass) wrong.push(`policy targets class ${t.deviceClass}, device is ${facts.deviceClass}`)
  if (manifest.osVariant !== undefined && manifest.osVariant !== facts.osVariant) {
    wrong.push(`bundle is for OS ${manifest.osVariant}, device is ${facts.osVariant ?? 'unknown'}`)
  }
  for (const key of Object.keys(t.labels).sort()) {
    const want = t.labels[key] as string | string[]
    const have = facts.labels[key]
    const ok = have !== undefined && (Array.isArray(want) ? want.includes(have) : want === have)
    if (!ok) wrong.push(`label ${key}=${have ?? '(none)'}, wanted ${Array.isArray(want) ? want.join('|') : want}`)
  }
  if (wrong.length > 0) return fail('target.match', wrong.join('; '), 'refuse')
  const labels = Object.keys(t.labels).length
  return pass('target.match', `class ${facts.deviceClass}${labels > 0 ? `, ${labels} label(s) match` : ''}`, 'refuse')
}

export function waveAdmitted ({ policy, facts }: GateContext): GateOutcome {
  const pct = policy.spec.targets.percentage
  const bucket = waveBucket(policy.metadata.name, facts.deviceId)
  const limit = admittedBuckets(pct)
  const where = `bucket ${bucket} of ${WAVE_BUCKETS}`
  if (bucket < limit) return pass('wave.admitted', `${where} < ${limit} (${pct} %)`, 'defer')
  // Only a policy with a larger percentage admits this device: no time to wait for.
  return fail('wave.admitted', `${where} >= ${limit} (${pct} %): not in this wave`, 'defer')
}

export function wavePaused ({ policy, facts, nowMs }: GateContext): GateOutcome {
  if (facts.fleet.paused !== true) return pass('wave.paused', `wave ${policy.metadata.wave} running`, 'defer')
  const why = facts.fleet.reason !== undefined && facts.fleet.reason !== '' ? `: ${facts.fleet.reason}` : ''
  return fail('wave.paused', `wave ${policy.metadata.wave} paused${why}`, 'defer', nowMs + DEFAULT_ORDERS_RECHECK_MS)
}
