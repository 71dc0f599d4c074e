/**
 * `storemesh policy sign | verify | explain`: sign a RolloutPolicy YAML with the
 * manifest's envelope, check a signed policy against trusted keys, and show every
 * gate of the policy engine for the device in a data directory.
 */
import type { Command } from 'commander'
import { readSigningKeyFile, readTrustedKeyFiles } from '../bundle/keys.js'
import { writeFileAtomic } from '../interface/atomic-file.js'
import { StoremeshError, VERDICT_EXIT } from '../interface/errors.js'
import { readRegularFile } from '../interface/regular-file.js'
import type { Decision } from '../interface/types.js'
import { decidingGates } from '../policy/evaluate.js'
import { MAX_POLICY_YAML_BYTES, MAX_SIGNED_POLICY_BYTES } from '../policy/constants.js'
import { parsePolicyYaml } from '../policy/schema.js'
import { decodeSignedPolicy, encodeSignedPolicy, policyIdOf, signPolicy, verifyPolicy } from '../policy/signed.js'
import { collectDecisionInputs, decideDevice, isDeviceDir, openDecisionParts, type DecisionInputs, type OpenedParts } from '../roles/device-decision.js'
import type { Register } from './commands.js'
import { action } from './context.js'
import { printJson, printTable } from './output.js'

const EXPLAIN_HELP = `
Data directory layout:
  <data>/device.yaml          deviceId, deviceClass, labels, osVariant,
                              factsFile (YAML/JSON, relative to <data>),
                              factCommands (fact: {run, timeoutSeconds, scale}),
                              trust: {keys: [public key files], threshold},
                              diskPath (free disk measured here; default <data>)
  <data>/policy.signed.json   signed policy (storemesh policy sign), or --policy

An installed device's directory (it has <data>/store/) is explained with the
inputs \`device install --once\` and the device agent decide on: the bundle from
the chunk store (a complete one is verified first, as the install does), the
installer's state and active slot, install.yaml's lease (lease: hub cannot be
asked from here: hub.lease says unreachable, as the agent sees it with no hub in
reach) and the wave orders the agent last heard (<data>/wave-orders.json).
The chunk store is a single-process database: stop the agent first.

Otherwise (a lab folder, or with --manifest) the bundle is a folder:
  <data>/bundles/<id>/bundle.json  the manifest the policy names (<id> is b3:<hex>
                              or <hex>), chunks in <id>/chunks/; or --manifest
and the lease and installer state come from the facts file.

Exit codes (those of device install --once for the verdict): 0 install or idle,
75 defer, 3 refuse (trust, expiry, target, version), 4 rollback.`

/** ISO 8601 or ms since the epoch. */
export function parseAt (s: string): number {
  const ms = /^\d+$/.test(s) ? Number(s) : Date.parse(s)
  if (!Number.isFinite(ms)) throw new StoremeshError('E_INVALID_ARGUMENT', `--at: not a time: ${JSON.stringify(s)} (ISO 8601 or ms since epoch)`)
  return ms
}

function isoOrNull (ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString()
}

interface SignOpts { key: string[], out: string, json: boolean }
interface VerifyOpts { trust: string[], threshold?: string, json: boolean }
interface ExplainOpts { data: string, at?: string, policy?: string, manifest?: string, probes: boolean, json: boolean }

function printDecision (d: Decision, header: string): void {
  process.stdout.write(header + '\n')
  printTable(['GATE', 'OK', 'DETAIL'], d.gates.map(g => [g.gate, g.ok ? 'ok' : 'FAIL', g.detail]))
  const next = d.nextCheckAt !== null ? `  (next check ${new Date(d.nextCheckAt).toISOString()})` : ''
  process.stdout.write(`verdict: ${d.verdict}${next}\n`)
  for (const g of decidingGates(d)) process.stdout.write(`  because ${g.gate}: ${g.detail}\n`)
}

/**
 * The decision `policy explain` prints: on an installed device, that of its next
 * `device install --once` (the same collector, store, installer state, lease source
 * and order book); on a lab folder, from the bundle folder and the facts file.
 */
async function explainDevice (opts: ExplainOpts, nowMs: number): Promise<{ inputs: DecisionInputs, decision: Decision, unfinished?: OpenedParts['unfinished'] }> {
  const collectOpts = { atMs: nowMs, policyPath: opts.policy, manifestPath: opts.manifest, probes: opts.probes }
  if (opts.manifest !== undefined || !await isDeviceDir(opts.data)) {
    const inputs = await collectDecisionInputs({ dataDir: opts.data }, collectOpts)
    return { inputs, decision: await decideDevice(inputs) }
  }
  const parts = await openDecisionParts(opts.data)
  try {
    const inputs = await collectDecisionInputs({ dataDir: opts.data, device: parts.device }, collectOpts)
    return { inputs, decision: await decideDevice(inputs), unfinished: parts.unfinished }
  } finally {
    await parts.close()
  }
}

