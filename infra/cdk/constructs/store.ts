// The notice table: on-demand, point-in-time recovery, TTL for retention, and the indexes of
// shared/store/table.ts (the same definition the local runtime creates on dynalite).
import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { INDEXES, PARTITION_KEY, TTL_ATTRIBUTE } from '../../../shared/store/table';

/** Days of point-in-time recovery. */
const PITR_DAYS = 7;

/** Attribute types of the index keys: the due index sorts by epoch seconds, the others by text. */
const keyType = (attribute: string): AttributeType => (attribute === INDEXES.due.sortKey ? AttributeType.NUMBER : AttributeType.STRING);

export class NoticeTable extends Construct {
  public readonly table: Table;

  public constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = new Table(this, 'Table', {
      partitionKey: { name: PARTITION_KEY, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      // A week of recovery, not the default 35 days: a deleted notice (retention.days) should not stay
      // restorable for five weeks more, since libraries keep as little patron data as they can.
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true, recoveryPeriodInDays: PITR_DAYS },
      timeToLiveAttribute: TTL_ATTRIBUTE,
      encryption: TableEncryption.AWS_MANAGED,
      // Notices are the institution's records: deleting the stack must not delete them. A first deploy
      // that rolls back removes it, so that the next try does not trip over it.
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
    for (const [indexName, index] of Object.entries(INDEXES)) {
      this.table.addGlobalSecondaryIndex({
        indexName,
        partitionKey: { name: index.partitionKey, type: keyType(index.partitionKey) },
        sortKey: { name: index.sortKey, type: keyType(index.sortKey) },
        projectionType: ProjectionType.KEYS_ONLY,
      });
    }
  }
}
