import { describe, expect, it } from 'vitest'
import { ApiError, createApi } from '../src/lib/api.js'

class MemoryStorage {
  constructor() { this.map = new Map() }
  getItem(k) { return this.map.has(k) ? this.map.get(k) : null }
  setItem(k, v) { this.map.set(k, String(v)) }
  removeItem(k) { this.map.delete(k) }
}

const json = (status, body, type = 'application/json') => new Response(JSON.stringify(body), {
  status, headers: { 'Content-Type': type } })

function recorder(...answers) {
  const calls = []
  const fetchImpl = async (url, init) => {
    calls.push({ url, init })
    const next = answers.shift()
    if (next instanceof Error) throw next
    return next
  }
  return { calls, fetchImpl }
}

const noWait = async () => {}

describe('money-moving POSTs', () => {
  it('retry after a network error with the same Idempotency-Key', async () => {
    const { calls, fetchImpl } = recorder(new TypeError('Failed to fetch'), json(200, { state: 'posted' }))
    const api = createApi({ fetchImpl, storage: new MemoryStorage(), sleep: noWait })
    const answer = await api.post('/ledger/v1/transfers/t1/confirm', undefined, { action: 'confirm:t1' })
    expect(answer.state).toBe('posted')
    expect(calls).toHaveLength(2)
    const keys = calls.map((c) => c.init.headers['Idempotency-Key'])
    expect(keys[0]).toBeTruthy()
    expect(keys[1]).toBe(keys[0])
  })

  it('keep the key when every retry failed, so the person tapping again sends it once more', async () => {
    const storage = new MemoryStorage()
    const failing = recorder(new TypeError('offline'), new TypeError('offline'), new TypeError('offline'))
    const api = createApi({ fetchImpl: failing.fetchImpl, storage, sleep: noWait })
    const error = await api.post('/ledger/v1/transfers', { amount: 5 }, { action: 'gift:m2:PT:5' }).catch((e) => e)
    expect(error).toBeInstanceOf(ApiError)
    expect(error.code).toBe('network_error')
    const kept = api.pendingKey('gift:m2:PT:5')
    expect(failing.calls.every((c) => c.init.headers['Idempotency-Key'] === kept)).toBe(true)

    const later = recorder(json(201, { state: 'pending' }))
    const again = createApi({ fetchImpl: later.fetchImpl, storage, sleep: noWait })
    await again.post('/ledger/v1/transfers', { amount: 5 }, { action: 'gift:m2:PT:5' })
    expect(later.calls[0].init.headers['Idempotency-Key']).toBe(kept)
    expect(again.pendingKey('gift:m2:PT:5')).toBeNull() // answered: the next gift is a new one
  })

  it('retry a 502/504 with the same key, and a new action after an answer gets a new key', async () => {
    const { calls, fetchImpl } = recorder(json(504, { code: 'upstream_timeout' }, 'application/problem+json'),
      json(200, { ok: 1 }), json(200, { ok: 2 }))
    const api = createApi({ fetchImpl, storage: new MemoryStorage(), sleep: noWait })
    await api.post('/x', {}, { action: 'pay' })
    await api.post('/x', {}, { action: 'pay' })
    expect(calls[1].init.headers['Idempotency-Key']).toBe(calls[0].init.headers['Idempotency-Key'])
    expect(calls[2].init.headers['Idempotency-Key']).not.toBe(calls[0].init.headers['Idempotency-Key'])
  })

  it('keep the key after a 503 (nothing happened; a later retry must still be the same payment)', async () => {
    const storage = new MemoryStorage()
    const { fetchImpl } = recorder(json(503, { code: 'upstream_unavailable' }, 'application/problem+json'))
    const api = createApi({ fetchImpl, storage, sleep: noWait })
    const error = await api.post('/x', {}, { action: 'order:i1' }).catch((e) => e)
    expect(error.status).toBe(503)
    expect(api.pendingKey('order:i1')).toBeTruthy()
  })

  it('answer a refusal as an ApiError with its problem, and forget the key', async () => {
    const { fetchImpl } = recorder(json(422, { code: 'insufficient_funds', detail: 'Not enough' }, 'application/problem+json'))
    const api = createApi({ fetchImpl, storage: new MemoryStorage(), sleep: noWait })
    const error = await api.post('/x', {}, { action: 'a' }).catch((e) => e)
    expect(error.code).toBe('insufficient_funds')
    expect(api.pendingKey('a')).toBeNull()
  })
})

describe('the session', () => {
  it('sends the bearer token and signs out on 401', async () => {
    let signedOut = 0
    const { calls, fetchImpl } = recorder(json(401, { code: 'invalid_token' }, 'application/problem+json'))
    const api = createApi({ fetchImpl, storage: new MemoryStorage(), getToken: () => 'tok', onUnauthorized: () => { signedOut += 1 } })
    const error = await api.get('/ledger/v1/balances').catch((e) => e)
    expect(calls[0].init.headers.Authorization).toBe('Bearer tok')
    expect(error.status).toBe(401)
    expect(signedOut).toBe(1)
  })

  it('puts only given query values in the URL', async () => {
    const { calls, fetchImpl } = recorder(json(200, []))
    const api = createApi({ fetchImpl, storage: new MemoryStorage() })
    await api.get('/requests/v1/requests', { q: '买菜', unit: '', grid_id: undefined, limit: 10 })
    expect(calls[0].url).toBe('/api/requests/v1/requests?q=%E4%B9%B0%E8%8F%9C&limit=10')
  })
})

describe('a form with a photo (随手拍)', () => {
  it('goes as multipart: the FormData itself, with no JSON Content-Type', async () => {
    const { calls, fetchImpl } = recorder(json(201, { report_id: 'rp_1', status: 'open' }))
    const api = createApi({ fetchImpl, storage: new MemoryStorage(), sleep: noWait })
    const form = new FormData()
    form.append('report_type', 'hazard_report')
    form.append('photo', new Blob([new Uint8Array([0x89, 0x50, 0x4e, 0x47])], { type: 'image/png' }), 'p.png')
    const answer = await api.post('/community/v1/communities/c1/reports', form)
    expect(answer.status).toBe('open')
    expect(calls[0].init.body).toBe(form)
    expect(calls[0].init.headers['Content-Type']).toBeUndefined()
  })

  it('a JSON body still goes as JSON', async () => {
    const { calls, fetchImpl } = recorder(json(200, {}))
    const api = createApi({ fetchImpl, storage: new MemoryStorage(), sleep: noWait })
    await api.post('/x', { a: 1 })
    expect(calls[0].init.body).toBe('{"a":1}')
    expect(calls[0].init.headers['Content-Type']).toBe('application/json')
  })
})