export const register: Register = (program: Command, ctx) => {
  const policy = program.command('policy').description('sign, verify and explain rollout policies')

  policy.command('sign')
    .description('validate a RolloutPolicy YAML and sign it with the manifest envelope')
    .argument('<yaml>', 'policy YAML file')
    .requiredOption('--key <file...>', 'private signing key file(s)')
    .requiredOption('--out <file>', 'where to write the signed policy (JSON)')
    .option('--json', 'machine-readable output', false)
    .action(action(ctx, async (yamlPath: string, opts: SignOpts) => {
      const text = (await readRegularFile(yamlPath, { what: 'policy YAML', maxBytes: MAX_POLICY_YAML_BYTES, codes: { tooLarge: 'E_POLICY_INVALID' } })).toString('utf8')
      const parsed = parsePolicyYaml(text, yamlPath)
      const keys = await Promise.all(opts.key.map(readSigningKeyFile))
      const env = signPolicy(parsed, keys)
      await writeFileAtomic(opts.out, encodeSignedPolicy(env))
      const p = env.signed.policy
      const summary = {
        out: opts.out, policyId: policyIdOf(env), name: p.metadata.name, wave: p.metadata.wave,
        bundle: p.spec.bundle, signedBy: keys.map(k => k.keyid)
      }
      if (opts.json) printJson(summary)
      else process.stdout.write(`signed policy ${p.metadata.name} wave ${p.metadata.wave} for ${p.spec.bundle.id} ${p.spec.bundle.version} by ${summary.signedBy.join(', ')} -> ${opts.out}\n`)
    }))

  policy.command('verify')
    .description('check a signed policy against trusted keys (exit 3 when not trusted)')
    .argument('<file>', 'signed policy (JSON)')
    .requiredOption('--trust <key...>', 'trusted public key file(s)')
    .option('--threshold <n>', 'signatures from distinct trusted keys required', '1')
    .option('--json', 'machine-readable output', false)
    .action(action(ctx, async (file: string, opts: VerifyOpts) => {
      const threshold = Number(opts.threshold ?? '1')
      if (!Number.isInteger(threshold) || threshold < 1) throw new StoremeshError('E_INVALID_ARGUMENT', `--threshold: not a positive integer: ${opts.threshold ?? ''}`)
      const env = decodeSignedPolicy(await readRegularFile(file, { what: 'signed policy', maxBytes: MAX_SIGNED_POLICY_BYTES, codes: { tooLarge: 'E_POLICY_INVALID' } }))
      const v = verifyPolicy(env, { keys: await readTrustedKeyFiles(opts.trust), threshold })
      const p = v.policy
      if (opts.json) {
        printJson({ ok: true, policyId: v.policyId, name: p.metadata.name, wave: p.metadata.wave, bundle: p.spec.bundle, signedBy: v.signedBy })
      } else {
        process.stdout.write(`ok: policy ${p.metadata.name} wave ${p.metadata.wave} for ${p.spec.bundle.id} ${p.spec.bundle.version}, signed by ${v.signedBy.join(', ')}\n`)
      }
    }))

  policy.command('explain')
    .description('every policy gate for the device in a data directory, and the verdict')
    .requiredOption('--data <dir>', 'device data directory')
    .option('--at <time>', 'evaluate at this time (ISO 8601 or ms since epoch) instead of now')
    .option('--policy <file>', 'signed policy (default <data>/policy.signed.json)')
    .option('--manifest <file>', 'bundle.json of the bundle (default: found under <data>/bundles/)')
    .option('--no-probes', 'do not run the policy\'s peripheral probes')
    .option('--json', 'machine-readable output', false)
    .addHelpText('after', EXPLAIN_HELP)
    .action(action(ctx, async (opts: ExplainOpts) => {
      const nowMs = opts.at !== undefined ? parseAt(opts.at) : Date.now()
      const { inputs, decision, unfinished } = await explainDevice(opts, nowMs)
      const bundle = inputs.bundle?.info
      const p = inputs.policy?.policy
      if (opts.json) {
        printJson({
          at: new Date(nowMs).toISOString(),
          device: { id: inputs.facts.deviceId, class: inputs.facts.deviceClass },
          policy: p !== undefined ? { id: inputs.policy?.policyId, name: p.metadata.name, wave: p.metadata.wave } : null,
          bundle: bundle !== undefined ? { id: bundle.id, version: bundle.manifest.signed.version } : null,
          verdict: decision.verdict,
          nextCheckAt: isoOrNull(decision.nextCheckAt),
          nextCheckAtMs: decision.nextCheckAt,
          gates: decision.gates,
          unfinishedInstall: unfinished ?? null
        })
      } else {
        const header = [
          `device ${inputs.facts.deviceId} (${inputs.facts.deviceClass})`,
          p !== undefined ? `policy ${p.metadata.name} wave ${p.metadata.wave}` : 'no policy',
          bundle !== undefined ? `bundle ${bundle.id.slice(0, 15)}… ${bundle.manifest.signed.version}` : 'no bundle',
          `at ${new Date(nowMs).toISOString()}`
        ].join(' · ')
        printDecision(decision, header)
        if (unfinished !== undefined) {
          process.stdout.write(`note: the install of ${unfinished.bundleId.slice(0, 15)}… ${unfinished.version} stopped in state ${unfinished.state}; the next install run resumes it before deciding\n`)
        }
      }
      return VERDICT_EXIT[decision.verdict]
    }))
}
