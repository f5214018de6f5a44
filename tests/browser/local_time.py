"""A datetime-local field's value `seconds` from now in the browser's own time zone (as the form reads it):
`page.evaluate(LOCAL_IN, seconds)`."""
LOCAL_IN = """(seconds) => { const d = new Date(Date.now() + seconds * 1000); const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`; }"""
