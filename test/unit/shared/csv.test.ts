import { csvCell, toCsv } from '../../../shared/csv';

describe('Module: csv', () => {
  it.each([
    ['=HYPERLINK("http://example.org")', `"'=HYPERLINK(""http://example.org"")"`],
    ['+1-555', `"'+1-555"`],
    ['-2+3', `"'-2+3"`],
    ['@SUM(A1)', `"'@SUM(A1)"`],
    ['\tcmd', `"'\tcmd"`],
    ['\rcmd', `"'\rcmd"`],
    ['Overdue: The Hobbit', '"Overdue: The Hobbit"'],
    ['a "quoted", comma', '"a ""quoted"", comma"'],
    ['two\r\nlines', '"two\r\nlines"'],
    [' edge space ', '" edge space "'],
    ['', '""'],
  ])('neutralises and quotes %j', (value, expected) => {
    expect(csvCell(value)).toBe(expected);
  });

  it('writes rows with CRLF after a byte order mark, empty cells for absent values', () => {
    expect(toCsv(['id', 'type'], [['N1', undefined], ['N2', 3]])).toBe('\uFEFF"id","type"\r\n"N1",""\r\n"N2","3"\r\n');
  });
});
