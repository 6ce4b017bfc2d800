import { describe, expect, it } from 'vitest';
import { deviceNameProblem, tagProblem } from '../../domain/device';
import { createDeviceWorkflowId, deviceWorkflowsQuery } from '../../domain/ids';
import { roleAllows } from '../../domain/roles';

describe('device names', () => {
  it.each(['sensor-1', 'Ünïcode name', 'a.b_c:d', 'x'.repeat(128)])('accepts %s', (name) => {
    expect(deviceNameProblem(name)).toBeUndefined();
  });
  it.each([
    ['', 'empty'],
    ['x'.repeat(129), 'at most'],
    [' lead', 'white space'],
    ['a+b', '+, #'],
    ['a#b', '+, #'],
    ['a/b', '+, #'],
    ['$SYS', '+, #'],
    ['nul\u0000', 'control'],
  ])('refuses %j', (name, why) => {
    expect(deviceNameProblem(name)).toContain(why);
  });
  it('checks tags', () => {
    expect(tagProblem('zone:north-1')).toBeUndefined();
    expect(tagProblem('-x')).toBeDefined();
    expect(tagProblem('a b')).toBeDefined();
  });
});

describe('workflow ids and queries', () => {
  it('derives one creation workflow id per tenant and name', () => {
    expect(createDeviceWorkflowId('t1', 'dev')).toBe('device-create/t1/dev');
  });
  it('quotes values in visibility queries', () => {
    expect(deviceWorkflowsQuery('t', "x'y")).toBe("CertflowTenant = 't' AND CertflowDevice = 'x\\'y'");
  });
});

describe('roles', () => {
  it('orders admin over operator over auditor', () => {
    expect(roleAllows('admin', 'operator')).toBe(true);
    expect(roleAllows('operator', 'operator')).toBe(true);
    expect(roleAllows('auditor', 'operator')).toBe(false);
    expect(roleAllows('operator', 'admin')).toBe(false);
  });
});
