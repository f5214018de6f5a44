// People, not ids: display names (and grids) from the community directory, fetched in batches and cached.
import { reactive } from 'vue'
import { api, session } from './session.js'

const names = reactive({})
let directoryMissing = false
const queued = new Set()
let timer = null

async function flush() {
  timer = null
  const ids = [...queued]
  queued.clear()
  if (!ids.length || directoryMissing) return
  try {
    const page = await api.get('/community/v1/directory', { ids: ids.join(',') })
    for (const member of page.members || []) names[member.member_id] = member
  } catch (error) {
    if (error.status === 404) directoryMissing = true // an older community service: names stay generic
  }
}

/** The person behind a member id, or null until known (a generic word is shown meanwhile). */
export function person(memberId) {
  if (!memberId) return null
  if (memberId === session.memberId && session.profile) {
    return names[memberId] || { member_id: memberId, display_name: session.profile.display_name }
  }
  if (!(memberId in names) && !directoryMissing) {
    names[memberId] = null
    queued.add(memberId)
    if (!timer) timer = setTimeout(flush, 20)
  }
  return names[memberId]
}

/** Search neighbours by name within my community. */
export async function findPeople(q) {
  const page = await api.get('/community/v1/directory', { q, limit: 20 })
  for (const member of page.members || []) names[member.member_id] = member
  return (page.members || []).filter((m) => m.member_id !== session.memberId && m.active !== false)
}

export async function loadProfile() {
  if (!session.profile) session.profile = await api.get('/community/v1/members/me')
  return session.profile
}
