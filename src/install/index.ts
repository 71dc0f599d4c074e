/**
 * The installer's public API (DESIGN.md section 8), for the device role and the
 * `storemesh device install --once` command.
 */
export { Installer, defaultInstallLimits, exitCodeOfReason, installPhaseOf, outcomeOf } from './installer.js'
export type { ImageSource, InstallerOptions, InstallLimits, InstallOutcome, InstallOutcomeKind, InstallRequest, JournalSink, ResumeOptions } from './installer.js'
export { Journal, journalDirOf, DEFAULT_JOURNAL_READ_LIMIT } from './journal.js'
export type { JournalEntry, JournalEvent, JournalOptions } from './journal.js'
export { otherSlot, isSlotName } from './backend.js'
export type { BootAttempts, BootBackend, BootStatus, NextBootOptions, RebootResult, SlotName } from './backend.js'
export { createBackend, backendConfigSchema, BACKEND_KINDS, FileBackend, CommandBackend, GrubEditenvBackend, UbootBackend, RaucBackend } from './backends/index.js'
export type { BackendConfig, BackendKind, BackendSeams } from './backends/index.js'
export { defaultHealthConfig, defaultHealthDeps, healthConfigFromPolicy, runHealthTrial, checkOnce, watchdogMsOf } from './health.js'
export type { HealthCheckConfig, HealthDeps, HealthVerdict, PolicyVerification } from './health.js'
export { writeImage, verifySlot } from './writer.js'
export type { ExpectedImage } from './writer.js'
export { INSTALL_STATES, INSTALL_EVENTS, TRANSITIONS, nextState, isTrialState, isTerminalState } from './state-machine.js'
export type { InstallEvent, InstallRecord, InstallState } from './state-machine.js'
export { StateStore, stateFileOf } from './state-store.js'
