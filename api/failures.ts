import { ApplicationFailure, WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { HTTPException } from 'hono/http-exception';
import { CertflowError, type FieldError, isErrorCode } from '../domain/errors';

/**
 * Recognises every failure that carries a stable code, wherever it comes from: a domain
 * error, a workflow failure whose ApplicationFailure cause has a catalogued type, a duplicate
 * workflow start, or Hono's own HTTP exceptions. Undefined means "unexpected".
 */
export function asCertflowError(err: unknown): CertflowError | undefined {
  if (err instanceof CertflowError) return err;
  if (err instanceof WorkflowExecutionAlreadyStartedError) {
    return new CertflowError('DEVICE_CREATION_IN_PROGRESS', 'the same request is already being processed');
  }
  if (err instanceof HTTPException) return fromHttpException(err);
  for (let cause: unknown = err; cause instanceof Error; cause = cause.cause) {
    if (cause instanceof ApplicationFailure && isErrorCode(cause.type)) {
      const fields = Array.isArray(cause.details?.[0]) ? (cause.details[0] as FieldError[]) : [];
      return new CertflowError(cause.type, cause.message, fields);
    }
  }
  return undefined;
}

function fromHttpException(err: HTTPException): CertflowError {
  if (err.status === 413) return new CertflowError('PAYLOAD_TOO_LARGE', 'the request body is too large');
  if (err.status === 400 && /json/i.test(err.message))
    return new CertflowError('MALFORMED_JSON', err.message);
  if (err.status === 401) return new CertflowError('UNAUTHENTICATED', err.message);
  if (err.status === 404) return new CertflowError('NOT_FOUND', err.message);
  return new CertflowError('VALIDATION_FAILED', err.message || 'the request is not valid');
}
