// Names of the rules' own words (activity types, bonuses, penalty reasons): the catalogue's for the defaults,
// the word itself for one a community made up.
import { useI18n } from 'vue-i18n'

export function useTypeName() {
  const { t, te } = useI18n()
  return (name) => (te(`staff.types.${name}`) ? t(`staff.types.${name}`) : name)
}
