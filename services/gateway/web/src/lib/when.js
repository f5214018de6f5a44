// Times in a form: <input type="datetime-local"> speaks the browser's local time without a zone; the services
// want ISO 8601 with one. Pure (tests/when.test.js).

const pad = (n) => String(n).padStart(2, '0')

/** "2026-11-29T15:30:05" (local) for a Date, for a datetime-local field with step="1". */
export function localInput(date) {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:`
    + `${pad(date.getMinutes())}:${pad(date.getSeconds())}`
}

/** The ISO time (with the local offset) a datetime-local field's text means; null when empty or unreadable. */
export function isoFromLocal(text) {
  if (!text) return null
  const date = new Date(text)
  if (Number.isNaN(date.getTime())) return null
  const offset = -date.getTimezoneOffset()
  const sign = offset >= 0 ? '+' : '-'
  const abs = Math.abs(offset)
  return `${localInput(date)}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
}
