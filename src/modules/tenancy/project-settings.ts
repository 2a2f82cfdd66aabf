/**
 * Per-project settings an operator may change: limit overrides and allowed browser origins. The request
 * budgets' overrides are listed here; every other module declares its overridable limits with its config
 * variables (perProject), and the PATCH schema is built from both.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import type { ProjectLimit } from '../../internal/config/section.js';

const Override = Type.Union([Type.Integer({ minimum: 0, maximum: 100_000_000 }), Type.Null()]);

const BudgetOverrides = {
    rate_limit_per_min: Type.Optional(Override),
    secret_key_rate_limit_per_min: Type.Optional(Override),
    auth_rate_limit_per_min: Type.Optional(Override),
    project_auth_rate_limit_per_min: Type.Optional(Override),
    auth_failures_per_email_ip: Type.Optional(Override),
    auth_failures_per_email: Type.Optional(Override),
    bad_credentials_per_ip_per_min: Type.Optional(Override),
    ws_max_connections_per_tenant: Type.Optional(Override),
    ws_max_connections_per_player: Type.Optional(Override),
};

/** The PATCH body: the budgets' overrides and every module's declared ones, each within its variable's bounds. */
export function projectSettingsPatch(declared: readonly ProjectLimit[]) {
  const overrides: Record<string, TSchema> = { ...BudgetOverrides };
  for (const limit of declared) {
    overrides[limit.key] = Type.Optional(Type.Union([Type.Integer({ minimum: limit.min, maximum: limit.max }), Type.Null()]));
  }
  return Type.Object(
    {
      limits: Type.Optional(Type.Object(overrides, { additionalProperties: false })),
      cors_origins: Type.Optional(
        Type.Array(Type.String({ pattern: '^https?://[^/\\s]+$', maxLength: 255 }), { maxItems: 50, uniqueItems: true }),
      ),
    },
    { additionalProperties: false },
  );
}

export interface ProjectSettingsPatch {
  limits?: Record<string, number | null>;
  cors_origins?: string[];
}

/** The budgets' override names (typed); modules' declared ones are plain strings. */
export type LimitName = keyof typeof BudgetOverrides | (string & {});

export interface ProjectSettings {
  limits: Partial<Record<LimitName, number>>;
  cors_origins: string[];
}

export function normaliseSettings(raw: unknown): ProjectSettings {
  const value = (raw ?? {}) as Partial<ProjectSettings>;
  return { limits: value.limits ?? {}, cors_origins: value.cors_origins ?? [] };
}

/** Applies a PATCH: given limits replace, null removes an override, absent keys stay. */
export function mergeSettings(current: ProjectSettings, patch: ProjectSettingsPatch): ProjectSettings {
  const limits: Partial<Record<LimitName, number>> = { ...current.limits };
  for (const [name, value] of Object.entries(patch.limits ?? {}) as [LimitName, number | null][]) {
    if (value === null) delete limits[name];
    else limits[name] = value;
  }
  return { limits, cors_origins: patch.cors_origins ?? current.cors_origins };
}
