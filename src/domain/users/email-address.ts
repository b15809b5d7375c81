// What counts as an email address wherever one is typed: something@somewhere.tld, no spaces, at most 320 characters.
// Deliverability is proven by the link we mail, not by a stricter pattern.
const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function isEmailAddress(value: string): boolean {
  return value.length <= 320 && EMAIL_RE.test(value);
}
