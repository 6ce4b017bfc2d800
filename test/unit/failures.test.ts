import { ActivityFailure, ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { HTTPException } from 'hono/http-exception';
import { describe, expect, it } from 'vitest';
import { asCertflowError } from '../../api/failures';
import { toProblem } from '../../api/http/problem';
import { CertflowError } from '../../domain/errors';

describe('failure mapping', () => {
  it('unwraps a workflow failure to the coded ApplicationFailure inside', () => {
    const app = ApplicationFailure.create({
      message: 'taken',
      type: 'DEVICE_NAME_TAKEN',
      nonRetryable: true,
      details: [[{ field: 'name', message: 'taken' }]],
    });
    const activity = new ActivityFailure('activity failed', 'createDevice', 'a1', 1 as never, 'wf', app);
    const wf = new WorkflowFailedError('workflow failed', activity, 1 as never);
    const err = asCertflowError(wf);
    expect(err).toMatchObject({
      code: 'DEVICE_NAME_TAKEN',
      message: 'taken',
      fieldErrors: [{ field: 'name', message: 'taken' }],
    });
  });

  it('does not trust uncatalogued failure types', () => {
    expect(
      asCertflowError(ApplicationFailure.create({ message: 'boom', type: 'SomethingElse' })),
    ).toBeUndefined();
  });

  it('maps Hono exceptions by status', () => {
    expect(asCertflowError(new HTTPException(413))?.code).toBe('PAYLOAD_TOO_LARGE');
    expect(asCertflowError(new HTTPException(400, { message: 'Malformed JSON in request body' }))?.code).toBe(
      'MALFORMED_JSON',
    );
  });

  it('gives unknown errors a 500 problem with no internals', () => {
    const p = toProblem(new Error('password=hunter2 at db.ts:12'), '/api/x', 'req-1');
    expect(p).toMatchObject({ status: 500, code: 'INTERNAL', instance: '/api/x', requestId: 'req-1' });
    expect(JSON.stringify(p)).not.toContain('hunter2');
  });

  it('keeps a domain error’s code, status and fields', () => {
    const p = toProblem(
      new CertflowError('VALIDATION_FAILED', 'bad', [{ field: 'name', message: 'x' }]),
      '/',
      'r',
    );
    expect(p).toMatchObject({
      status: 400,
      type: 'https://certflow.dev/problems/validation-failed',
      errors: [{ field: 'name' }],
    });
  });
});
