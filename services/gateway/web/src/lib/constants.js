// The services' own vocabularies (services/requests/model.py, services/settlement/model.py).
export const CATEGORIES = ['errands', 'elder_companionship', 'pet_care', 'tutoring', 'repairs', 'medical_escort',
  'environment_cleanup', 'mediation', 'safety_patrol', 'professional_services', 'other']
export const UNITS = ['HOUR', 'PT']
export const URGENCIES = ['low', 'normal', 'high']
export const SERVICE_CLASSES = ['ordinary', 'professional', 'high_risk']
export const REQUEST_STATUSES = ['open', 'accepted', 'in_progress', 'claimed', 'completed', 'cancelled', 'expired',
  'disputed']
export const REDEMPTION_STATES = ['requested', 'completed', 'declined', 'expired', 'reversed']
export const PAGE = 10
