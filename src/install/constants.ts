/**
 * Defaults of the installer, in one place (DESIGN.md section 8). The CLI and the
 * device role read these same objects, so a flag's default and the code never drift.
 */

/** Folder under the data dir that holds the installer's state file. */
export const INSTALL_DIR_NAME = 'install'
/** The persisted state machine record. */
export const STATE_FILE_NAME = 'state.json'
/** Folder under the data dir that holds the journal's level database. */
export const JOURNAL_DIR_NAME = 'journal'

/** A state file larger than this is corrupt, not read (decoders fail closed). */
export const MAX_STATE_FILE_BYTES = 64 * 1024
/** A boot environment file larger than this is corrupt. */
export const MAX_BOOT_ENV_BYTES = 16 * 1024
/** One journal entry, encoded; a larger one is refused at append. */
export const MAX_JOURNAL_ENTRY_BYTES = 16 * 1024

/**
 * Trial boots of the new slot before the installer gives up and rolls back.
 * @default 3 — the U-Boot `bootlimit` convention of a few tries
 */
export const DEFAULT_MAX_BOOT_ATTEMPTS = 3
/** Times a crash may restart the slot write before the install counts as failed. */
export const DEFAULT_MAX_WRITE_ATTEMPTS = 3
/** The boot environment's own limit (`bootlimit`) for backends that count boots. */
export const DEFAULT_BOOT_LIMIT = DEFAULT_MAX_BOOT_ATTEMPTS

/** Bytes per read when streaming a slot back for verification. */
export const SLOT_READ_CHUNK_BYTES = 1024 * 1024

/** One health probe or hook command that does not answer within this is a failure. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 30_000
/** Output kept from a command (stdout and stderr each); the rest is dropped. */
export const MAX_COMMAND_OUTPUT_BYTES = 64 * 1024

/** Health defaults: the policy's `verification.healthCheck.timeoutSeconds` overrides the budget. */
export const DEFAULT_HEALTH_BUDGET_MS = 120_000
export const DEFAULT_HEALTH_INTERVAL_MS = 2_000
export const DEFAULT_HEALTH_ATTEMPT_TIMEOUT_MS = 10_000
/** Consecutive failed checks after the first pass that count as health lost. */
export const DEFAULT_HEALTH_MAX_CONSECUTIVE_FAILURES = 3
/**
 * The whole trial (boot to commit) must end within this many times its planned
 * length (budget plus observation window), else the watchdog rolls back.
 */
export const WATCHDOG_FACTOR = 2
/** Added to the watchdog so a very short trial still has room for a reboot. */
export const WATCHDOG_SLACK_MS = 60_000

/** Slot names as the installer sees them; backends map them to their own names. */
export const SLOT_NAMES = ['a', 'b'] as const
