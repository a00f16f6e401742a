// How a notice's content is kept as an item: packed and compressed when that is smaller, plain when not,
// and read back the same in either form.
import fc from 'fast-check';
import { deflateRawSync } from 'node:zlib';
import { UnreadableContentError } from '../../../../shared/errors';
import type { NoticeContent } from '../../../../shared/notice/model';
import { contentAttributes, contentOfItem, PACKED_ATTRIBUTE } from '../../../../shared/store/content-item';

const letter = 'Dear patron,\nThe Hobbit, due 3 March 2030, barcode 31000012345, is overdue. Please return or renew it.\n'.repeat(8);

describe('Module: content-item', () => {
  it('packs the text, HTML and attachments into one Binary, leaving the addresses and subject plain', () => {
    // Prepare
    const content: NoticeContent = { to: 'patron@example.org', cc: ['desk@example.org'], replyTo: 'circ@example.org', subject: 'Overdue', text: letter, html: `<pre>${letter}</pre>`, attachments: [{ filename: 'a.txt', contentType: 'text/plain', contentBase64: Buffer.from(letter).toString('base64') }] };
    // Act
    const attributes = contentAttributes(content);
    // Assess
    expect(Object.keys(attributes).sort()).toEqual(['cc', PACKED_ATTRIBUTE, 'replyTo', 'subject', 'to']);
    expect(attributes[PACKED_ATTRIBUTE]).toBeInstanceOf(Uint8Array);
    expect((attributes[PACKED_ATTRIBUTE] as Uint8Array).length).toBeLessThan(JSON.stringify([content.text, content.html, content.attachments]).length / 4);
    expect(contentOfItem(attributes)).toEqual(content);
  });

  it('leaves content that compressing would not make smaller as it is', () => {
    // Prepare
    const content: NoticeContent = { to: 'patron@example.org', subject: 'Ready', text: 'Your hold is ready.' };
    // Act
    const attributes = contentAttributes(content);
    // Assess
    expect(attributes).toEqual(content);
    expect(contentOfItem(attributes)).toEqual(content);
  });

  it('reads back any content it writes, whatever its characters and fields', () => {
    const body = fc.option(fc.string({ unit: 'grapheme', maxLength: 400 }), { nil: undefined });
    fc.assert(
      fc.property(body, body, fc.integer({ min: 1, max: 20 }), (text, html, times) => {
        // Prepare: a subject and either part; repeated, so that some compress and some do not
        const content = JSON.parse(JSON.stringify({ to: 'patron@example.org', subject: 'Überfällig', text: text?.repeat(times), html: html?.repeat(times) })) as NoticeContent;
        // Act
        const read = contentOfItem(contentAttributes(content));
        // Assess
        expect(read).toEqual(content);
      }),
    );
  });

  it('refuses a packed value of a codec it does not know, rather than reading it as empty', () => {
    // Prepare: as a later version might write it
    const item = { to: 'patron@example.org', subject: 'Overdue', [PACKED_ATTRIBUTE]: new Uint8Array([9, ...deflateRawSync(Buffer.from('{"text":"x"}'))]) };
    // Act
    const read = () => contentOfItem(item);
    // Assess
    expect(read).toThrow(UnreadableContentError);
  });
});
