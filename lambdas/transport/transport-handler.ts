// API Gateway proxy event → the Test Server and the transport's status (shared) → JSON response. A
// function of its own, so that the one holding the relays' passwords and SES's send permission is not
// the one that takes every notice in: the intake never loads them.
import * as z from 'zod/mini';
import type { Log } from '../../shared/log';
import { ValidationError } from '../../shared/errors';
import type { TransportDesk } from '../../shared/transport/desk';
import { emailAddress, issuesToDetails } from '../../shared/validation';
import { json, jsonBody } from '../intake/http';
import { type AuthDeps, authenticated, routeRequests, type RouteTable } from '../intake/router';

/** The paths this function serves; API Gateway (infra/cdk/constructs/api.ts) sends every other to the intake. */
export const TRANSPORT_PATH = '/v1/transport';

/** Whether API Gateway hands `path` to this function: /v1/transport and everything under it. */
export const isTransportPath = (path: string): boolean => path === TRANSPORT_PATH || path.startsWith(`${TRANSPORT_PATH}/`);

export type TransportHandlerDeps = AuthDeps & { desk: TransportDesk; log: Log };

const transportTestBody = z.strictObject({ to: z.optional(emailAddress) });

const routes: Array<RouteTable<TransportHandlerDeps>> = [
  {
    pattern: /^\/v1\/transport$/,
    methods: { GET: async (deps, event) => json(200, await deps.desk.status(await authenticated(deps, event))) },
  },
  {
    pattern: /^\/v1\/transport\/test$/,
    methods: {
      POST: async (deps, event) => {
        const institution = await authenticated(deps, event);
        const body = transportTestBody.safeParse(event.body ? jsonBody(event) : {});
        if (!body.success) {
          throw new ValidationError('The body of a transport test is {} or {"to": "address"}.', issuesToDetails(body.error.issues), 'validation_failed');
        }
        return json(200, await deps.desk.test(institution, body.data.to));
      },
    },
  },
];

/**
 * Makes the transport handler from its dependencies.
 * @example
 * export const handler = makeTransportHandler(createTransportFunctionDeps(process.env));
 */
export const makeTransportHandler = (deps: TransportHandlerDeps) => routeRequests(routes, deps);
