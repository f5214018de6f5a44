import { ref } from 'vue'
import { api, session } from './session.js'

const merchant = ref(null)

/** The shop (or property company) the signed-in staff member works for. */
export async function loadMerchant() {
  if (!merchant.value || merchant.value.merchant_id !== session.merchantId) {
    merchant.value = await api.get(`/settlement/v1/merchants/${session.merchantId}`)
  }
  return merchant.value
}

export { merchant }
