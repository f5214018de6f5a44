// The one API client: bearer token, problem+json errors, and Idempotency-Keys that survive a retry.
//
// A money-moving POST names its `action` (e.g. "confirm:tr_123"). Its Idempotency-Key is kept in
// sessionStorage under that name until an answer arrives, so a retry after a network error (automatic,
// or the person tapping again, or even a reload) sends the same key and the ledger never pays twice.

const KEY_PREFIX = 'idem:'
// Answers after which the request may or may not have been carried out: keep the key for the retry.
const UNSURE = new Set([502, 504])
// Answers that prove nothing was carried out: keep the key too (a retry must not become a second payment).
const NOT_REACHED = new Set([503])

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`)
    this.name = 'ApiError'
    this.status = status
    this.problem = problem || {}
  }

  get code() {
    return this.problem.code || null
  }
}

function newKey() {
  if (globalThis.crypto?.randomUUID) return globalThis.crypto.randomUUID()
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}-${Math.random().toString(36).slice(2)}`
}

function queryString(query) {
  if (!query) return ''
  const params = new URLSearchParams()
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue
    params.append(name, String(value))
  }
  const text = params.toString()
  return text ? `?${text}` : ''
}

/**
 * fetchImpl, storage (sessionStorage-like), getToken() and onUnauthorized() are injected so the client can be
 * unit-tested; `sleep` waits between automatic retries.
 */
export function createApi({ fetchImpl, storage, getToken = () => null, onUnauthorized = () => {}, base = '/api',
                            retries = 2, retryDelayMs = 700, sleep } = {}) {
  const doFetch = fetchImpl || ((...args) => globalThis.fetch(...args))
  const wait = sleep || ((ms) => new Promise((resolve) => setTimeout(resolve, ms)))

  function keyFor(action) {
    const name = KEY_PREFIX + action
    let key = storage.getItem(name)
    if (!key) {
      key = newKey()
      storage.setItem(name, key)
    }
    return key
  }

  async function send(method, path, { query, body, action, raw } = {}) {
    const headers = { Accept: 'application/json, application/problem+json' }
    const token = getToken()
    if (token) headers.Authorization = `Bearer ${token}`
    // A form with a file (a 随手拍 photo) goes as multipart: the browser writes its Content-Type and boundary.
    const form = typeof FormData !== 'undefined' && body instanceof FormData
    if (body !== undefined && !form) headers['Content-Type'] = 'application/json'
    if (action) headers['Idempotency-Key'] = keyFor(action)
    const url = `${base}${path}${queryString(query)}`
    const init = { method, headers, body: body === undefined || form ? body : JSON.stringify(body) }
    let response
    for (let attempt = 0; ; attempt += 1) {
      try {
        response = await doFetch(url, init)
      } catch (error) {
        // Nothing came back: the request may or may not have arrived. Same key on every retry.
        if (attempt < retries && (action || method === 'GET')) {
          await wait(retryDelayMs * (attempt + 1))
          continue
        }
        throw new ApiError(0, { code: 'network_error', detail: String(error?.message || error) })
      }
      if (UNSURE.has(response.status) && action && attempt < retries) {
        await wait(retryDelayMs * (attempt + 1))
        continue
      }
      break
    }
    if (action && !UNSURE.has(response.status) && !NOT_REACHED.has(response.status)) {
      storage.removeItem(KEY_PREFIX + action) // answered: the next action of that name is a new one
    }
    if (response.status === 401 && token) onUnauthorized()
    if (!response.ok) {
      let problem = null
      try {
        problem = await response.json()
      } catch {
        problem = null
      }
      throw new ApiError(response.status, problem && typeof problem === 'object' ? problem : {})
    }
    if (raw) return response
    if (response.status === 204) return null
    const type = response.headers.get('Content-Type') || ''
    return type.includes('json') ? response.json() : response.text()
  }

  return {
    get: (path, query, options = {}) => send('GET', path, { ...options, query }),
    post: (path, body, options = {}) => send('POST', path, { ...options, body }),
    put: (path, body, options = {}) => send('PUT', path, { ...options, body }),
    patch: (path, body, options = {}) => send('PATCH', path, { ...options, body }),
    /** The key an action would be sent with now (kept until an answer), for tests and diagnostics. */
    pendingKey: (action) => storage.getItem(KEY_PREFIX + action),
    send,
  }
}

/** A problem in the reader's language: by its code, else by what kind of failure it was, never raw English. */
export function problemMessage(t, te, error) {
  const problem = error?.problem || {}
  const code = error?.code ?? problem.code
  const params = { ...problem }
  if (code && te(`problems.${code}`)) return t(`problems.${code}`, params)
  const status = error?.status ?? problem.status
  if (status === 0) return t('problems.network_error')
  if (status === 401) return t('problems.missing_token')
  if (status === 403) return t('problems.forbidden')
  if (status === 404) return t('problems.not_found')
  if (status === 409) return t('problems.conflict')
  if (status === 422) return t('problems.validation_failed')
  if (status === 429) return t('problems.too_many_requests')
  if (status >= 500) return t('problems.server_error')
  return t('problems.generic')
}
