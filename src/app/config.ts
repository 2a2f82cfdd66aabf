/**
 * Configuration from the environment, validated once at start into one typed object that is passed down.
 * Nothing else in the server reads process.env. A bad value throws ConfigError naming the variable.
 *
 * The server's own settings (coreSection) form the top level; each domain declares its variables in its
 * config.ts as a section, names it in its module.ts, and finds its values at config[section.key]. The README's
 * table is rendered from the same sections (src/app/config-table.ts), so no variable goes undocumented.
 */
import { coreSection, type CoreConfig } from '../internal/config/core.js';
import type { Env } from '../internal/config/parse.js';
import type { ProjectLimit } from '../internal/config/section.js';
import type { AnySection } from '../modules/contract.js';
import { modules } from './registry.js';

export { ConfigError } from '../internal/config/parse.js';
export type { CacheBackendKind, CoreConfig, DatabaseDriver, LogLevel } from '../internal/config/core.js';

type Module = (typeof modules)[number];
type SectionOf<M> = M extends { config?: infer Section } ? Exclude<Section, undefined> : never;
type Section = SectionOf<Module>;
type SectionsConfig = {
  [S in Section as S['key']]: S extends { parse(env: Env): infer Values } ? Values : never;
};

export type Config = CoreConfig & SectionsConfig;

/** The domain modules' sections, in registry order (the README's tables follow it). */
function domainSections(): AnySection[] {
  return modules.flatMap((module): AnySection[] => (module.config ? [module.config] : []));
}

/** The limits a project may override in its settings, as the modules' sections declare them. */
export function projectLimits(): ProjectLimit[] {
  return domainSections().flatMap((section) => section.variables.flatMap((variable) => (variable.perProject ? [variable.perProject] : [])));
}

/** Every section, the core one first: what the README's table is rendered from. */
export function configSections(): readonly AnySection[] {
  return [coreSection, ...domainSections()];
}

export function loadConfig(env: Env = process.env): Config {
  const config: Record<string, unknown> = { ...coreSection.parse(env) };
  for (const section of domainSections()) {
    if (section.key in config) throw new Error(`configuration: section ${section.key} would overwrite a setting of that name`);
    config[section.key] = section.parse(env);
  }
  // SectionsConfig states which key holds which section's values; the loop above fills them in.
  return config as unknown as Config;
}
