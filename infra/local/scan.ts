// A whole-table Scan, page by page: only the local runtime's housekeeping does this, never the service.
import { type DynamoDBDocumentClient, ScanCommand, type ScanCommandInput } from '@aws-sdk/lib-dynamodb';

/** Scans every page of `input`, handing each page's items to `onItems` before reading the next. */
export const scanPages = async (documents: DynamoDBDocumentClient, input: ScanCommandInput, onItems: (items: Array<Record<string, unknown>>) => Promise<void>): Promise<void> => {
  let start: Record<string, unknown> | undefined;
  do {
    const page = await documents.send(new ScanCommand({ ...input, ExclusiveStartKey: start }));
    await onItems(page.Items ?? []);
    start = page.LastEvaluatedKey;
  } while (start);
};
