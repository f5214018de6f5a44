// A button's work: busy while it runs, its problem said inline in the reader's language, its success too.
import { computed, ref } from 'vue'
import { useI18n } from 'vue-i18n'
import { problemMessage } from './api.js'

export function useAction() {
  const { t, te } = useI18n()
  const busy = ref(false)
  const error = ref('')
  const done = ref('')
  async function run(work, successKey = '', params = {}) {
    busy.value = true
    error.value = ''
    done.value = ''
    try {
      const result = await work()
      if (successKey) done.value = t(successKey, params)
      return result
    } catch (problem) {
      error.value = problemMessage(t, te, problem)
      return undefined
    } finally {
      busy.value = false
    }
  }
  return { busy, error, done, run, say: (error_) => problemMessage(t, te, error_) }
}

/** Load something for a screen: loading flag, result, error message. */
export function useLoad(work) {
  const { t, te } = useI18n()
  const loading = ref(true)
  const data = ref(null)
  const error = ref('')
  const failure = ref(null)
  async function load(...args) {
    loading.value = true
    error.value = ''
    failure.value = null
    try {
      data.value = await work(...args)
    } catch (problem) {
      failure.value = problem
      error.value = problemMessage(t, te, problem)
    } finally {
      loading.value = false
    }
    return data.value
  }
  return { loading, data, error, failure, load }
}

/**
 * A cursor-paged list (`{ items, next_cursor }` answered by `work(cursor)`, the services' keyset convention):
 * `load()` (re)loads the first page, `more()` appends the next one; `items` holds every item loaded so far,
 * `hasMore` says whether there is a next page. A `more()` while a page is loading does nothing (no page twice).
 */
export function usePages(work) {
  const items = ref([])
  const next = ref(null)
  const page = useLoad(async (cursor) => {
    const answer = await work(cursor)
    items.value = cursor ? [...items.value, ...answer.items] : answer.items
    next.value = answer.next_cursor
    return answer
  })
  return {
    ...page,
    items,
    hasMore: computed(() => Boolean(next.value)),
    load: () => page.load(null),
    more: () => (next.value && !page.loading.value ? page.load(next.value) : Promise.resolve(null)),
    // A change to the items already shown (one decided, one marked), keeping every page loaded so far: the
    // cursor points past the last item shown, so the next page is still the right one.
    change: (edit) => { items.value = edit(items.value) },
  }
}
