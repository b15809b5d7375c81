// A CDP virtual authenticator in Chromium (WebAuthn.enable + WebAuthn.addVirtualAuthenticator): a security key or
// platform passkey the browser talks to like a real one, with user verification and backup flags under test control.
import type { CDPSession, Page } from 'playwright-core';

export interface VirtualAuthenticatorOptions {
  /** the authenticator can verify its user (PIN / biometric) and does: the UV flag */
  userVerification?: boolean;
  /** discoverable credentials (passkeys) */
  residentKey?: boolean;
  /** backup eligible and backed up: a synced passkey rather than a hardware-bound key */
  synced?: boolean;
  transport?: 'internal' | 'usb' | 'nfc' | 'ble';
}

export interface VirtualCredential {
  credentialId: string;
  isResidentCredential: boolean;
  rpId?: string;
  privateKey: string;
  userHandle?: string;
  signCount: number;
}

export async function virtualAuthenticator(page: Page, opts: VirtualAuthenticatorOptions = {}) {
  const cdp: CDPSession = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const add = async (over: VirtualAuthenticatorOptions = {}) => {
    const o = { ...opts, ...over };
    const uv = o.userVerification ?? true;
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        ctap2Version: 'ctap2_1',
        transport: o.transport ?? 'internal',
        hasResidentKey: o.residentKey ?? true,
        hasUserVerification: uv,
        isUserVerified: uv,
        automaticPresenceSimulation: true,
        defaultBackupEligibility: o.synced ?? false,
        defaultBackupState: o.synced ?? false,
      },
    });
    return authenticatorId;
  };
  let authenticatorId = await add();
  return {
    cdp,
    get id() {
      return authenticatorId;
    },
    async credentials(): Promise<VirtualCredential[]> {
      return (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials as VirtualCredential[];
    },
    /**
     * a clone: the same key material on a fresh authenticator (the original goes), its counter set to `signCount` —
     * what a copied key whose counter lags behind looks like
     */
    async replaceWithClone(credential: VirtualCredential, signCount: number) {
      await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId });
      authenticatorId = await add();
      await cdp.send('WebAuthn.addCredential', { authenticatorId, credential: { ...credential, signCount } });
    },
    /** unplugged: the page sees no authenticator until `plugIn` (which brings the same credentials back) */
    async unplug(): Promise<VirtualCredential[]> {
      const saved = (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials as VirtualCredential[];
      await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId });
      return saved;
    },
    /** `over`: the same credentials on an authenticator that differs (e.g. one that cannot verify its user) */
    async plugIn(saved: VirtualCredential[], over: VirtualAuthenticatorOptions = {}) {
      authenticatorId = await add(over);
      for (const credential of saved) await cdp.send('WebAuthn.addCredential', { authenticatorId, credential });
    },
  };
}

export type VirtualKey = Awaited<ReturnType<typeof virtualAuthenticator>>;

/** Gatehouse's sign-in page: email and password */
export async function submitLogin(page: Page, email: string, password: string) {
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/**
 * from the account page: name the key, confirm the password (and a code, once 2FA is on), then the browser creates
 * the key and it signs once. `code`: the second factor to type; `screenshot`: a name prefix for shots of the way
 */
export async function addKeyFromAccount(page: Page, user: { password: string }, name: string, opts: { code?: string; screenshot?: (page: Page, name: string) => Promise<void> } = {}) {
  await page.locator('#security-keys summary').click();
  await page.getByLabel('Key name', { exact: true }).fill(name);
  await page.getByLabel('Confirm your password to add a key', { exact: true }).fill(user.password);
  if (opts.code) await page.getByLabel('Code from your authenticator app, or a recovery code', { exact: true }).last().fill(opts.code);
  if (opts.screenshot) await opts.screenshot(page, 'account-keys-form');
  await page.getByRole('button', { name: 'Next: add the key' }).click();
  await page.getByRole('heading', { name: 'Add a security key or passkey', level: 1 }).waitFor();
  if (opts.screenshot) await opts.screenshot(page, 'security-key-add');
  await page.getByRole('button', { name: 'Add security key or passkey' }).click();
}
