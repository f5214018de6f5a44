// Names of report types and duties in the reader's language; a community's own ones (not in the catalogue) show
// as they are named in its rules.
import { useI18n } from 'vue-i18n'

export function useGridNames() {
  const { t, te } = useI18n()
  return {
    typeName: (name) => (te(`grid.types.${name}`) ? t(`grid.types.${name}`) : name),
    dutyName: (name) => (te(`grid.dutyNames.${name}`) ? t(`grid.dutyNames.${name}`) : name),
  }
}
