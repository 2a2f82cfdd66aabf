/**
 * Configuration from the environment, validated once at start into one typed object that is passed down.
 * Nothing else in the server reads process.env. A bad value throws ConfigError naming the variable.
 *
 * The server's own settings (coreSection) form the top level; each domain declares its variables in its
 * config.ts as a section, which lands at config[section.key]. The README's table is rendered from the same
 * sections (src/app/config-table.ts), so a variable cannot be added undocumented.
 */
import { coreSection, type CoreConfig } from '../internal/config/core.js';
import type { Env } from '../internal/config/parse.js';
import type { ConfigSection } from '../internal/config/section.js';
import { authSection } from '../modules/auth/config.js';
import { fleetSection } from '../modules/fleet/config.js';
import { leaderboardsSection } from '../modules/leaderboards/config.js';
import { limitsSection } from '../modules/ratelimit/config.js';
import { realtimeSection } from '../modules/realtime/config.js';
import { storageSection } from '../modules/storage/config.js';

export { ConfigError } from '../internal/config/parse.js';
export type { CacheBackendKind, CoreConfig, DatabaseDriver, LogLevel } from '../internal/config/core.js';

/** The domain modules' sections, in the order the modules are built (the README's tables follow it). */
const domainSections = [limitsSection, authSection, realtimeSection, fleetSection, leaderboardsSection, storageSection] as const;

type AnySection = ConfigSection<string, unknown>;
type SectionsConfig<Sections extends readonly AnySection[]> = {
  [Section in Sections[number] as Section['key']]: Section extends ConfigSection<string, infer T> ? T : never;
};

export type Config = CoreConfig & SectionsConfig<typeof domainSections>;

/** Every section, the core one first: what the README's table is rendered from. */
export function configSections(): readonly AnySection[] {
  return [coreSection, ...domainSections];
}

export function loadConfig(env: Env = process.env): Config {
  const config: Record<string, unknown> = { ...coreSection.parse(env) };
  for (const section of domainSections) {
    if (section.key in config) throw new Error(`configuration: section ${section.key} would overwrite a setting of that name`);
    config[section.key] = section.parse(env);
  }
  // SectionsConfig states which key holds which section's values; the loop above fills them in.
  return config as unknown as Config;
}
