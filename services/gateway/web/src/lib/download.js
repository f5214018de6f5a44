// A file the API answers (a CSV export) saved through the app's own session: fetched with its bearer token by
// the API client, never by a link the browser would open without it.
import { api } from './session.js'

export async function saveFile(path, filename, query) {
  const response = await api.get(path, query, { raw: true })
  const url = URL.createObjectURL(await response.blob())
  const link = document.createElement('a')
  link.href = url
  link.download = filename
  document.body.appendChild(link)
  link.click()
  link.remove()
  setTimeout(() => URL.revokeObjectURL(url), 1000)
  return response
}
