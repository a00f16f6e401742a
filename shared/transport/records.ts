// What the service remembers about an institution's transport for IT: the last Test Server run and the
// last time a relay refused our credentials (README: Using the API, GET /v1/transport).

export interface ServerTestResult {
  server: string;
  ok: boolean;
  reply: string;
}

/** The result of a Test Server run (POST /v1/transport/test, notice-relay send-test). */
export interface TransportTestResult {
  ok: boolean;
  /** The server that took the message (`host:port` or `ses`), else the last one tried: whose `reply` this is. */
  server: string;
  /** That server's reply or error. */
  reply: string;
  servers: ServerTestResult[];
  to: string;
}

/** A Test Server run as it is answered and recorded: the fields GET /v1/transport shows. */
export interface TransportTest {
  lastTestedAt: string;
  lastTestResult: TransportTestResult;
}

/** A relay refused the login (535) or an OAuth2 grant was refused. */
export interface AuthFailure {
  at: string;
  server: string;
  code: string;
  message: string;
}

export interface TransportRecord {
  lastTestedAt?: string;
  lastTestResult?: TransportTestResult;
  lastAuthFailure?: AuthFailure;
  /** When a send succeeded again after the last authentication failure. */
  authRecoveredAt?: string;
  /** Sends wait until then: a relay asked to slow down, or its quota ran out. */
  pausedUntil?: string;
  pauseReason?: string;
}

export interface TransportRecords {
  get(institutionId: string): Promise<TransportRecord>;
  recordTest(institutionId: string, test: TransportTest): Promise<void>;
  recordAuthFailure(institutionId: string, failure: AuthFailure): Promise<void>;
  recordAuthRecovered(institutionId: string, at: Date): Promise<void>;
}
