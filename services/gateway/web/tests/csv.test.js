import { describe, expect, it } from 'vitest'
import { chunked, decodeSheet, memberRows, parseCsv } from '../src/lib/csv.js'

describe('parseCsv', () => {
  it('reads an Excel export: BOM, CRLF, quoted commas and quotes, blank lines', () => {
    const text = '\uFEFF姓名,手机,备注\r\n王芳,13800000002,"住 3 栋, 502"\r\n\r\n"李 ""老"" 师",13800000003,"两行\r\n备注"\r\n'
    expect(parseCsv(text)).toEqual([['姓名', '手机', '备注'], ['王芳', '13800000002', '住 3 栋, 502'],
      ['李 "老" 师', '13800000003', '两行\r\n备注']])
  })

  it('reads a file without BOM or final newline, and LF only', () => {
    expect(parseCsv('a,b\n1,2')).toEqual([['a', 'b'], ['1', '2']])
    expect(parseCsv('a,,c\n')).toEqual([['a', '', 'c']])
  })
})

describe('memberRows', () => {
  const grids = [{ grid_id: 'g1', name: '1号楼' }]
  it('maps Chinese headers and says what is wrong with each row', () => {
    const rows = parseCsv('姓名,手机号,密码,网格,角色,技能\n'
      + '王芳,138-0000-0002,pass-word,1号楼,居民;组织者,理发、维修\n'
      + ',12345,abc,9号楼,boss,\n'
      + '李四,13800000002,pass-word,,,\n')
    const { rows: out, missing } = memberRows(rows, grids, ['13900000000'])
    expect(missing).toEqual([])
    expect(out[0]).toEqual({ line: 2, errors: [], body: { display_name: '王芳', phone: '13800000002',
      password: 'pass-word', grid_id: 'g1', roles: ['resident', 'organizer'], skills: ['理发', '维修'] } })
    expect(out[1].line).toBe(3)
    expect(out[1].errors).toEqual(['name', 'phone', 'password', 'grid', 'role'])
    expect(out[2].errors).toEqual(['duplicate'])
  })

  it('names the columns a sheet lacks', () => {
    expect(memberRows(parseCsv('name,phone\nA,13800000002'), grids).missing).toEqual(['password'])
    expect(memberRows([], grids).missing).toEqual(['display_name', 'phone', 'password'])
  })

  it('takes phones already registered as duplicates', () => {
    const { rows } = memberRows(parseCsv('name,phone,password\nA,13900000000,123456'), grids, ['13900000000'])
    expect(rows[0].errors).toEqual(['duplicate'])
  })
})

describe('decodeSheet', () => {
  it('reads UTF-8 with a BOM and GBK from an older Excel', () => {
    const utf8 = new Uint8Array([0xEF, 0xBB, 0xBF, ...new TextEncoder().encode('姓名,phone')])
    expect(parseCsv(decodeSheet(utf8))).toEqual([['姓名', 'phone']])
    const gbk = new Uint8Array([0xD0, 0xD5, 0xC3, 0xFB, 0x2C, 0x61]) // "姓名,a" in GBK
    expect(decodeSheet(gbk)).toBe('姓名,a')
  })
})

describe('chunked', () => {
  it('sends a large sheet in runs of at most the size asked, in order', () => {
    const lines = Array.from({ length: 120 }, (_, i) => i + 2)
    const runs = chunked(lines, 50)
    expect(runs.map((r) => r.length)).toEqual([50, 50, 20])
    expect(runs.flat()).toEqual(lines)
    expect(chunked([], 50)).toEqual([])
  })
})
