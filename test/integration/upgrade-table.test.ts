// A data directory of an earlier version: its table lacks the address index, which dynalite cannot add to
// a table. npm start copies the table aside, makes it again with every index, and copies it back.
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { startDynamo } from '../../infra/local/emulators';
import { upgradeTable } from '../../infra/local/upgrade-table';
import { newNotice } from '../../shared/lifecycle/transitions';
import { documentsOf } from '../../shared/store/documents';
import { DynamoNoticeStore } from '../../shared/store/dynamo-notice-store';
import { createTableInput } from '../../shared/store/table';
import { aNoticeInput, settingsOf } from '../support/factories';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

/** The table as the version before the address index made it. */
const earlierTable = (tableName: string) => {
  const input = createTableInput(tableName);
  return {
    ...input,
    AttributeDefinitions: input.AttributeDefinitions?.filter((definition) => definition.AttributeName !== 'addrKey'),
    GlobalSecondaryIndexes: input.GlobalSecondaryIndexes?.filter((index) => index.IndexName !== 'byAddress'),
  };
};

describe('Function: upgradeTable', () => {
  let dynamo: Awaited<ReturnType<typeof startDynamo>>;
  let client: DynamoDBClient;

  beforeAll(async () => {
    dynamo = await startDynamo();
    client = new DynamoDBClient({ endpoint: dynamo.url, region: 'us-east-1', credentials });
  });

  afterAll(async () => {
    client.destroy();
    await dynamo.stop();
  });

  /** A notice's state item as the earlier version wrote it (no address key), and its content. */
  const writeEarlierNotice = async (tableName: string, id: string) => {
    const { record } = newNotice(aNoticeInput({ to: 'Reader@example.org' }), { id, institutionId: 'demo', now: new Date('2030-01-01T00:00:00Z'), random: () => 0, settings: settingsOf() });
    const { notice } = record;
    const documents = documentsOf(client);
    await documents.send(new PutCommand({ TableName: tableName, Item: { ...notice, pk: `notice#${id}`, instKey: 'demo', instSort: `${notice.createdAt}#${id}` } }));
    await documents.send(new PutCommand({ TableName: tableName, Item: { ...record.content, pk: `content#${id}` } }));
    return record;
  };

  it('adds the address index to an earlier table, keeping every item and indexing its notices', async () => {
    // Prepare
    await client.send(new CreateTableCommand(earlierTable('earlier')));
    const record = await writeEarlierNotice('earlier', '01JB0000000000000000000001');
    // Act
    const copied = await upgradeTable(client, 'earlier');
    const again = await upgradeTable(client, 'earlier');
    // Assess
    const indexes = (await client.send(new DescribeTableCommand({ TableName: 'earlier' }))).Table?.GlobalSecondaryIndexes?.map((index) => index.IndexName);
    expect(indexes).toEqual(expect.arrayContaining(['byInstitution', 'byExternalId', 'due', 'byAddress']));
    expect([copied, again]).toEqual([2, 0]);
    const store = new DynamoNoticeStore({ client, tableName: 'earlier' });
    expect((await store.listNoticesTo('demo', 'reader@example.org', { limit: 10 })).notices.map((n) => n.id)).toEqual([record.notice.id]);
    expect((await store.getForDelivery([record.notice.id])).get(record.notice.id)?.content).toEqual(record.content);
    expect((await client.send(new ListTablesCommand({}))).TableNames).not.toContain('earlier-upgrade');
  });

  it('finishes an upgrade that stopped after the table was made again, from the copy set aside', async () => {
    // Prepare: the copy aside holds the notice; the table was made again, empty
    await client.send(new CreateTableCommand(createTableInput('stopped-upgrade')));
    await client.send(new CreateTableCommand(createTableInput('stopped-upgrade-upgrade')));
    const record = await writeEarlierNotice('stopped-upgrade-upgrade', '01JB0000000000000000000002');
    // Act
    await upgradeTable(client, 'stopped-upgrade');
    // Assess
    const store = new DynamoNoticeStore({ client, tableName: 'stopped-upgrade' });
    expect((await store.listNoticesTo('demo', 'reader@example.org', { limit: 10 })).notices.map((n) => n.id)).toEqual([record.notice.id]);
    expect((await client.send(new ListTablesCommand({}))).TableNames).not.toContain('stopped-upgrade-upgrade');
  });

  it('copies a content item stored compressed as it is, so it reads back the same', async () => {
    // Prepare: a notice long enough to be stored compressed, in a table that still needs the upgrade
    await client.send(new CreateTableCommand(earlierTable('compressed')));
    const letter = 'The Hobbit, due 3 March 2030, barcode 31000012345, is overdue.\n'.repeat(30);
    const { record } = newNotice(aNoticeInput({ text: letter, html: `<pre>${letter}</pre>` }), { id: '01JB0000000000000000000003', institutionId: 'demo', now: new Date('2030-01-01T00:00:00Z'), random: () => 0, settings: settingsOf() });
    await new DynamoNoticeStore({ client, tableName: 'compressed' }).createNotices([record]);
    // Act
    await upgradeTable(client, 'compressed');
    // Assess
    const stored = await documentsOf(client).send(new GetCommand({ TableName: 'compressed', Key: { pk: `content#${record.notice.id}` } }));
    expect(stored.Item?.packed).toBeInstanceOf(Uint8Array);
    expect((await new DynamoNoticeStore({ client, tableName: 'compressed' }).getForDelivery([record.notice.id])).get(record.notice.id)?.content).toEqual(record.content);
  });
});
