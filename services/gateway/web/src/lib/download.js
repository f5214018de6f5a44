// A file the API answers (a CSV export) saved through the app's own session: fetched with its bearer token by
// the API client, never by a link the browser would open without it. A file the app makes itself (a dashboard
// table's CSV) is saved the same way, from its text.
import { api } from './session.js'

function save(blob, filename) {
  const url = URL.createObjectURL(blob)
  const link = document.createElement('a')
  link.href = url
  link.download = filename
  document.body.appendChild(link)
  link.click()
  link.remove()
  setTimeout(() => URL.revokeObjectURL(url), 1000)
}

export async function saveFile(path, filename, query) {
  const response = await api.get(path, query, { raw: true })
  save(await response.blob(), filename)
  return response
}

export function saveText(text, filename, type = 'text/csv;charset=utf-8') {
  save(new Blob([text], { type }), filename)
}
