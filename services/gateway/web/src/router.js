// One entry per role face: /r/… for residents, /shop/… for a shop's or the property company's staff, /admin/… for a
// community's admins (its console; admins are residents too and keep the resident face). Organizers and grid
// workers (and admins) have the staff face, /staff/…: their queues, activities, penalties and their grid's dashboard.
import { createRouter, createWebHistory } from 'vue-router'
import { session } from './lib/session.js'
// The resident home is in the first bundle: on a slow phone network a second round trip costs most of a second.
import Home from './views/resident/Home.vue'

const resident = (path, name, load) => ({ path, name, component: load, meta: { face: 'resident' } })
const shop = (path, name, load) => ({ path, name, component: load, meta: { face: 'shop' } })
const admin = (path, name, load) => ({ path, name, component: load, meta: { face: 'admin' } })
const staff = (path, name, load) => ({ path, name, component: load, meta: { face: 'staff' } })

export const routes = [
  { path: '/login', name: 'login', component: () => import('./views/Login.vue'), meta: { public: true } },
  { path: '/', name: 'start', redirect: () => (session.face === 'shop' ? { name: 'till' } : { name: 'home' }) },
  resident('/r', 'home', Home),
  resident('/r/awaiting', 'awaiting', () => import('./views/resident/Awaiting.vue')),
  resident('/r/requests', 'browse', () => import('./views/resident/Browse.vue')),
  resident('/r/requests/new', 'post', () => import('./views/resident/Post.vue')),
  resident('/r/requests/:id', 'request', () => import('./views/resident/RequestDetail.vue')),
  resident('/r/mine', 'mine', () => import('./views/resident/Mine.vue')),
  resident('/r/gift', 'gift', () => import('./views/resident/Gift.vue')),
  resident('/r/activities', 'activities', () => import('./views/resident/Activities.vue')),
  resident('/r/mall', 'mall', () => import('./views/resident/Mall.vue')),
  resident('/r/pay-code', 'paycode', () => import('./views/resident/PayCode.vue')),
  resident('/r/scan', 'scan', () => import('./views/resident/Scan.vue')),
  resident('/r/history', 'history', () => import('./views/resident/History.vue')),
  resident('/r/suggestions', 'suggestions', () => import('./views/resident/Suggestions.vue')),
  resident('/r/notifications', 'notifications', () => import('./views/resident/Notifications.vue')),
  resident('/r/approve/:transferId', 'approve', () => import('./views/resident/Approve.vue')),
  // 联网转账: pay a resident of another deployment (Credit Commons), and my transfers with other nodes
  resident('/r/federation', 'federation', () => import('./views/resident/Federation.vue')),
  resident('/r/partners', 'partnerNeighbour', () => import('./views/partners/PartnerNeighbour.vue')),
  resident('/r/charges/:chargeId', 'charge', () => import('./views/resident/Charge.vue')),
  resident('/r/property-fee', 'propertyfee', () => import('./views/resident/PropertyFee.vue')),
  // appeals (积分异议申诉): mine with every step, one appeal, and filing one from a line of my points history
  resident('/r/appeals', 'appeals', () => import('./views/appeals/MyAppeals.vue')),
  resident('/r/appeals/new', 'fileAppeal', () => import('./views/appeals/FileAppeal.vue')),
  { ...resident('/r/appeals/:id', 'appeal', () => import('./views/appeals/MyAppeals.vue')), props: true },
  shop('/shop', 'till', () => import('./views/shop/Till.vue')),
  shop('/shop/redemptions', 'redemptions', () => import('./views/shop/Redemptions.vue')),
  shop('/shop/catalogue', 'catalogue', () => import('./views/shop/Catalogue.vue')),
  shop('/shop/statements', 'statements', () => import('./views/shop/Statements.vue')),
  // grid work: 随手拍 (any resident), the grid worker's queue of reports and duties, a member's points loans
  resident('/r/reports', 'reports', () => import('./views/grid/Report.vue')),
  resident('/r/loans', 'loans', () => import('./views/grid/Loans.vue')),
  staff('/staff/grid', 'gridQueue', () => import('./views/grid/Queue.vue')),
  admin('/admin/grid-work', 'gridAdmin', () => import('./views/grid/AdminGridWork.vue')),
  admin('/admin', 'console', () => import('./views/admin/Console.vue')),
  admin('/admin/partners', 'partners', () => import('./views/partners/Agreements.vue')),
  admin('/admin/trust-lines', 'trustLines', () => import('./views/partners/TrustLines.vue')),
  admin('/admin/clearings', 'clearings', () => import('./views/partners/Clearings.vue')),
  // The staff console (issue 15): the staff face, and the admin's members, rules, money and audit screens.
  staff('/staff', 'staffHome', () => import('./views/staff/Home.vue')),
  staff('/staff/activities', 'staffActivities', () => import('./views/staff/Activities.vue')),
  staff('/staff/awards', 'staffAwards', () => import('./views/staff/Awards.vue')),
  staff('/staff/penalties', 'staffPenalties', () => import('./views/staff/Penalties.vue')),
  // a grid worker's appeals (their grid's awards, cap cuts, penalties: the ledger limits the list): the admin's screen
  staff('/staff/appeals', 'staffAppeals', () => import('./views/appeals/AdminAppeals.vue')),
  admin('/admin/members', 'members', () => import('./views/admin/Members.vue')),
  admin('/admin/rules', 'rules', () => import('./views/admin/Rules.vue')),
  admin('/admin/credit', 'credit', () => import('./views/admin/Credit.vue')),
  admin('/admin/money', 'money', () => import('./views/admin/Money.vue')),
  admin('/admin/audit', 'audit', () => import('./views/admin/Audit.vue')),
  // The economy's dashboards (charts, their tables and CSVs): the community's for admins, a grid worker's grid.
  { ...admin('/admin/dashboards', 'dashboards', () => import('./views/admin/Dashboards.vue')), props: { scope: 'community' } },
  { ...staff('/staff/dashboard', 'staffDashboard', () => import('./views/admin/Dashboards.vue')), props: { scope: 'grid' } },
  admin('/admin/appeals', 'adminAppeals', () => import('./views/appeals/AdminAppeals.vue')),
  // 公示栏: the public honour board for a screen in the community hall (no sign-in).
  { path: '/board/:communityId', name: 'honourBoard', component: () => import('./views/public/HonourBoard.vue'),
    meta: { public: true } },
  { path: '/:rest(.*)*', redirect: { name: 'start' } },
]

export const router = createRouter({
  history: createWebHistory(),
  routes,
  scrollBehavior: () => ({ top: 0 }),
})

router.beforeEach((to) => {
  if (to.meta.public) return true
  if (!session.signedIn) return { name: 'login', query: to.fullPath !== '/' ? { next: to.fullPath } : {} }
  if (to.meta.face === 'shop' && session.face !== 'shop') return { name: 'home' }
  if (to.meta.face === 'admin' && !session.isAdmin) return { name: 'start' }
  if (to.meta.face === 'staff' && !session.isStaff) return { name: 'start' }
  return true
})
