// Spreadsheet files as people have them: CSV saved by Excel or WPS (UTF-8, with or without a BOM, CRLF, quoted
// fields with commas, quotes and line breaks inside). Pure, so it is unit-tested (tests/csv.test.js).

/** Rows of fields from CSV text (a leading BOM dropped, blank lines skipped). */
export function parseCsv(text) {
  const source = String(text || '').replace(/^\uFEFF/, '')
  const rows = []
  let row = []
  let field = ''
  let quoted = false
  for (let i = 0; i < source.length; i += 1) {
    const c = source[i]
    if (quoted) {
      if (c === '"' && source[i + 1] === '"') { field += '"'; i += 1 } else if (c === '"') quoted = false
      else field += c
    } else if (c === '"' && field === '') quoted = true
    else if (c === ',') { row.push(field); field = '' } else if (c === '\n' || c === '\r') {
      if (c === '\r' && source[i + 1] === '\n') i += 1
      row.push(field)
      rows.push(row)
      row = []
      field = ''
    } else field += c
  }
  if (field !== '' || row.length) { row.push(field); rows.push(row) }
  return rows.filter((r) => r.some((f) => f.trim() !== ''))
}

// The columns of a member list, by the header words people write (Chinese or English).
const COLUMNS = {
  display_name: ['姓名', '名字', 'name', 'display_name'],
  phone: ['手机', '手机号', '手机号码', '电话', 'phone', 'mobile'],
  password: ['密码', '初始密码', 'password', 'pin'],
  grid: ['网格', '楼栋', 'grid'],
  roles: ['角色', 'roles', 'role'],
  skills: ['技能', 'skills'],
}
export const ROLES = ['resident', 'organizer', 'grid_worker', 'admin', 'merchant']
const ROLE_WORDS = { 居民: 'resident', 组织者: 'organizer', 网格员: 'grid_worker', 管理员: 'admin', 商户: 'merchant' }
// The community service's own checks (services/community/model.py): a phone of 6-15 digits, a PIN of 6 digits or a
// password of 8 characters.
const PHONE = /^\+?[0-9]{6,15}$/
const strong = (secret) => (/^[0-9]+$/.test(secret) ? secret.length >= 6 : secret.length >= 8)
const LIST = /[;；、|]/

function column(header) {
  const word = header.trim().toLowerCase()
  return Object.keys(COLUMNS).find((name) => COLUMNS[name].includes(word)) || null
}

/**
 * Members to register from a parsed sheet: [{line, body, errors}] where `line` is the spreadsheet's row number,
 * `body` the POST body for the community service and `errors` problem words (keys of staff.import.errors).
 * `grids` are the community's grids ({grid_id, name}); `known` phones already registered.
 */
export function memberRows(rows, grids = [], known = []) {
  if (!rows.length) return { columns: [], rows: [], missing: ['display_name', 'phone', 'password'] }
  const columns = rows[0].map(column)
  const missing = ['display_name', 'phone', 'password'].filter((c) => !columns.includes(c))
  const byName = Object.fromEntries(grids.map((g) => [g.name.trim(), g.grid_id]))
  const seen = new Set(known)
  const out = rows.slice(1).map((cells, index) => {
    const value = (name) => (cells[columns.indexOf(name)] ?? '').trim()
    const errors = []
    const body = { display_name: value('display_name'), phone: value('phone').replace(/[\s-]/g, ''),
      password: value('password'), roles: ['resident'], skills: [] }
    if (!body.display_name) errors.push('name')
    else if (body.display_name.length > 50) errors.push('nameLong')
    if (!PHONE.test(body.phone)) errors.push('phone')
    else if (seen.has(body.phone)) errors.push('duplicate')
    else seen.add(body.phone)
    if (!strong(body.password)) errors.push('password')
    const grid = value('grid')
    if (grid) {
      if (byName[grid]) body.grid_id = byName[grid]
      else errors.push('grid')
    }
    const roles = value('roles')
    if (roles) {
      body.roles = roles.split(LIST).map((r) => r.trim()).filter(Boolean).map((r) => ROLE_WORDS[r] || r.toLowerCase())
      if (body.roles.some((r) => !ROLES.includes(r))) errors.push('role')
    }
    const skills = value('skills')
    if (skills) body.skills = skills.split(LIST).map((s) => s.trim()).filter(Boolean)
    return { line: index + 2, body, errors }
  })
  return { columns, rows: out, missing }
}

/** A sheet file's text: UTF-8 (with or without BOM), else GB18030 (Excel's "CSV" on a Chinese Windows is GBK). */
export function decodeSheet(bytes) {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    return new TextDecoder('gb18030').decode(bytes)
  }
}

/** `items` in runs of at most `size` (a large sheet sent in several calls). */
export function chunked(items, size) {
  const runs = []
  for (let i = 0; i < items.length; i += size) runs.push(items.slice(i, i + size))
  return runs
}
