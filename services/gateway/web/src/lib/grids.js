import { ref } from 'vue'
import { api, session } from './session.js'

const grids = ref(null)

/** My community's grids (building/area), loaded once. */
export async function loadGrids() {
  if (!grids.value) {
    try {
      grids.value = await api.get(`/community/v1/communities/${session.communityId}/grids`)
    } catch {
      grids.value = []
    }
  }
  return grids.value
}

export function gridName(id) {
  return grids.value?.find((g) => g.grid_id === id)?.name || ''
}

export { grids }
