// A redemption I started (a mall order, a bill paid in points): the ledger opens its charge once it hears of it
// over Kafka; this waits for that charge so I can approve it on my phone.
import { api } from './session.js'

/** Calls onTransfer(transfer, redemption) once the ledger's charge exists; returns a function that stops waiting. */
export function awaitRedemptionTransfer(redemptionId, onTransfer, everyMs = 700) {
  let timer = null
  let stopped = false
  const step = async () => {
    const redemption = await api.get(`/settlement/v1/redemptions/${redemptionId}`).catch(() => null)
    if (stopped) return
    if (redemption?.transfer_id) {
      const transfer = await api.get(`/ledger/v1/transfers/${redemption.transfer_id}`).catch(() => null)
      if (stopped) return
      if (transfer) {
        onTransfer(transfer, redemption)
        return
      }
    }
    timer = setTimeout(step, everyMs)
  }
  step()
  return () => {
    stopped = true
    clearTimeout(timer)
  }
}
