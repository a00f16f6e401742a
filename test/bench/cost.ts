// awsCostPer1000: US dollars of AWS charges per 1,000 delivered notices, other than SES's own $0.10,
// from what a happy-path run counted (requests, DynamoDB capacity, Lambda invocations and durations,
// log bytes) at published prices.
import { type Counts, requestsOf } from './counting';
import type { HappyPath } from './requests';

/**
 * Published us-east-1 on-demand prices, USD (aws.amazon.com/<service>/pricing): DynamoDB on-demand
 * (standard table class), SQS standard queues, Lambda on arm64, API Gateway REST APIs (first tier),
 * CloudWatch Logs standard ingestion. Free tiers are left out.
 */
export const PRICES = {
  dynamoWriteRequestUnit: 0.625 / 1e6,
  dynamoReadRequestUnit: 0.125 / 1e6,
  sqsRequest: 0.4 / 1e6,
  lambdaGbSecondArm64: 0.0000133334,
  lambdaRequest: 0.2 / 1e6,
  apiGatewayRestRequest: 3.5 / 1e6,
  logsIngestionPerGb: 0.5,
} as const;

/**
 * Lambda writes START, END and REPORT lines for every invocation into the function's log group
 * (about 250 bytes with the REPORT figures); CloudWatch Logs bills them like any other line.
 */
export const PLATFORM_LOG_BYTES_PER_INVOCATION = 250;

export interface CostBreakdown {
  dynamoWrites: number;
  dynamoReads: number;
  sqs: number;
  lambdaRequests: number;
  lambdaDuration: number;
  apiGateway: number;
  logs: number;
  total: number;
}

/** Write and read request units of a run: reported by DynamoDB (table), estimated (indexes, Query floor). */
export const requestUnits = (counts: Counts): { write: number; read: number } => ({
  write: counts.writeUnits + counts.indexWriteUnits,
  read: counts.readUnits + counts.queryFloorUnits,
});

/** What one kind of write costs per notice (Counts.writesBy). */
export interface WriteCost {
  /** `<Command> <what>`: `BatchWriteItem state item`, `UpdateItem lease`… */
  kind: string;
  itemsPerNotice: number;
  /** The table's write units per notice. */
  tableUnits: number;
  /** The indexes' write units per notice, by index (estimated). */
  indexUnits: Record<string, number>;
  /** Bytes of an item of this kind, on average (DynamoDB's count); 0 for updates. */
  bytesEach: number;
  dollarsPer1000: number;
}

/** The DynamoDB write units and dollars per 1,000 notices of each kind of write, costliest first. */
export const writeCostsPer1000 = (run: HappyPath): WriteCost[] =>
  Object.entries(run.counts.writesBy)
    .map(([kind, share]) => {
      const perNotice = (n: number) => n / run.notices;
      const indexTotal = Object.values(share.indexUnits).reduce((sum, n) => sum + n, 0);
      return {
        kind,
        itemsPerNotice: perNotice(share.items),
        tableUnits: perNotice(share.tableUnits),
        indexUnits: Object.fromEntries(Object.entries(share.indexUnits).map(([index, n]) => [index, perNotice(n)])),
        bytesEach: share.bytes / share.items,
        dollarsPer1000: perNotice(share.tableUnits + indexTotal) * PRICES.dynamoWriteRequestUnit * 1000,
      };
    })
    .sort((a, b) => b.dollarsPer1000 - a.dollarsPer1000);

/** Dollars per 1,000 delivered notices, by what they pay for. */
export const costPer1000 = (run: HappyPath): CostBreakdown => {
  const per1000 = 1000 / run.notices;
  const units = requestUnits(run.counts);
  const functions = Object.values(run.functions);
  const invocations = functions.reduce((sum, f) => sum + f.invocations, 0);
  const gbSeconds = functions.reduce((sum, f) => sum + (f.memoryMb / 1024) * (f.billedMs / 1000), 0);
  const logBytes = run.logBytes + invocations * PLATFORM_LOG_BYTES_PER_INVOCATION;
  const parts = {
    dynamoWrites: units.write * PRICES.dynamoWriteRequestUnit,
    dynamoReads: units.read * PRICES.dynamoReadRequestUnit,
    sqs: requestsOf(run.counts, 'SQS') * PRICES.sqsRequest,
    lambdaRequests: invocations * PRICES.lambdaRequest,
    lambdaDuration: gbSeconds * PRICES.lambdaGbSecondArm64,
    apiGateway: requestsOf(run.counts, 'APIGateway') * PRICES.apiGatewayRestRequest,
    logs: (logBytes / 1024 ** 3) * PRICES.logsIngestionPerGb,
  };
  const scaled = Object.fromEntries(Object.entries(parts).map(([name, dollars]) => [name, dollars * per1000])) as Omit<CostBreakdown, 'total'>;
  return { ...scaled, total: Object.values(scaled).reduce((sum, dollars) => sum + dollars, 0) };
};
