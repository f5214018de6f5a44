// A separate entry of index.html that runs before the app's bundle has even arrived: a resident opening home asks for the balances at once, so on a slow
// phone the answer arrives while the app is still starting (the home screen takes this answer if it is good).
const token = sessionStorage.getItem('tb.token')
if (token && (location.pathname === '/r' || location.pathname === '/r/')) {
  window.__early = {
    balances: fetch('/api/ledger/v1/balances', {
      headers: { Accept: 'application/json', Authorization: `Bearer ${token}` },
    }).then((response) => (response.ok ? response.json() : null)).catch(() => null),
  }
}
