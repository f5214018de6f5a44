// What the staff screens share: the community's rules in effect (their activity types and penalty reasons) and
// the waiting award claims.
import { api, session } from '../../lib/session.js'

export const rulesBase = () => `/community/v1/communities/${session.communityId}/points-rules`

/** The rule version in effect now, with its whole rule set. */
export const currentRules = () => api.get(`${rulesBase()}/current`)

/** Award claims waiting for me (a grid worker: my grid's). */
export async function awardQueue() {
  const waiting = await api.get('/ledger/v1/transfers/awaiting', { limit: 100 })
  return waiting.filter((t) => t.workflow === 'award')
}

export const canPenalise = () => session.roles.includes('admin') || session.roles.includes('grid_worker')
