/**
 * The module contract: what a domain folder declares in its `module.ts`, and what the app gives it.
 *
 * A module is built once per app, in registry order (src/app/registry.ts). It receives the shared
 * infrastructure, its own config section and, from the modules built before it, exactly the narrow
 * interfaces it names in `needs`. What it offers the others it returns as `provides`, typed by its entry in
 * `Provisions` (each module's `api.ts` adds that entry). Routes are registered after every module is built,
 * each module in its own encapsulated context; background jobs start after the routes and stop first.
 */
import type { FastifyInstance } from 'fastify';
import type { CacheBackend } from '../internal/cache/cache.js';
import type { DeploymentNamespace } from '../internal/cache/namespace.js';
import type { CoreConfig } from '../internal/config/core.js';
import type { ConfigSection, ProjectLimit } from '../internal/config/section.js';
import type { Database } from '../internal/db/database.js';
import type { Logger } from '../internal/telemetry/logger.js';
import type { Metrics } from '../internal/telemetry/metrics.js';
import type { CredentialGate } from '../http/credential-gate.js';

/**
 * What each module offers the others, by module name. Empty here: every module that provides something
 * declares its entry in its own `api.ts` (`declare module '../contract.js' { interface Provisions { … } }`).
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface Provisions {}
export type ProvisionName = keyof Provisions;

/** What every module may use: built by the app before any module. */
export interface Infrastructure {
  db: Database;
  /** The shared cache backend (Redis, or memory on one node). */
  cache: CacheBackend;
  /** A per-node memory cache: the fallback while a shared backend is unreachable (the same object on memory). */
  localCache: CacheBackend;
  logger: Logger;
  metrics: Metrics;
  /** This deployment's namespace (read from the database on first use): keys in shared stores carry it. */
  namespace: DeploymentNamespace;
  /** The server-wide settings (database, cache backend, public URL, timeouts). */
  core: CoreConfig;
  /** Every limit a module lets a project override (its config variables marked perProject). */
  projectLimits: readonly ProjectLimit[];
}

export interface BuildContext<Config, Needs extends ProvisionName> {
  config: Config;
  infra: Infrastructure;
  needs: Pick<Provisions, Needs>;
}

/** What a module's routes are given: the gate that authenticates an encapsulated context. */
export interface RouteContext {
  gate: CredentialGate;
}

/** Work a module runs in the background (sweepers, reconcilers): started after the routes, stopped first. */
export interface BackgroundJob {
  name: string;
  start(): void;
  stop(): Promise<void>;
}

export interface BuiltModule<Provided> {
  provides: Provided;
  /** Registers the module's routes inside its own encapsulated context. */
  routes?(app: FastifyInstance, context: RouteContext): Promise<void>;
  jobs?: readonly BackgroundJob[];
  /**
   * The node is about to stop (SIGTERM): hand work on to the other nodes while the server still listens
   * (readiness already says draining). Runs before close, for every module at once.
   */
  drain?(): Promise<void>;
  /** Releases what build() acquired; modules close in reverse build order, after every job has stopped. */
  close?(): Promise<void>;
}

type ProvidedBy<Name extends string> = Name extends ProvisionName ? Provisions[Name] : undefined;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnySection = ConfigSection<string, any>;
/** The parsed values of a section (undefined for a module without one). */
export type SectionValues<Section> = Section extends ConfigSection<string, infer Values> ? Values : undefined;

export interface DomainModule<Name extends string = string, Section extends AnySection | undefined = AnySection | undefined, Needs extends ProvisionName = ProvisionName> {
  name: Name;
  /** Its environment variables: parsed at start (into config[section.key]), and rendered into the README. */
  config?: Section;
  /** The modules whose interfaces it uses; each must come earlier in the registry. */
  needs: readonly Needs[];
  /** The tables its migrations create and it alone writes (checked against the migrated schema by a test). */
  tables: readonly string[];
  build(context: BuildContext<SectionValues<Section>, Needs>): Promise<BuiltModule<ProvidedBy<Name>>>;
}

/** Declares a module with its types inferred (the registry holds them side by side). */
export function defineModule<Name extends string, Section extends AnySection | undefined = undefined, Needs extends ProvisionName = never>(
  module: DomainModule<Name, Section, Needs>,
): DomainModule<Name, Section, Needs> {
  return module;
}
