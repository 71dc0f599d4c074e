/**
 * YAML in, a zod-validated value out, and every error names the field path and the
 * line it sits on: `spec.guardrails.minBatery: unknown field (line 12)`. Operators
 * edit these files by hand, so "invalid input" with no place is not good enough.
 * Pure: takes text, returns data or throws a StoremeshError.
 */
import { isMap, LineCounter, parseDocument, type Document, type Node as YamlNode } from 'yaml'
import type { z } from 'zod'
import { StoremeshError, type ErrorCode } from '../interface/errors.js'

export interface FieldIssue {
  /** dotted path, array indexes as numbers: `spec.verification.peripheralChecks.0.name` */
  path: string
  message: string
  /** 1-based line in the source; undefined for input without positions (JSON objects) */
  line?: number
}

export interface ParseOptions {
  /** error code for every failure */
  code: ErrorCode
  /** size limit of the text in bytes */
  maxBytes: number
  /** file name for the error's metadata */
  source?: string
}

/** Issues reported in one error message; the rest are counted. */
const MAX_ISSUES_IN_MESSAGE = 5

type PathKey = string | number

function formatIssues (issues: FieldIssue[]): string {
  const sorted = [...issues].sort((a, b) => (a.line ?? 0) - (b.line ?? 0))
  const shown = sorted.slice(0, MAX_ISSUES_IN_MESSAGE).map(i =>
    `${i.path === '' ? '(document)' : i.path}: ${i.message}${i.line !== undefined ? ` (line ${i.line})` : ''}`)
  const more = sorted.length - shown.length
  return shown.join('; ') + (more > 0 ? `; and ${more} more` : '')
}

export function issuesError (code: ErrorCode, issues: FieldIssue[], source?: string): StoremeshError {
  return new StoremeshError(code, formatIssues(issues), source !== undefined ? { file: source } : {})
}

function valueAt (root: unknown, path: readonly PathKey[]): unknown {
  let v: unknown = root
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined
    v = (v as Record<PathKey, unknown>)[k]
  }
  return v
}

function describe (v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'a list'
  if (typeof v === 'object') return 'a mapping'
  return typeof v
}

/** zod's messages rewritten for someone editing a YAML file. */
function messageOf (issue: z.core.$ZodIssue, input: unknown): string {
  const actual = valueAt(input, issue.path as PathKey[])
  if (actual === undefined && (issue.code === 'invalid_type' || issue.code === 'invalid_value')) return 'required field missing'
  if (issue.code === 'invalid_type') return `expected ${issue.expected}, got ${describe(actual)}`
  if (issue.code === 'invalid_value' && issue.values.length > 0) {
    return `must be ${issue.values.map(v => JSON.stringify(v)).join(' or ')}`
  }
  return issue.message
}

/** Flattens zod issues into field issues; `unknown field` gets one issue per key. */
export function fieldIssues (error: z.ZodError, input: unknown, lineOf?: (path: PathKey[], key?: string) => number | undefined): FieldIssue[] {
  const out: FieldIssue[] = []
  for (const issue of error.issues) {
    const path = issue.path.filter((k): k is PathKey => typeof k !== 'symbol')
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        out.push({ path: [...path, key].join('.'), message: 'unknown field', line: lineOf?.(path, key) })
      }
      continue
    }
    out.push({ path: path.join('.'), message: messageOf(issue, input), line: lineOf?.(path) })
  }
  return out
}

/** The line of the node at `path`, or of its nearest ancestor that exists; of the key when `key` is given. */
function lineFinder (doc: Document, lc: LineCounter): (path: PathKey[], key?: string) => number | undefined {
  return (path, key) => {
    for (let n = path.length; n >= 0; n--) {
      const node = (n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true)) as YamlNode | null | undefined
      if (node === null || node === undefined || typeof node !== 'object') continue
      if (key !== undefined && n === path.length && isMap(node)) {
        const pair = node.items.find(p => (p.key as { value?: unknown } | null)?.value === key)
        const keyRange = (pair?.key as YamlNode | undefined)?.range
        if (keyRange !== undefined && keyRange !== null) return lc.linePos(keyRange[0]).line
      }
      const range = node.range
      if (range !== undefined && range !== null) return lc.linePos(range[0]).line
    }
    return undefined
  }
}

/**
 * Deeper than any of our documents. The YAML parser recurses per flow level: found by
 * fuzzing, 5,000 nested `{"a":` in a 25 KiB facts file took over a second to refuse.
 */
export const MAX_YAML_FLOW_DEPTH = 64

/**
 * The deepest nesting of flow collections (`[`, `{`) in `text`, counting brackets
 * inside quoted scalars too: an over-count only refuses a file with 64 unclosed
 * brackets in its strings, which no config of ours has.
 */
export function flowDepthOf (text: string): number {
  let depth = 0
  let max = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x5b || c === 0x7b) {
      depth++
      if (depth > max) max = depth
    } else if ((c === 0x5d || c === 0x7d) && depth > 0) {
      depth--
    }
  }
  return max
}

/** Parses YAML (JSON is YAML) and validates it; throws `code` with field paths and lines. */
export function parseYamlWith<S extends z.ZodType> (text: string, schema: S, opts: ParseOptions): z.output<S> {
  const bytes = Buffer.byteLength(text, 'utf8')
  if (bytes > opts.maxBytes) {
    throw new StoremeshError(opts.code, `${bytes} bytes, limit ${opts.maxBytes}`, opts.source !== undefined ? { file: opts.source } : {})
  }
  const depth = flowDepthOf(text)
  if (depth > MAX_YAML_FLOW_DEPTH) {
    throw new StoremeshError(opts.code, `nested deeper than ${MAX_YAML_FLOW_DEPTH} levels`, opts.source !== undefined ? { file: opts.source } : {})
  }
  const lc = new LineCounter()
  // uniqueKeys: a key written twice is a mistake, never "the last one wins".
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false })
  if (doc.errors.length > 0) {
    throw issuesError(opts.code, doc.errors.map(e => ({
      path: '',
      message: `YAML ${e.code.toLowerCase().replace(/_/g, ' ')}: ${e.message.split('\n')[0] ?? ''}`,
      line: lc.linePos(e.pos[0]).line
    })), opts.source)
  }
  let input: unknown
  try {
    input = doc.toJS({ maxAliasCount: 100 })
  } catch (err) {
    // found by fuzzing: `*x` with no anchor x throws a ReferenceError here, not a doc error
    throw new StoremeshError(opts.code, `YAML: ${String((err as Error).message).split('\n')[0]?.slice(0, 200) ?? 'invalid'}`,
      opts.source !== undefined ? { file: opts.source } : {})
  }
  const r = schema.safeParse(input)
  if (!r.success) throw issuesError(opts.code, fieldIssues(r.error, input, lineFinder(doc, lc)), opts.source)
  return r.data
}

/** Validates an already parsed value (a JSON body); errors name the path only. */
export function parseValueWith<S extends z.ZodType> (value: unknown, schema: S, code: ErrorCode, source?: string): z.output<S> {
  const r = schema.safeParse(value)
  if (!r.success) throw issuesError(code, fieldIssues(r.error, value), source)
  return r.data
}
