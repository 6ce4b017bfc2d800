import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';

// @peculiar/x509 needs reflect-metadata loaded before it and a WebCrypto provider; this module
// is the one place that arranges both, so pki/ files import x509 from here.
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export type CryptoKey = webcrypto.CryptoKey;

export { x509, webcrypto };
