import { loadOnce } from '../domain/load-once.ts';

/** the QR code library, loaded by the first enrollment page */
const qrcode = loadOnce(async () => (await import('qrcode')).default);

/** pixels per module: the SVG is drawn at a whole number of pixels per module, so nothing is resampled */
const MODULE_PX = 5;
/** the quiet zone the QR code standard asks for, in modules */
const QUIET_ZONE = 4;

/** inline SVG of a QR code (no image request, nothing third-party) */
export async function qrSvg(text: string): Promise<string> {
  const QRCode = await qrcode();
  const size = QRCode.create(text, { errorCorrectionLevel: 'M' }).modules.size;
  return QRCode.toString(text, { type: 'svg', errorCorrectionLevel: 'M', margin: QUIET_ZONE, width: (size + 2 * QUIET_ZONE) * MODULE_PX });
}

/** the base32 key in groups of four, for people who type it */
export function groupKey(secret: string): string {
  return secret.match(/.{1,4}/g)!.join(' ');
}
