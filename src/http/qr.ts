import QRCode from 'qrcode';

/** inline SVG of a QR code (no image request, nothing third-party) */
export function qrSvg(text: string): Promise<string> {
  return QRCode.toString(text, { type: 'svg', errorCorrectionLevel: 'M', margin: 2, width: 220 });
}

/** the base32 key in groups of four, for people who type it */
export function groupKey(secret: string): string {
  return secret.match(/.{1,4}/g)!.join(' ');
}
