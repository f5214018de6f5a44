// A points rule set (SPEC §5) as the editor sees it: leaves by dotted path, edits, and what changed between two
// versions. Pure, so it is unit-tested (tests/rules.test.js).

// Rules that are maps of names a person may add to or take from (activity types, bonuses, classes, reasons).
export const MAPS = ['activity_points', 'class_multipliers', 'penalties']
export const NESTED_MAPS = ['activity_bonuses']
export const LISTS = ['honour_levels']

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v)

/** Every leaf of a rule set: [{path: ['caps', 'per_day'], key: 'caps.per_day', value}], in document order. */
export function leaves(doc, prefix = []) {
  const out = []
  const walk = (value, path) => {
    if (isObject(value) && (Object.keys(value).length || !path.length)) {
      for (const [k, v] of Object.entries(value)) walk(v, [...path, k])
    } else if (Array.isArray(value) && value.length && typeof value[0] === 'object') {
      value.forEach((v, i) => walk(v, [...path, String(i)]))
    } else out.push({ path, key: path.join('.'), value })
  }
  walk(doc, prefix)
  return out
}

/** A copy of `doc` with the value at `path` set (objects and lists copied on the way). */
export function setPath(doc, path, value) {
  if (!path.length) return value
  const [head, ...rest] = path
  const copy = Array.isArray(doc) ? [...doc] : { ...doc }
  copy[head] = setPath(doc?.[head] ?? {}, rest, value)
  return copy
}

/** A copy of `doc` without the entry at `path`. */
export function removePath(doc, path) {
  const [head, ...rest] = path
  if (!rest.length) {
    if (Array.isArray(doc)) return doc.filter((_, i) => String(i) !== head)
    const { [head]: _gone, ...kept } = doc
    return kept
  }
  return { ...doc, [head]: removePath(doc[head], rest) }
}

/** What a field's text means for a leaf that held `before`: numbers stay whole numbers, an empty cap is none. */
export function readValue(text, before) {
  if (Array.isArray(before)) {
    return String(text).split(/[,，\s]+/).filter(Boolean).map(Number)
  }
  if (typeof before === 'number' || before === null) {
    const trimmed = String(text).trim()
    if (trimmed === '') return null
    return /^-?\d+$/.test(trimmed) ? Number(trimmed) : trimmed
  }
  return String(text)
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b)

/** The changed leaves from `before` to `after`: [{path, from, to}] (undefined: absent on that side). */
export function diffRules(before, after) {
  const a = Object.fromEntries(leaves(before || {}).map((l) => [l.key, l.value]))
  const b = Object.fromEntries(leaves(after || {}).map((l) => [l.key, l.value]))
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])]
  return keys.filter((k) => !same(a[k], b[k])).map((k) => ({ path: k, from: a[k], to: b[k] }))
}

/** A rule's value in words for a diff line: none for an unset cap, a list comma-separated, absent as —. */
export function showValue(value, noneWord = '∞') {
  if (value === undefined) return '—'
  if (value === null) return noneWord
  if (Array.isArray(value)) return value.join(', ')
  return String(value)
}
