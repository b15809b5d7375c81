// What a phone does with the enrollment page: read the QR code off the screen (zbarimg, from zbar-tools) and
// compute a code with an independent TOTP implementation (oathtool, from oath-toolkit).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** the text of the one QR code in a PNG (zbarimg exits 4 when it finds none) */
export async function decodeQr(pngPath: string): Promise<string> {
  const { stdout } = await run('zbarimg', ['--raw', '-q', pngPath], { timeout: 10_000 });
  const lines = stdout.split('\n').filter(Boolean);
  if (lines.length !== 1) throw new Error(`expected exactly one QR code in ${pngPath}, zbarimg read ${lines.length}`);
  return lines[0]!;
}

/** the TOTP code oathtool computes for a base32 secret at an instant (SHA-1, 6 digits, 30 s) */
export async function oathtoolCode(secret: string, at: Date): Promise<string> {
  const { stdout } = await run('oathtool', ['--totp', '--base32', `--now=@${Math.floor(at.getTime() / 1000)}`, secret], { timeout: 10_000 });
  return stdout.trim();
}

export interface OtpauthUri {
  type: string;
  /** the label, percent-decoded: "Issuer:account" */
  label: string;
  params: URLSearchParams;
}

/** splits an otpauth:// URI (Key Uri Format) into its parts */
export function parseOtpauth(uri: string): OtpauthUri {
  const m = /^otpauth:\/\/([a-z]+)\/([^?]*)\?(.*)$/.exec(uri);
  if (!m) throw new Error(`not an otpauth URI: ${uri}`);
  return { type: m[1]!, label: decodeURIComponent(m[2]!), params: new URLSearchParams(m[3]!) };
}
