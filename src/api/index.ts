/**
 * The hub's HTTP API and dashboard (DESIGN.md section 9). The hub role mounts it with
 * its own sources and handlers; see ApiServer.
 */
export * from './constants.js'
export * from './types.js'
export { ApiServer, apiTimeouts, startApiServer, type ApiServerInit, type ApiTimeouts } from './server.js'
export { allowedHostNames, hostAllowed } from './host-check.js'
export { apiTokenPath, bearerOf, loadOrCreateApiToken, newApiToken, readApiToken, tokenMatches } from './token.js'
export { availabilityView, bundleView, type AvailabilityWindow } from './availability-view.js'
export { deviceView, ledgerView, pauseWave, startWave, DEVICE_VIEW_EVENTS, type DeviceLedgerLike, type LedgerLike } from './ledger-adapter.js'
export { httpStatusOf } from './http.js'
