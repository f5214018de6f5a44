// Who is signed in: the bearer token from login and what it says (member, community, roles, merchant).
import { reactive } from 'vue'
import { createApi } from './api.js'

const TOKEN = 'tb.token'

function decode(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')
    const json = decodeURIComponent(Array.from(atob(part), (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
      .join(''))
    return JSON.parse(json)
  } catch {
    return null
  }
}

export const STAFF_ROLES = ['organizer', 'grid_worker', 'admin']

export const session = reactive({
  token: sessionStorage.getItem(TOKEN),
  get claims() {
    return this.token ? decode(this.token) : null
  },
  get memberId() {
    return this.claims?.sub || null
  },
  get communityId() {
    return this.claims?.cid || null
  },
  get roles() {
    return this.claims?.roles || []
  },
  get merchantId() {
    return this.claims?.mid || null
  },
  get signedIn() {
    const exp = this.claims?.exp
    return Boolean(this.token && (!exp || exp * 1000 > Date.now()))
  },
  /** Where the person works: the shop face for a shop's or property company's staff, else the resident face. */
  get face() {
    return this.roles.includes('merchant') && this.merchantId ? 'shop' : 'resident'
  },
  get isAdmin() {
    return this.roles.includes('admin')
  },
  get isStaff() {
    return this.roles.some((r) => STAFF_ROLES.includes(r))
  },
  profile: null,
})

export function signIn(token) {
  sessionStorage.setItem(TOKEN, token)
  session.token = token
  session.profile = null
}

let onSignedOut = () => {}
export function whenSignedOut(callback) {
  onSignedOut = callback
}

export function signOut() {
  sessionStorage.removeItem(TOKEN)
  session.token = null
  session.profile = null
  onSignedOut()
}

export const api = createApi({
  storage: sessionStorage,
  getToken: () => session.token,
  onUnauthorized: signOut,
})
