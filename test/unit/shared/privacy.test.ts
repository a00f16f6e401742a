import { withoutAddresses } from '../../../shared/privacy';

describe('Function: withoutAddresses', () => {
  it.each([
    ['Email address is not verified: a.b@example.org, c@example.edu', 'Email address is not verified: <address>, <address>'],
    ['550 5.1.1 <gone@example.org>: Recipient address rejected: User unknown', '550 5.1.1 <address>: Recipient address rejected: User unknown'],
    ['554 5.7.1\r\n  relay   denied', '554 5.7.1 relay denied'],
  ])('takes the addresses out of %j', (text, expected) => {
    expect(withoutAddresses(text)).toBe(expected);
  });

  it('keeps at most 300 characters', () => {
    expect(withoutAddresses('x'.repeat(400))).toHaveLength(300);
  });
});
