// The transport desk: GET /v1/transport (configuration and last test, never a secret) and the
// "Test Server" of POST /v1/transport/test.
import type { InstitutionConfig } from '../config/schema';

export interface ServerTestResult {
  server: string;
  ok: boolean;
  reply: string;
}

export interface TransportTestResult {
  ok: boolean;
  server: string | null;
  reply: string;
  servers: ServerTestResult[];
  testedAt: string;
  to: string;
}

export interface TransportDesk {
  status(institution: InstitutionConfig): Promise<unknown>;
  test(institution: InstitutionConfig, body: unknown): Promise<TransportTestResult>;
}
