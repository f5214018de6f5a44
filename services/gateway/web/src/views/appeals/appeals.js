// Which line of my points history I may appeal (积分异议申诉), and as what: an award I received (or its cap cut),
// a penalty, an expiry of my points. Compensations and ordinary moves are not decisions about me.
export function appealable(entry) {
  if (entry.unit !== 'PT') return null
  const ref = entry.reference || {}
  if (entry.workflow === 'award' && entry.delta > 0) return { kind: 'award', subject: entry.transfer_id }
  if (ref.kind === 'expiry' && entry.delta < 0) return { kind: 'expiry', subject: entry.transfer_id }
  if (ref.kind === 'penalty' && ref.id && ref.id !== 'debt' && entry.delta < 0) return { kind: 'penalty', subject: ref.id }
  return null
}
