import { ApplicationFailure } from '@temporalio/common';
import { CertflowError } from '../domain/errors';
import { ProvisionError } from '../domain/provisioning';

/**
 * Runs an activity body and turns domain errors (permanent: retrying cannot help) into
 * non-retryable ApplicationFailures typed with the stable error code. Anything else (the
 * database is down, a timeout) is left retryable.
 */
export async function permanentOnDomainError<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof ProvisionError) {
      throw ApplicationFailure.create({ message: err.message, type: err.code, nonRetryable: true });
    }
    if (err instanceof CertflowError) {
      throw ApplicationFailure.create({
        message: err.message,
        type: err.code,
        nonRetryable: true,
        details: err.fieldErrors.length > 0 ? [err.fieldErrors] : [],
      });
    }
    throw err;
  }
}
