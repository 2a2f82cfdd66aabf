/** Player auth (/v1/auth/*): sign-in routes take a publishable or secret key; the rest a player token. */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { authOf, scopeOf, type CredentialGate } from '../../http/credential-gate.js';
import { Id, Timestamp } from '../../http/schemas.js';
import { unauthorized } from '../../internal/errors/app-error.js';
import type { AuthService } from './auth-service.js';
import type { SignInBudgets } from './sign-in-budgets.js';
import type { SigningKeyStore } from './signing-keys.js';

const Email = Type.String({ minLength: 3, maxLength: 320, pattern: '^[^\\s@]+@[^\\s@]+$' });
const Password = Type.String({ minLength: 8, maxLength: 256 });
const Username = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$' });
const Player = Type.Object(
  { id: Id, email: Type.Union([Type.String(), Type.Null()]), username: Type.Union([Type.String(), Type.Null()]), created_at: Timestamp },
  { additionalProperties: false },
);
const Pair = {
  access_token: Type.String(),
  refresh_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer(),
};
const SignedIn = Type.Object({ player: Player, ...Pair }, { additionalProperties: false });
const TokenPair = Type.Object(Pair, { additionalProperties: false });
const NoContent = Type.Null({ description: 'Done.' });

const SignupBody = Type.Object({ email: Email, password: Password, username: Type.Optional(Username) }, { additionalProperties: false });
const LoginBody = Type.Object({ email: Email, password: Type.String({ minLength: 1, maxLength: 256 }) }, { additionalProperties: false });
const DeviceBody = Type.Object({ device_id: Type.String({ minLength: 16, maxLength: 128, pattern: '^[\\x21-\\x7e]+$' }) }, { additionalProperties: false });
const RefreshBody = Type.Object({ refresh_token: Type.String({ minLength: 1, maxLength: 256 }) }, { additionalProperties: false });
const PasswordBody = Type.Object({ current_password: Type.String({ minLength: 1, maxLength: 256 }), new_password: Password }, { additionalProperties: false });
const LinkBody = Type.Object({ email: Email, password: Password }, { additionalProperties: false });

export interface AuthRouteDeps {
  auth: AuthService;
  gate: CredentialGate;
  budgets: SignInBudgets;
  keys: SigningKeyStore;
}

const tags = ['player auth'];

export async function authRoutes(app: FastifyInstance, deps: AuthRouteDeps): Promise<void> {
  app.get('/.well-known/jwks.json', { schema: { operationId: 'getJwks', tags, response: { 200: Type.Object({ keys: Type.Array(Type.Record(Type.String(), Type.Unknown())) }) } } }, async (_request, reply) => {
    await deps.keys.ensureLoaded();
    reply.header('cache-control', 'public, max-age=60');
    return deps.keys.jwks();
  });

  await app.register(async (signIn) => {
    deps.gate(signIn, ['publishable', 'secret']);
    // Publishable keys are public, so their sign-ins are budgeted per client IP under the project's ceiling.
    // A secret key is the studio's own server signing players in from one address: its key budget applies.
    const admit = async (request: FastifyRequest, reply: FastifyReply) => {
      if (authOf(request).kind === 'publishable') await deps.budgets.admit(reply, scopeOf(request), request.ip);
    };

    signIn.post<{ Body: Static<typeof SignupBody> }>(
      '/v1/auth/signup',
      { schema: { operationId: 'signup', tags, body: SignupBody, response: { 201: SignedIn, 409: { $ref: 'Problem#' } } } },
      async (request, reply) => {
        await admit(request, reply);
        return reply.code(201).send(await deps.auth.signup(scopeOf(request), request.body));
      },
    );

    signIn.post<{ Body: Static<typeof LoginBody> }>(
      '/v1/auth/login',
      { schema: { operationId: 'login', tags, body: LoginBody, response: { 200: SignedIn } } },
      async (request, reply) => {
        await admit(request, reply);
        const scope = scopeOf(request);
        await deps.budgets.beforeLogin(reply, scope, request.body.email, request.ip);
        const signedIn = await deps.auth.login(scope, request.body);
        if (!signedIn) {
          await deps.budgets.loginFailed(scope, request.body.email, request.ip);
          throw unauthorized('The email or password is wrong.');
        }
        return signedIn;
      },
    );

    signIn.post<{ Body: Static<typeof DeviceBody> }>(
      '/v1/auth/device',
      { schema: { operationId: 'deviceSignIn', tags, body: DeviceBody, response: { 200: SignedIn, 201: SignedIn } } },
      async (request, reply) => {
        await admit(request, reply);
        const { created, signedIn } = await deps.auth.device(scopeOf(request), request.body.device_id);
        return reply.code(created ? 201 : 200).send(signedIn);
      },
    );

    signIn.post<{ Body: Static<typeof RefreshBody> }>(
      '/v1/auth/refresh',
      { schema: { operationId: 'refresh', tags, body: RefreshBody, response: { 200: TokenPair } } },
      async (request, reply) => {
        await admit(request, reply);
        return deps.auth.refresh(scopeOf(request), request.body.refresh_token);
      },
    );
  });

  await app.register(async (player) => {
    deps.gate(player, ['player']);
    const who = (request: FastifyRequest) => {
      const auth = authOf(request);
      return { scope: { tenantId: auth.tenantId, projectId: auth.projectId }, playerId: auth.playerId!, sessionId: auth.sessionId! };
    };

    player.post('/v1/auth/logout', { schema: { operationId: 'logout', tags, response: { 204: NoContent } } }, async (request, reply) => {
      const { scope, sessionId } = who(request);
      await deps.auth.logout(scope, sessionId);
      return reply.code(204).send();
    });

    player.get('/v1/auth/me', { schema: { operationId: 'getMe', tags, response: { 200: Type.Object({ player: Player }, { additionalProperties: false }) } } }, async (request) => {
      const { scope, playerId } = who(request);
      return { player: await deps.auth.me(scope, playerId) };
    });

    player.post<{ Body: Static<typeof PasswordBody> }>(
      '/v1/auth/password',
      { schema: { operationId: 'changePassword', tags, body: PasswordBody, response: { 204: NoContent } } },
      async (request, reply) => {
        const { scope, playerId, sessionId } = who(request);
        await deps.auth.changePassword(scope, playerId, sessionId, request.body.current_password, request.body.new_password);
        return reply.code(204).send();
      },
    );

    player.post<{ Body: Static<typeof LinkBody> }>(
      '/v1/auth/link/email',
      { schema: { operationId: 'linkEmail', tags, body: LinkBody, response: { 200: Type.Object({ player: Player }, { additionalProperties: false }) } } },
      async (request) => {
        const { scope, playerId } = who(request);
        return { player: await deps.auth.linkEmail(scope, playerId, request.body) };
      },
    );

    player.post('/v1/auth/sessions/revoke-all', { schema: { operationId: 'revokeAllSessions', tags, response: { 204: NoContent } } }, async (request, reply) => {
      const { scope, playerId } = who(request);
      await deps.auth.revokeAll(scope, playerId);
      return reply.code(204).send();
    });
  });
}
