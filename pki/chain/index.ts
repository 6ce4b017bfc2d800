export { validateChain, DEFAULT_MAX_DEPTH, DEFAULT_MAX_WORK } from './validate';
export type {
  ChainCert,
  ChainPolicy,
  ValidateChainInput,
  ValidateChainOptions,
  ValidateChainResult,
} from './validate';
export { PublicKeyCache } from './key-cache';
export { chainErrorCatalogue, isChainErrorCode, type ChainErrorCode } from './errors';
